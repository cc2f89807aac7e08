#include "probes/redis_attempt.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "core/host_port.hpp"
#include "core/log.hpp"
#include "core/net_address.hpp"
#include "probes/redis_libuv_adapter.hpp"

namespace lg::probes {

RedisAttempt::RedisAttempt(uv_loop_t* loop, RedisTarget target, Done done)
    : loop_(loop), target_(std::move(target)), done_(std::move(done)) {}

RedisAttempt* RedisAttempt::start(uv_loop_t* loop, RedisTarget target, Done done) {
  auto* a = new RedisAttempt(loop, std::move(target), std::move(done));
  // Port 0: hiredis gets each address as IP text with the target's port.
  a->dns_ = core::DnsQuery::start(loop, a->target_.host, 0, [a](int status, const core::Addresses& addresses) {
    a->on_resolved(status, addresses);
  });
  return a;
}

std::string RedisAttempt::address() const { return core::HostPort{current_, target_.port}.str(); }

void RedisAttempt::on_resolved(int status, const core::Addresses& addresses) {
  core::HandleGroup::Keep keep(group_);
  dns_ = nullptr;
  if (status != 0) {
    finish(Outcome::failure("dns", fmt::format("cannot resolve '{}': {}", target_.host, uv_strerror(status))));
    return;
  }
  for (const sockaddr_storage& a : *addresses) addresses_.push_back(core::ip_text(a));
  state_ = State::Connecting;
  connect_next();
}

// Tries the next address; when none is left, fails with the last address's error.
void RedisAttempt::connect_next() {
  while (state_ == State::Connecting && next_ < addresses_.size()) {
    current_ = addresses_[next_++];
    // An IP literal: hiredis's getaddrinfo returns at once without asking a resolver.
    redisAsyncContext* ac = redisAsyncConnect(current_.c_str(), target_.port);
    if (ac == nullptr) {
      last_error_ = Outcome::failure("error", fmt::format("cannot connect to {}: out of memory", address()));
      continue;
    }
    if (ac->err != 0) {
      last_error_ = classify_connect_error(address(), 0, ac->errstr ? ac->errstr : ac->c.errstr);
      redisAsyncFree(ac);  // never attached, never connected: freed here, no callbacks
      continue;
    }
    if (redis_uv::attach(ac, loop_) != REDIS_OK) {
      last_error_ = Outcome::failure("error", fmt::format("cannot poll the socket to {}", address()));
      redisAsyncFree(ac);
      continue;
    }
    ac->data = this;
    ac_ = ac;
    group_.hold();  // until hiredis lets go of the context
    // After attach: in hiredis 0.14 setting the connect callback arms the first write event,
    // which needs the adapter's hooks in place.
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return;
  }
  if (state_ == State::Connecting) finish(last_error_);
}

void RedisAttempt::on_connect(const redisAsyncContext* ac, int status) {
  const int saved_errno = errno;  // hiredis left the socket error here (getsockopt SO_ERROR)
  auto* self = static_cast<RedisAttempt*>(ac->data);
  core::HandleGroup::Keep keep(self->group_);
  if (status != REDIS_OK) {
    // hiredis frees the context when we return, and calls no disconnect callback for it.
    self->context_gone();
    if (self->state_ != State::Connecting) return;
    // ac->errstr is only copied after this callback in 0.14; the context's own text is set.
    self->last_error_ = classify_connect_error(self->address(), saved_errno, ac->c.errstr);
    self->connect_next();
    return;
  }
  if (self->state_ != State::Connecting) return;
  self->state_ = State::Talking;
  self->send_commands();
}

void RedisAttempt::send_commands() {
  // Never finish (and so free the context) from here: we are inside hiredis's connect callback,
  // which 0.14 does not protect (it keeps using the context after we return). Queuing only
  // fails when out of memory; the runner's deadline then cancels the attempt.
  if (!target_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!target_.user.empty()) auth.push_back(target_.user);
    auth.push_back(target_.password);
    if (!send(RedisStep::Auth, auth)) return;
  }
  if (target_.db != 0 && !send(RedisStep::Select, {"SELECT", std::to_string(target_.db)})) return;
  if (!send(RedisStep::Ping, {"PING"})) return;
  send(RedisStep::Info, {"INFO"});
}

bool RedisAttempt::send(RedisStep step, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  // Argv form: the password goes over the wire as one argument, whatever characters it holds.
  if (redisAsyncCommandArgv(ac_, on_reply_cb, this, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    core::log::get("redis").error("cannot queue {} to {}: {}", to_string(step), address(), ac_->c.errstr);
    return false;
  }
  expected_.push_back(step);
  return true;
}

void RedisAttempt::on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisAttempt*>(privdata);
  core::HandleGroup::Keep keep(self->group_);
  if (self->expected_.empty()) return;  // cannot happen: one queued step per callback
  const RedisStep step = self->expected_.front();
  self->expected_.pop_front();
  // After a result or a cancel, the remaining replies (or the NULLs hiredis hands pending
  // callbacks while freeing the context) are ignored.
  if (self->state_ != State::Talking) return;
  if (reply == nullptr) {
    const char* why = ac->c.err != 0 ? ac->c.errstr : "connection closed";
    self->finish(Outcome::failure("error", fmt::format("connection to {} lost during {}: {}", self->address(),
                                                       to_string(step), why)));
    return;
  }
  self->on_reply(step, static_cast<const redisReply*>(reply));
}

void RedisAttempt::on_reply(RedisStep step, const redisReply* r) {
  const bool is_error = r->type == REDIS_REPLY_ERROR;
  const std::string_view text = r->str != nullptr ? std::string_view(r->str, r->len) : std::string_view{};
  switch (step) {
    case RedisStep::Auth:
    case RedisStep::Select:
      if (is_error) finish(classify_error_reply(step, text, !target_.password.empty()));
      return;
    case RedisStep::Ping:
      if (is_error && text.substr(0, 7) == "LOADING") {
        ping_loading_ = true;  // INFO (allowed while loading) tells how far it got
      } else if (is_error) {
        finish(classify_error_reply(step, text, !target_.password.empty()));
      } else if (text != "PONG") {
        finish(Outcome::failure("error", fmt::format("PING answered '{}', expected PONG", text.substr(0, 64))));
      }
      return;
    case RedisStep::Info: {
      if (is_error) {
        finish(ping_loading_ ? loading_outcome(nullptr)
                             : classify_error_reply(step, text, !target_.password.empty()));
        return;
      }
      const RedisInfo info = parse_info(text);
      finish(info.loading || ping_loading_ ? loading_outcome(&info) : success_outcome(info));
      return;
    }
  }
}

void RedisAttempt::on_disconnect(const redisAsyncContext* ac, int /*status*/) {
  auto* self = static_cast<RedisAttempt*>(ac->data);
  core::HandleGroup::Keep keep(self->group_);
  self->context_gone();  // hiredis frees the context when we return
  if (self->state_ == State::Talking) {
    const char* why = ac->c.err != 0 ? ac->c.errstr : "connection closed";
    self->finish(Outcome::failure("error", fmt::format("connection to {} closed: {}", self->address(), why)));
  }
}

// Always inside a Keep (every caller is a way in).
void RedisAttempt::finish(Outcome o) {
  if (state_ == State::Finished || state_ == State::Cancelled) return;
  state_ = State::Finished;
  close_context();
  group_.close();
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(o));
}

void RedisAttempt::cancel() {
  core::HandleGroup::Keep keep(group_);
  if (state_ == State::Finished || state_ == State::Cancelled) return;
  state_ = State::Cancelled;
  done_ = nullptr;
  if (dns_ != nullptr) dns_->cancel();
  dns_ = nullptr;
  close_context();
  group_.close();
}

void RedisAttempt::context_gone() {
  ac_ = nullptr;
  group_.release();  // never the last: the caller holds a Keep
}

// redisAsyncFree: from a reply callback hiredis defers it until the callback returns; anywhere
// else it frees now. Pending reply callbacks then run with NULL (ignored: we are finished), and
// a connected context calls on_disconnect, which drops ac_. A context that never connected gets
// no disconnect callback: it is gone when redisAsyncFree returns. We are never inside the
// connect callback here (see send_commands and on_connect).
void RedisAttempt::close_context() {
  if (ac_ == nullptr || free_requested_) return;
  free_requested_ = true;
  redisAsyncContext* ac = ac_;
  const bool connected = (ac->c.flags & REDIS_CONNECTED) != 0;
  redisAsyncFree(ac);
  if (!connected) context_gone();  // freed at once, no disconnect callback
}

}  // namespace lg::probes
