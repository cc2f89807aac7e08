#include "http/http_server.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/log.hpp"
#include "core/net_address.hpp"
#include "core/manual_clock.hpp"
#include "http/http_connection.hpp"

namespace lg::http {

template <class Clock>
BasicHttpServer<Clock>::BasicHttpServer(uv_loop_t* loop, Clock clock, Options options, Handler handler,
                                        metrics::Registry* registry)
    : loop_(loop), clock_(clock), options_(options), handler_(std::move(handler)) {
  accepts_per_turn_ = std::clamp(options_.max_connections / 4, 1, 64);
  resumer_ = core::Defer::create(loop_, [this] { run_resumes(); });
  turns_ = core::EveryTurn::create(loop_, [this] { on_turn(); });
  if (registry) {
    requests_ = &registry->counter("lettagate_http_requests_total", "Requests answered by the health server.",
                                   {"path", "code"});
    active_ = &registry->gauge("lettagate_http_connections_active", "Open health server connections.").with();
    rejected_ = &registry->counter("lettagate_http_connections_rejected_total",
                                   "Health server connections refused at the connection cap.")
                     .with();
    evicted_ = &registry->counter("lettagate_http_connections_evicted_total",
                                  "Health server connections closed at the connection cap to make room for a new one.")
                    .with();
    timeouts_ = &registry->counter("lettagate_http_request_timeouts_total",
                                   "Health server connections cut by the header deadline.")
                     .with();
  }
}

template <class Clock>
BasicHttpServer<Clock>::~BasicHttpServer() { close_all(); }

template <class Clock>
int BasicHttpServer<Clock>::listen(const core::HostPort& address, std::string* error) {
  if (!core::parse_ip_literal(address.host, address.port)) {
    if (error) *error = fmt::format("{} is not an IP address (the health server binds an address, not a name)", address.host);
    return UV_EINVAL;
  }
  core::Acceptor::Options options;
  options.name = "health server " + address.str();
  options.name_errors = false;  // "cannot listen on ADDRESS: why", as operations.md shows
  options.log_component = "http";
  options.per_turn = accepts_per_turn_;
  options.v6only = false;  // [::] takes IPv4 clients too, as a uv_listen socket did
  listener_ = core::Acceptor::open(
      loop_, address, std::move(options), [this](int fd) { accept_one(fd); }, nullptr, error);
  if (!listener_) {
    stop_listening();
    return UV_EADDRINUSE;  // or the like: *error says which
  }
  port_ = listener_->port();
  return 0;
}

template <class Clock>
void BasicHttpServer<Clock>::accept_one(int fd) {
  auto* conn = new Connection(this, loop_);
  if (uv_tcp_open(conn->tcp(), fd) != 0) {
    ::close(fd);  // not the handle's yet
    conn->detach();
    conn->close();
    return;
  }
  const bool room = static_cast<int>(connection_count()) < options_.max_connections || make_room();
  fresh_.push_back(conn);
  if (turns_) turns_->start();  // it ages over the next two turns
  if (active_) active_->inc();
  conn->start();
  if (!room) {
    if (rejected_) rejected_->inc();
    conn->reject_busy();
    return;
  }
  if (stopping_) conn->drain();
}

template <class Clock>
void BasicHttpServer<Clock>::on_turn() {
  waiting_.splice_back(first_poll_);
  first_poll_.splice_back(fresh_);
  answers_this_turn_ = 0;
  // Nothing left to age or renew: no cost per turn until the next accept or answer.
  if (first_poll_.size() == 0 && turns_) turns_->stop();
}

// Every open connection is waiting on its client: handlers answer on the spot, so none is
// ever in the middle of being served across loop turns. The one that has waited longest (no
// byte read, no write completed) goes: an idle flood, slowloris bytes or answers nobody reads
// all age, while a newcomer is safe until its socket has been polled once, and then sits
// behind every connection that has been quieter than it. Accepts are spread over turns (two
// turns' worth is at most half a cap of 4 or more), so only a cap of 1 or 2 can leave nothing
// to close.
template <class Clock>
bool BasicHttpServer<Clock>::make_room() {
  Connection* oldest = waiting_.front();
  if (!oldest) return false;
  oldest->close();
  if (evicted_) evicted_->inc();
  return true;
}

template <class Clock>
void BasicHttpServer<Clock>::forget(Connection* c) { ConnectionList<Connection>::take(c); }

// A connection showed life (a read, a write completed): it goes to the back of waiting_.
template <class Clock>
void BasicHttpServer<Clock>::touch(Connection* c) {
  if (waiting_.back() == c) return;
  ConnectionList<Connection>::take(c);
  waiting_.push_back(c);
}

template <class Clock>
void BasicHttpServer<Clock>::schedule_resume(Connection* c) {
  if (c->resume_queued_ || !resumer_) return;
  c->resume_queued_ = true;
  to_resume_.push_back(c);
  resumer_->schedule();  // nothing when already scheduled
}

template <class Clock>
void BasicHttpServer<Clock>::cancel_resume(Connection* c) {
  if (!c->resume_queued_) return;
  c->resume_queued_ = false;
  for (auto it = to_resume_.begin(); it != to_resume_.end(); ++it) {
    if (*it == c) {
      to_resume_.erase(it);
      break;
    }
  }
}

template <class Clock>
bool BasicHttpServer<Clock>::spend_answer() {
  if (answers_this_turn_++ == 0 && turns_) turns_->start();  // the share is renewed next turn
  return answers_this_turn_ > kAnswersPerTurn;
}

// Connections queued before this turn parse on, in turn, while the turn's answers last (at
// least one connection per turn, so every one gets there); those that pause again queue at the
// back for a later turn.
template <class Clock>
void BasicHttpServer<Clock>::run_resumes() {
  bool first = true;
  for (size_t n = to_resume_.size(); n > 0 && !to_resume_.empty(); --n, first = false) {
    if (!first && answers_this_turn_ >= kAnswersPerTurn) break;
    Connection* c = to_resume_.front();
    to_resume_.pop_front();
    c->resume_queued_ = false;
    c->resume_input();
  }
  if (resumer_ && !to_resume_.empty()) resumer_->schedule();  // the next turn
}

template <class Clock>
void BasicHttpServer<Clock>::count_request(std::string_view path, int status) {
  if (!requests_) return;
  static constexpr std::string_view kRoutes[] = {"/livez", "/readyz", "/status", "/metrics", "/", "other"};
  constexpr int kOther = static_cast<int>(std::size(kRoutes)) - 1;
  int route = 0;
  while (route < kOther && path != kRoutes[route]) ++route;
  for (const auto& rc : request_counters_) {
    if (rc.route == route && rc.status == status) {
      rc.counter->inc();
      return;
    }
  }
  auto& c = requests_->with({std::string(kRoutes[route]), std::to_string(status)});
  request_counters_.push_back({route, status, &c});
  c.inc();
}

template <class Clock>
void BasicHttpServer<Clock>::stop_listening() {
  stopping_ = true;
  if (listener_) listener_->close();
  listener_ = nullptr;
  for (auto* c : all_connections()) c->drain();
}

template <class Clock>
auto BasicHttpServer<Clock>::all_connections() const -> std::vector<Connection*> {
  std::vector<Connection*> all = waiting_.snapshot();
  for (const auto* list : {&first_poll_, &fresh_}) {
    const auto more = list->snapshot();
    all.insert(all.end(), more.begin(), more.end());
  }
  return all;
}

template <class Clock>
void BasicHttpServer<Clock>::close_all() {
  stop_listening();
  if (resumer_) resumer_->close();
  resumer_ = nullptr;
  if (turns_) turns_->close();
  turns_ = nullptr;
  for (auto* c : all_connections()) {
    c->close();
    c->detach();
  }
}

template class BasicHttpServer<core::LoopClock>;
template class BasicHttpServer<core::ManualClock>;

}  // namespace lg::http
