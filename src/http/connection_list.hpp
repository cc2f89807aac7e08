#pragma once
// ConnectionList: an ordered list of the health server's connections, oldest first. The server
// keeps its open connections in three (by how long they have had to send a request), and at the
// connection cap closes the first of the one ordered by activity, as nginx's
// ngx_drain_connections closes its oldest reusable connections. Intrusive (each connection
// carries its Hook, which knows its list): push and take are O(1) and allocate nothing, since a
// connection moves on every read; a splice walks only what it moves.
#include <cstddef>
#include <vector>

namespace lg::http {

template <class T>
class ConnectionList {
 public:
  struct Hook {
    T* prev = nullptr;
    T* next = nullptr;
    ConnectionList* list = nullptr;  // the list holding it, if any
  };

  ConnectionList() = default;
  ConnectionList(const ConnectionList&) = delete;
  ConnectionList& operator=(const ConnectionList&) = delete;

  size_t size() const { return size_; }
  T* front() const { return head_; }
  T* back() const { return tail_; }

  // Appends c, which must be in no list.
  void push_back(T* c) {
    Hook& h = c->hook_;
    h.list = this;
    h.prev = tail_;
    h.next = nullptr;
    if (tail_) tail_->hook_.next = c;
    else head_ = c;
    tail_ = c;
    ++size_;
  }

  // Takes c out of whichever list holds it (none: nothing happens).
  static void take(T* c) {
    if (c->hook_.list) c->hook_.list->unlink(c);
  }

  // Moves every connection of `other` to the back of this list, in order.
  void splice_back(ConnectionList& other) {
    if (!other.head_) return;
    for (T* c = other.head_; c; c = c->hook_.next) c->hook_.list = this;
    if (tail_) {
      tail_->hook_.next = other.head_;
      other.head_->hook_.prev = tail_;
    } else {
      head_ = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
  }

  // A copy, for walks that close connections (closing takes them out).
  std::vector<T*> snapshot() const {
    std::vector<T*> all;
    all.reserve(size_);
    for (T* c = head_; c; c = c->hook_.next) all.push_back(c);
    return all;
  }

 private:
  void unlink(T* c) {
    Hook& h = c->hook_;
    if (h.prev) h.prev->hook_.next = h.next;
    else head_ = h.next;
    if (h.next) h.next->hook_.prev = h.prev;
    else tail_ = h.prev;
    h.prev = h.next = nullptr;
    h.list = nullptr;
    --size_;
  }

  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lg::http
