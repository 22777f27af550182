// WriteCork (remoting.h): an application thread's sends queued per connection and written
// together when its outermost cork ends.
#include <sys/socket.h>

#include "event_loop.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {

namespace {
thread_local WriteCork* t_write_cork = nullptr;  // the outermost cork alive on this thread
}  // namespace

WriteCork::WriteCork() : outer_(t_write_cork) {
  if (outer_ == nullptr) t_write_cork = this;
}

WriteCork::~WriteCork() {
  if (outer_ != nullptr) return;  // nested: the outermost cork flushes
  t_write_cork = nullptr;
  Flush();
}

WriteCork* WriteCork::Current() { return t_write_cork; }

void WriteCork::FlushCurrent() {
  if (t_write_cork != nullptr) t_write_cork->Flush();
}

void WriteCork::Flush() {
  std::vector<std::shared_ptr<Connection>> touched;
  touched.swap(touched_);
  for (auto& conn : touched) conn->FlushAfterCork();
}

bool Connection::SendUnderCork(WriteCork* cork, std::string bytes) {
  bool sealed = true;
  bool over = false;
  bool first = false;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    if (closed_.load(std::memory_order_acquire)) return false;
    sealed = SealLocked(&bytes);
    if (sealed) out_.append(bytes);  // never the plaintext of a failed seal
    over = out_.size() > owner_->options().max_pending_out_bytes;
    first = !in_write_cork_;
    in_write_cork_ = true;
  }
  if (first) cork->touched_.push_back(shared_from_this());
  if (!sealed) {
    Close("TLS write failed");
    return false;
  }
  if (over) return ClosePendingOverflow();
  return true;
}

void Connection::FlushAfterCork() {
  bool failed = false;
  bool enable = false;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    in_write_cork_ = false;
    // want_write_: the loop owns the queue's writing (EPOLLOUT) and takes these bytes with it.
    if (closed_.load(std::memory_order_acquire) || want_write_ || out_.empty()) return;
    failed = !WriteOutLocked();
    if (!failed && !out_.empty()) {
      want_write_ = true;
      enable = true;
    }
  }
  if (failed) {
    Close("write failed");
  } else if (enable) {
    auto self = shared_from_this();
    loop_->Post([self] {
      if (!self->closed()) self->loop_->Modify(self->fd_, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
    });
  }
}

}  // namespace ramjet::remoting
