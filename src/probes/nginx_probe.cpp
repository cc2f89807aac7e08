// nginx SSE proxy probe. Two checks through nginx, run at the same time so that one attempt
// needs no longer than the SSE deadline:
//  1. HTTP: GET <nginx>/v1/health/ (--nginx-health-path) must answer 200, and a Letta route
//     (a path under /v1/) must carry JSON status "ok": the route through nginx reaches Letta.
//     A redirect is reported as such (HttpCheck).
//  2. SSE (when --sse-url is set): the stream must answer 200 text/event-stream and deliver its
//     first complete event within --sse-deadline (SseCheck): a buffering proxy fails it.
// The HTTP check's failure wins: it is the more basic fault, and it cancels the SSE check.
#include <fmt/format.h>

#include <memory>
#include <optional>

#include "probes/factories.hpp"
#include "probes/http_check.hpp"
#include "probes/sse_check.hpp"

namespace lg::probes {
namespace {

// The SSE request: an absolute http:// URL, or a path (with query) under the nginx URL.
SseCheckSpec make_sse_spec(const config::NginxSettings& s) {
  SseCheckSpec spec;
  spec.method = s.sse_method;
  spec.body = s.sse_body;
  spec.deadline = s.sse_deadline;
  spec.bearer_token = s.letta_token;
  spec.via = "nginx";
  if (!s.sse_url.empty() && s.sse_url.front() == '/') {
    spec.host = s.url.host;
    spec.port = s.url.port;
    spec.target = s.url.path_to(s.sse_url);
    spec.url = fmt::format("{}://{}{}", s.url.scheme, s.url.host_port(), spec.target);
  } else if (auto u = config::parse_url(s.sse_url)) {  // validated by the config
    spec.host = u->host;
    spec.port = u->port ? u->port : 80;
    spec.target = u->target();
    spec.url = u->redacted();
  }
  spec.what = fmt::format("nginx SSE {} {}", spec.method, spec.url);
  return spec;
}

class NginxProbe : public Probe {
 public:
  NginxProbe(uv_loop_t* loop, const config::NginxSettings& s) {
    HttpCheckSpec health;
    health.host = s.url.host;
    health.port = s.url.port;
    health.path = s.url.path_to(s.health_path);
    health.bearer_token = s.letta_token;  // the route reaches Letta
    // Letta's routes answer {"status":"ok"}; a route nginx answers itself (the app stack's
    // /nginx-health) answers plain text, and 200 is all it can say.
    if (s.health_path.rfind("/v1/", 0) == 0) health.expect_json = "status=ok";
    health.what = fmt::format("nginx GET {}://{}{}", s.url.scheme, s.url.host_port(), health.path);
    target_ = fmt::format("GET {}{}", s.url.redacted(), s.health_path);
    http_ = std::make_unique<HttpCheck>(loop, health);
    if (!s.sse_url.empty()) {
      SseCheckSpec sse = make_sse_spec(s);
      target_ += fmt::format(" + SSE {} {}", sse.method, sse.url);
      sse_ = std::make_unique<SseCheck>(loop, sse);
    }
  }
  ~NginxProbe() override { cancel(); }

  void start(Done done) override {
    cancel();
    done_ = std::move(done);
    http_->start([this](Outcome o) { on_http(std::move(o)); });
    if (sse_) sse_->start([this](Outcome o) { on_sse(std::move(o)); });
  }

  void cancel() override {
    done_ = nullptr;
    http_result_.reset();
    sse_result_.reset();
    http_->cancel();
    if (sse_) sse_->cancel();
  }

  std::string target() const override { return target_; }

 private:
  void on_http(Outcome o) {
    if (!o.ok) {
      if (sse_) sse_->cancel();  // the route itself is broken: the stream's verdict adds nothing
      emit(std::move(o));
      return;
    }
    // Through nginx, the version is Letta's: say so, so /status does not read it as nginx's.
    o.facts.letta_version = std::move(o.facts.version);
    o.facts.version.reset();
    http_result_ = std::move(o);
    maybe_finish();
  }

  void on_sse(Outcome o) {
    sse_result_ = std::move(o);
    maybe_finish();
  }

  void maybe_finish() {
    if (!http_result_ || (sse_ && !sse_result_)) return;
    Outcome http = std::move(*http_result_);
    http.reason = fmt::format("{}: {}", http_->spec().what, http.reason);
    if (!sse_) {
      emit(std::move(http));
      return;
    }
    Outcome sse = std::move(*sse_result_);
    sse.facts.fill_from(http.facts);
    if (sse.ok) sse.reason = http.reason + "; " + sse.reason;
    if (sse.http_status == 0) sse.http_status = http.http_status;
    emit(std::move(sse));
  }

  void emit(Outcome o) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    http_result_.reset();
    sse_result_.reset();
    done(std::move(o));
  }

  std::unique_ptr<HttpCheck> http_;
  std::unique_ptr<SseCheck> sse_;  // null when --sse-url is empty
  std::optional<Outcome> http_result_;
  std::optional<Outcome> sse_result_;
  Done done_;
  std::string target_;
};

}  // namespace

std::unique_ptr<Probe> make_probe(uv_loop_t* loop, const config::NginxSettings& s) {
  return std::make_unique<NginxProbe>(loop, s);
}

std::unique_ptr<Watch> make_watch(uv_loop_t* loop, const config::NginxSettings& s) {
  return std::make_unique<HttpWatch>(loop, s.url.host, s.url.port,
                                     HttpWatch::get_request(s.url.path_to(s.health_path), s.url.host_port()));
}

}  // namespace lg::probes
