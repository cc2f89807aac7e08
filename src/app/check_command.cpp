// `lettagate check`: the Docker HEALTHCHECK of an image without curl. One GET of /readyz on
// the local health port (from --url, or LETTAGATE_LISTEN), bounded by a short timeout.
#include <fmt/format.h>
#include <uv.h>

#include <cstdio>

#include "app/cli.hpp"
#include "config/config.hpp"
#include "config/redact.hpp"
#include "core/timer.hpp"
#include "http/http_attempt.hpp"

namespace lg::app::cli {
namespace {

std::string default_url() {
  config::ParseResult parsed = config::parse_config({});
  core::HostPort listen = parsed.config ? parsed.config->server.listen : core::HostPort{"0.0.0.0", 8080};
  std::string host = listen.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return fmt::format("http://{}/readyz", core::HostPort{host, listen.port}.str());
}

}  // namespace

int run_check(const std::vector<std::string>& args) {
  std::string url_text;
  core::Millis timeout{2000};
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& flag) -> std::optional<std::string> {
      if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
      if (a == flag && i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    if (auto v = value("--url")) url_text = *v;
    else if (auto t = value("--timeout")) {
      std::string why;
      auto d = core::parse_duration(*t, &why);
      if (!d || d->count() == 0) {
        std::fprintf(stderr, "lettagate check: invalid --timeout '%s': %s\n", t->c_str(), why.empty() ? "must be above 0" : why.c_str());
        return 2;
      }
      timeout = *d;
    } else if (a == "--quiet" || a == "-q") quiet = true;
    else {
      std::fprintf(stderr,
                   "lettagate check: unexpected argument '%s' (usage: check [--url URL] [--timeout 2s] [--quiet])\n",
                   redact_message(a, a, config::RedactOptions{false, true, {}}).c_str());
      return 2;
    }
  }
  if (url_text.empty()) url_text = default_url();
  std::string why;
  auto url = config::parse_url(url_text, &why);
  if (!url || url->scheme != "http") {
    // A URL that does not parse may still hold a password: the one redaction of config errors.
    const std::string msg = fmt::format("invalid --url '{}': {}", url ? url->redacted() : url_text,
                                        url ? "only http:// is supported" : why);
    std::fprintf(stderr, "lettagate check: %s\n",
                 redact_message(msg, url_text, config::RedactOptions{false, true, {}}).c_str());
    return 2;
  }
  if (url->port == 0) url->port = 80;

  uv_loop_t loop;
  uv_loop_init(&loop);
  int code = 1;
  std::string message = "no answer";
  http::ClientRequest req;
  req.host = url->host;
  req.port = url->port;
  req.target = url->target();
  http::HttpAttempt* client = nullptr;
  core::Timer* deadline = core::Timer::create(&loop, [&] {
    message = fmt::format("no answer within {}", core::format_duration(timeout));
    if (client) client->cancel();
    client = nullptr;
  });
  http::HttpAttempt::Handlers h;
  h.on_complete = [&](http::ClientResponse r) {
    client = nullptr;
    deadline->stop();
    code = r.status == 200 ? 0 : 1;
    message = fmt::format("HTTP {} {}", r.status, r.body.substr(0, 2000));
  };
  h.on_error = [&](http::ClientError e) {
    client = nullptr;
    deadline->stop();
    message = e.message;
  };
  client = http::HttpAttempt::start(&loop, req, h);
  deadline->start(timeout);
  uv_run(&loop, UV_RUN_DEFAULT);
  deadline->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!quiet) std::printf("%s %s: %s\n", code == 0 ? "ready" : "not ready", url->redacted().c_str(), message.c_str());
  return code;
}

}  // namespace lg::app::cli
