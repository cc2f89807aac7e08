#pragma once
// HandleGroup: the lifetime of an object that owns several libuv handles and requests (a proxied
// session, a probe attempt, an acceptor, an HTTP connection). The rules, once:
//   - The object is created with new and deleted by nobody but its group.
//   - The group counts the object itself while it is open, each open Handle<H> (init() holds,
//     the close callback releases) and each request that is not tied to one of those handles
//     (a uv_getaddrinfo, a hiredis context): hold() when it starts, release() when libuv or the
//     library lets go of it. A request that fails synchronously is released on the spot.
//     Requests on a handle of the group (connect, write, shutdown) need no count: libuv calls
//     them back (UV_ECANCELED when closing) before that handle's close callback.
//   - close() says the object is done: its own count goes (idempotent). The object is freed
//     when the count reaches zero: in the last close callback, or in close() itself when
//     nothing is open any more.
//   - release() and close() may free the object: each is the caller's last act on it, or runs
//     inside a Keep, which holds the object across a call that may re-enter (hiredis calls us
//     back from inside redisAsyncFree); the object then goes when the outermost Keep ends.
#include <cassert>

namespace lg::core {

class HandleGroup {
 public:
  // The owner's destructor may be private: make HandleGroup its friend.
  template <class Owner>
  explicit HandleGroup(Owner* owner) : owner_(owner), free_([](void* p) { delete static_cast<Owner*>(p); }) {}
  HandleGroup(const HandleGroup&) = delete;
  HandleGroup& operator=(const HandleGroup&) = delete;

  void hold() { ++count_; }
  void release() {
    assert(count_ > 0);
    if (--count_ == 0) free_(owner_);  // deletes this group too: nothing may follow
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    release();
  }
  bool closed() const { return closed_; }

  class Keep {
   public:
    explicit Keep(HandleGroup& group) : group_(group) { group_.hold(); }
    ~Keep() { group_.release(); }
    Keep(const Keep&) = delete;
    Keep& operator=(const Keep&) = delete;

   private:
    HandleGroup& group_;
  };

 private:
  void* owner_;
  void (*free_)(void*);
  int count_ = 1;  // the owner's own, until close()
  bool closed_ = false;
};

}  // namespace lg::core
