#include "core/dns_query.hpp"

namespace lg::core {

DnsQuery* DnsQuery::start(uv_loop_t* loop, const std::string& host, uint16_t port, Answer answer) {
  auto* q = new DnsQuery(std::move(answer));
  if (auto literal = parse_ip_literal(host, port)) {
    q->addresses_ = std::make_shared<const AddressList>(AddressList{*literal});
    q->answer_later(loop, 0);
    return q;
  }
  q->req_.data = q;
  const addrinfo hints = tcp_lookup_hints();
  const std::string service = port != 0 ? std::to_string(port) : std::string();
  q->group_.hold();
  const int rc = uv_getaddrinfo(loop, &q->req_, on_resolved, host.c_str(), port != 0 ? service.c_str() : nullptr, &hints);
  if (rc != 0) {
    q->group_.release();  // refused at once: no callback will come
    q->answer_later(loop, rc);
    return q;
  }
  q->running_ = true;
  return q;
}

void DnsQuery::answer_later(uv_loop_t* loop, int status) {
  later_ = Defer::once(loop, [this, status] {
    later_ = nullptr;
    deliver(status);
  });
}

void DnsQuery::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<DnsQuery*>(req->data);
  self->running_ = false;
  if (status == 0) {
    auto list = std::make_shared<AddressList>(answer_addresses(res));
    if (list->empty()) status = UV_EAI_NODATA;
    else self->addresses_ = std::move(list);
  }
  uv_freeaddrinfo(res);
  if (!self->group_.closed()) self->deliver(status);  // closed: cancelled, or UV_EAI_CANCELED
  self->group_.release();                               // the request's count: may free the query
}

// Called once; the query is done with (and, when nothing is running, freed) after the answer.
void DnsQuery::deliver(int status) {
  HandleGroup::Keep keep(group_);
  Answer answer = std::move(answer_);
  answer_ = nullptr;
  group_.close();
  if (answer) answer(status, status == 0 ? addresses_ : Addresses());
}

void DnsQuery::cancel() {
  if (group_.closed()) return;
  answer_ = nullptr;
  if (later_) later_->close();
  later_ = nullptr;
  if (running_) uv_cancel(reinterpret_cast<uv_req_t*>(&req_));  // best effort: the callback still comes
  group_.close();
}

}  // namespace lg::core
