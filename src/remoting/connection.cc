// Connection and RequestContext (remoting.h): a socket's reads, frames, corked and queued
// writes, TLS records and close; the answer handle a handler holds. Threading as in remoting.h.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "event_loop.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {

using protocol::RemotingCommand;

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(Endpoint* owner, EventLoop* loop, int fd, uint64_t id, std::string remote,
                       int listener_index, size_t max_frame_bytes, Wire wire)
    : owner_(owner),
      loop_(loop),
      fd_(fd),
      id_(id),
      remote_address_(std::move(remote)),
      listener_index_(listener_index),
      decoder_(max_frame_bytes),
      wire_(wire) {}

Connection::~Connection() {
  if (!closed_.load() && fd_ >= 0) ::close(fd_);
}

bool Connection::Send(const RemotingCommand& cmd) {
  std::string bytes;
  protocol::EncodeFrame(cmd, &bytes);
  return SendRaw(std::move(bytes));
}

namespace {
// The connection whose input the current (loop) thread is processing. Responses it sends while
// doing so are buffered and written with one send() when the read round ends ("cork"), or once
// they hold EndpointOptions::cork_flush_bytes, so a burst of pipelined requests answered inline
// costs a few syscalls instead of one per response and the peer starts on the first answers.
thread_local Connection* t_corked = nullptr;
}  // namespace

bool Connection::in_read_round() const {
  return t_corked == this && static_cast<bool>(owner_->options().before_corked_flush);
}

bool RequestContext::in_read_round() const { return conn_ && conn_->in_read_round(); }

// The round's deferred work (store appends) before anything of it is written: false closes.
bool Connection::RunBeforeCorkedFlush() {
  const auto& hook = owner_->options().before_corked_flush;
  if (!hook || hook()) return true;
  if (!closed()) CloseNow("responses withheld: a deferred store write failed");
  return false;
}

bool Connection::SendSomeLocked(std::string_view data, size_t* done) {
  while (*done < data.size()) {
    ssize_t n = ::send(fd_, data.data() + *done, data.size() - *done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      *done += static_cast<size_t>(n);
      last_io_us_.store(MonoMicros(), std::memory_order_relaxed);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

bool Connection::WriteOutLocked() {
  size_t done = 0;
  const bool ok = SendSomeLocked(out_, &done);
  out_.erase(0, done);
  return ok;
}

bool Connection::WriteQueued(bool* want_epollout) {
  std::lock_guard<std::mutex> l(out_mu_);
  // want_write_: the loop owns the queue's writing (EPOLLOUT) and takes these bytes with it.
  if (closed_.load(std::memory_order_acquire) || want_write_ || out_.empty()) return true;
  if (!WriteOutLocked()) return false;
  if (!out_.empty()) want_write_ = *want_epollout = true;
  return true;
}

void Connection::FlushCorked() {
  bool enable = false;
  if (!WriteQueued(&enable)) {
    CloseNow("write failed");
  } else if (enable) {
    loop_->Modify(fd_, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
  }
}

bool Connection::SendRaw(std::string bytes) {
  const size_t max_pending = owner_->options().max_pending_out_bytes;
  if (t_corked == this) {
    bool flush = false;
    bool over = false;
    bool sealed = true;
    {
      std::lock_guard<std::mutex> l(out_mu_);
      if (closed_.load(std::memory_order_acquire)) return false;
      sealed = SealLocked(&bytes);
      if (sealed) out_.append(bytes);  // never the plaintext of a failed seal
      round_sent_ = true;
      flush = !want_write_ && out_.size() >= owner_->options().cork_flush_bytes;
      over = out_.size() > max_pending;
    }
    if (!sealed) {
      Close("TLS write failed");
      return false;
    }
    if (over) return ClosePendingOverflow();
    if (flush) {
      if (!RunBeforeCorkedFlush()) return false;
      FlushCorked();
    }
    return true;
  }
  if (WriteCork* cork = WriteCork::Current()) {
    // A server's queue may hold a read round's answers, which wait for before_corked_flush.
    if (owner_->options().before_corked_flush) return cork->Hold(this, std::move(bytes));
    return SendUnderCork(cork, std::move(bytes));
  }
  return SendNow(std::move(bytes));
}

bool Connection::SendNow(std::string bytes) {
  const size_t max_pending = owner_->options().max_pending_out_bytes;
  bool post_enable = false;
  bool post_close = false;
  bool lock_overflow = false;
  bool seal_failed = false;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    if (closed_.load(std::memory_order_acquire)) return false;
    seal_failed = !SealLocked(&bytes);
    if (seal_failed) {
      bytes.clear();
    } else if (out_.empty()) {
      size_t done = 0;
      post_close = !SendSomeLocked(bytes, &done);
      if (!post_close && done < bytes.size()) {
        out_.assign(bytes, done, std::string::npos);
        if (!want_write_) {
          want_write_ = true;
          post_enable = true;
        }
      }
    } else {
      out_.append(bytes);
      if (out_.size() > max_pending) {
        lock_overflow = true;
      }
    }
  }
  if (lock_overflow) return ClosePendingOverflow();
  auto self = shared_from_this();
  if (post_close || seal_failed) {
    Close("write failed");
    return false;
  }
  if (post_enable) {
    loop_->Post([self] {
      if (!self->closed()) self->loop_->Modify(self->fd_, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
    });
  }
  return true;
}

void Connection::Close(std::string_view reason) {
  if (close_requested_.exchange(true)) return;
  auto self = shared_from_this();
  std::string why(reason);
  loop_->Post([self, why] { self->CloseNow(why); });
}

void Connection::CloseNow(std::string_view reason) {
  {
    std::lock_guard<std::mutex> l(out_mu_);
    if (closed_.load()) return;
    closed_.store(true, std::memory_order_release);
    loop_->Remove(fd_);
    ::close(fd_);
    out_ = std::string();
  }
  owner_->buffered_in_.fetch_sub(static_cast<int64_t>(accounted_in_));
  accounted_in_ = 0;
  RJ_LOG(kDebug, "remoting", "%s: connection %s closed: %.*s", owner_->options().name.c_str(),
         remote_address_.c_str(), static_cast<int>(reason.size()), reason.data());
  owner_->OnClosed(shared_from_this());
}

void Connection::HandleEvents(uint32_t events) {
  if (closed()) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) HandleReadable();
  if (!closed() && (events & EPOLLOUT)) HandleWritable();
}

void Connection::HandleReadable() {
  auto self = shared_from_this();
  t_corked = this;
  ReadFrames();
  t_corked = nullptr;
  // Also after the peer closed: the round's deferred appends are written either way.
  const bool ok = RunBeforeCorkedFlush();
  // TLS rounds may have queued handshake records or alerts without a send of their own.
  const bool sent = round_sent_ || wire_ == Wire::kTls;
  round_sent_ = false;
  if (ok && !closed() && sent) FlushCorked();
}

void Connection::ReadFrames() {
  char buf[65536];
  size_t budget = 4u << 20;  // fairness between connections of one loop
  auto self = shared_from_this();
  while (budget > 0) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      last_io_us_.store(MonoMicros(), std::memory_order_relaxed);
      budget -= std::min(budget, static_cast<size_t>(n));
      if (wire_ == Wire::kUndecided && !DecideWire(static_cast<unsigned char>(buf[0]))) return;
      if (wire_ == Wire::kTls) {
        if (!ReceiveTls(buf, static_cast<size_t>(n))) return;
      } else {
        decoder_.Append(buf, static_cast<size_t>(n));
      }
      for (;;) {
        auto next = decoder_.Next();
        if (!next.ok()) {
          RJ_LOG(kWarn, "remoting", "%s: closing connection from %s: bad frame: %s",
                 owner_->options().name.c_str(), remote_address_.c_str(),
                 std::string(next.status().message()).c_str());
          CloseNow("bad frame");
          return;
        }
        if (!next->has_value()) break;
        owner_->OnFrame(self, std::move(**next));
        if (closed()) return;
      }
      if (!AccountBuffered()) {
        CloseNow("partial-frame budget exhausted");
        return;
      }
      // A short read took all the socket held: the loop (level-triggered) comes back when more
      // arrives, so the recv that would only say EAGAIN is spared (one system call per round).
      if (static_cast<size_t>(n) < sizeof(buf)) return;
      continue;
    }
    if (n == 0) {
      CloseNow("peer closed");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    CloseNow(std::strerror(errno));
    return;
  }
}

bool Connection::SealLocked(std::string* bytes) {
  if (!tls_) return true;
  std::string wire;
  if (Status s = tls_->Send(*bytes, &wire); !s.ok()) {
    RJ_LOG(kWarn, "remoting", "%s: connection %s: %s", owner_->options().name.c_str(),
           remote_address_.c_str(), std::string(s.message()).c_str());
    return false;
  }
  *bytes = std::move(wire);
  return true;
}

bool Connection::DecideWire(unsigned char first) {
  const EndpointOptions& o = owner_->options();
  constexpr unsigned char kTlsHandshakeRecord = 0x16;
  if (first == kTlsHandshakeRecord) {
    auto session = TlsSession::Create(o.tls);
    if (!session.ok()) {
      RJ_LOG(kWarn, "remoting", "%s: TLS for %s: %s", o.name.c_str(), remote_address_.c_str(),
             std::string(session.status().message()).c_str());
      CloseNow("TLS unavailable");
      return false;
    }
    std::lock_guard<std::mutex> l(out_mu_);
    tls_ = std::move(*session);
    wire_ = Wire::kTls;
    handshake_since_us_.store(MonoMicros(), std::memory_order_relaxed);
    return true;
  }
  if (o.tls_mode == TlsMode::kEnforcing) {
    RJ_LOG(kWarn, "remoting", "%s: plaintext connection from %s refused: tlsMode is enforcing",
           o.name.c_str(), remote_address_.c_str());
    CloseNow("plaintext refused");
    return false;
  }
  wire_ = Wire::kPlain;
  return true;
}

bool Connection::ReceiveTls(const char* data, size_t size) {
  plain_in_.clear();
  Status s;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    if (closed_.load(std::memory_order_acquire)) return false;
    s = tls_->Receive(data, size, &plain_in_, &out_);
    if (tls_->established()) handshake_since_us_.store(0, std::memory_order_relaxed);
  }
  if (!s.ok()) {
    // Best effort: the alert saying why. out_ may also hold the round's acknowledgements, so it
    // is written only after the round's deferred work, as every write of a round is.
    if (RunBeforeCorkedFlush()) {
      std::lock_guard<std::mutex> l(out_mu_);
      if (!closed_.load(std::memory_order_acquire) && !want_write_) WriteOutLocked();
    }
    RJ_LOG(kWarn, "remoting", "%s: closing connection %s: %s", owner_->options().name.c_str(),
           remote_address_.c_str(), std::string(s.message()).c_str());
    CloseNow("TLS failed");
    return false;
  }
  decoder_.Append(plain_in_.data(), plain_in_.size());
  if (plain_in_.capacity() > (1u << 20)) plain_in_ = std::string();
  return true;
}

void Connection::HandleWritable() {
  bool drained = false;
  bool failed = false;
  {
    std::lock_guard<std::mutex> l(out_mu_);
    failed = !WriteOutLocked();
    if (out_.empty()) {
      want_write_ = false;
      drained = true;
    }
  }
  if (failed) {
    CloseNow("write failed");
    return;
  }
  if (drained) loop_->Modify(fd_, EPOLLIN | EPOLLRDHUP);
}

// ---------------------------------------------------------------------------------------------
// RequestContext

void RequestContext::Respond(RemotingCommand response) {
  if (responded_.exchange(true)) return;
  if (observer_) (*observer_)(request_.code, response.code, MonoMicros() - start_us_);
  if (request_.IsOneway()) return;
  response.opaque = request_.opaque;
  response.flag |= protocol::kFlagResponse;
  response.serialize_type = request_.serialize_type;
  response.version = version_;
  if (conn_) {
    conn_->Send(response);
  } else if (responder_) {
    responder_(std::move(response));
  }
}

const std::string& RequestContext::remote_address() const {
  return conn_ ? conn_->remote_address() : peer_;
}

bool RequestContext::peer_closed() const { return conn_ && conn_->closed(); }

void RequestContext::RespondCode(int32_t code, std::string remark) {
  Respond(RemotingCommand::ResponseTo(request_, code, std::move(remark)));
}

}  // namespace ramjet::remoting
