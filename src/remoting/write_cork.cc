// WriteCork (remoting.h): an application thread's sends queued per connection and written
// together when its outermost cork ends.
#include <sys/socket.h>

#include <utility>

#include "event_loop.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {

namespace {
thread_local WriteCork* t_write_cork = nullptr;  // the outermost cork alive on this thread
// A cork's queue on one connection is written once it holds this much.
constexpr size_t kWriteCorkFlushBytes = 256 * 1024;
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
  std::vector<Held> held;
  held.swap(held_);
  for (auto& h : held) {
    // Empty when a full buffer went out early; false from SendNow: closed meanwhile.
    if (!h.bytes.empty()) h.conn->SendNow(std::move(h.bytes));
  }
}

bool WriteCork::Hold(Connection* conn, std::string bytes) {
  if (conn->closed()) return false;
  Held* entry = nullptr;
  for (auto& h : held_) entry = h.conn.get() == conn ? &h : entry;
  if (entry == nullptr) entry = &held_.emplace_back(Held{conn->shared_from_this(), {}});
  if (entry->bytes.empty()) {
    entry->bytes = std::move(bytes);
  } else {
    entry->bytes.append(bytes);
  }
  if (entry->bytes.size() >= kWriteCorkFlushBytes) {
    return conn->SendNow(std::exchange(entry->bytes, std::string()));
  }
  return true;
}

bool Connection::SendUnderCork(WriteCork* cork, std::string bytes) {
  bool sealed = true;
  bool write_now = false;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    if (closed_.load(std::memory_order_acquire)) return false;
    sealed = SealLocked(&bytes);
    if (sealed) out_.append(bytes);  // never the plaintext of a failed seal
    // A long cork is written in pieces, as the loop's: what waits is bounded by the socket, not
    // by the cork (max_pending_out_bytes then judges only bytes the socket refused).
    write_now = !want_write_ && out_.size() >= kWriteCorkFlushBytes;
  }
  if (!sealed) {
    Close("TLS write failed");
    return false;
  }
  // Each cork remembers its own connections (another thread's cork may hold this one too).
  bool known = false;
  for (const auto& c : cork->touched_) known = known || c.get() == this;
  if (!known) cork->touched_.push_back(shared_from_this());
  if (write_now) FlushAfterCork();
  bool over = false;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    over = out_.size() > owner_->options().max_pending_out_bytes;
  }
  if (over) return ClosePendingOverflow();
  return !closed();
}

void Connection::FlushAfterCork() {
  bool enable = false;
  if (!WriteQueued(&enable)) {
    Close("write failed");
  } else if (enable) {
    auto self = shared_from_this();
    loop_->Post([self] {
      if (!self->closed()) self->loop_->Modify(self->fd_, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
    });
  }
}

}  // namespace ramjet::remoting
