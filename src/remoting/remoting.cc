#include "ramjet/remoting/remoting.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "event_loop.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::remoting {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;

std::string PeerAddress(int fd, bool local) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int r = local ? ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r != 0) return "unknown:0";
  char ip[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    port = ntohs(a->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
    std::string s(ip);
    if (s.starts_with("::ffff:") && s.find('.') != std::string::npos) {
      return s.substr(7) + ":" + std::to_string(port);
    }
    return "[" + s + "]:" + std::to_string(port);
  }
  return "unknown:0";
}

namespace {

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Result<std::pair<std::string, int>> SplitHostPort(std::string_view addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == addr.size()) {
    return Status::InvalidArgument("address '" + std::string(addr) + "' is not host:port");
  }
  std::string host(addr.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = std::atoi(std::string(addr.substr(colon + 1)).c_str());
  if (port <= 0 || port > 65535) {
    return Status::InvalidArgument("address '" + std::string(addr) + "' has a bad port");
  }
  return std::make_pair(host, port);
}

}  // namespace

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

bool Connection::WriteOutLocked() {
  size_t done = 0;
  bool failed = false;
  while (done < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      last_io_us_.store(MonoMicros(), std::memory_order_relaxed);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    failed = true;
    break;
  }
  out_.erase(0, done);
  return !failed;
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
  if (WriteCork* cork = WriteCork::Current(); cork && !owner_->options().before_corked_flush) {
    return SendUnderCork(cork, std::move(bytes));
  }
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
      while (done < bytes.size()) {
        ssize_t n =
            ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          done += static_cast<size_t>(n);
          last_io_us_.store(MonoMicros(), std::memory_order_relaxed);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        post_close = true;
        break;
      }
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

// ---------------------------------------------------------------------------------------------
// Endpoint

Endpoint::Endpoint(EndpointOptions options) : options_(std::move(options)) {
  if (options_.io_threads < 1) options_.io_threads = 1;
  for (int i = 0; i < options_.io_threads; ++i) {
    loops_.push_back(
        std::make_unique<EventLoop>(options_.name.substr(0, 10) + "-io" + std::to_string(i)));
  }
}

Endpoint::~Endpoint() { StopLoops(); }

void Endpoint::StartLoops() {
  for (auto& l : loops_) l->Start();
  scanner_ = std::make_unique<Scheduler>(options_.name.substr(0, 10) + "-tmo");
  scanner_->RunEvery(20, 20, [this] { ScanTimeouts(); });
  if (options_.idle_timeout_ms > 0 || options_.tls) {
    scanner_->RunEvery(1000, 1000, [this] { ScanIdle(); });
  }
}

void Endpoint::StopLoops() {
  if (scanner_) scanner_->Stop();
  std::vector<ConnectionPtr> conns;
  {
    std::lock_guard<std::mutex> l(conns_mu_);
    for (auto& [id, w] : conns_) {
      if (auto c = w.lock()) conns.push_back(c);
    }
  }
  for (auto& c : conns) c->Close("endpoint shutting down");
  for (auto& l : loops_) l->Stop();
  // Fail whatever is still outstanding.
  std::unordered_map<int32_t, Pending> pending;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    pending.swap(pending_);
  }
  for (auto& [op, p] : pending) p.cb(Status::Unavailable("endpoint shut down"));
}

EventLoop* Endpoint::NextLoop() { return loops_[next_loop_.fetch_add(1) % loops_.size()].get(); }

Result<ConnectionPtr> Endpoint::Adopt(int fd, std::string remote, int listener_index, bool client) {
  using Wire = Connection::Wire;
  Wire wire = Wire::kPlain;
  if (client && options_.tls) {
    wire = Wire::kTls;
  } else if (!client && options_.tls && options_.tls_mode != TlsMode::kDisabled) {
    wire = Wire::kUndecided;
  }
  std::unique_ptr<TlsSession> session;
  std::string hello;
  if (wire == Wire::kTls) {
    auto created = TlsSession::Create(options_.tls);
    Status s = created.ok() ? (*created)->StartHandshake(&hello) : created.status();
    if (!s.ok()) {
      ::close(fd);
      return Status::Unavailable("TLS to " + remote + ": " + std::string(s.message()));
    }
    session = std::move(*created);
  }
  EventLoop* loop = NextLoop();
  ConnectionPtr conn(new Connection(this, loop, fd, next_conn_id_.fetch_add(1), std::move(remote),
                                    listener_index, options_.max_frame_bytes, wire));
  conn->last_io_us_.store(MonoMicros(), std::memory_order_relaxed);
  uint32_t events = EPOLLIN | EPOLLRDHUP;
  if (session) {
    std::lock_guard<std::mutex> l(conn->out_mu_);
    conn->tls_ = std::move(session);
    conn->out_ = std::move(hello);  // the ClientHello, written when the socket is writable
    conn->want_write_ = true;
    conn->handshake_since_us_.store(MonoMicros(), std::memory_order_relaxed);
    events |= EPOLLOUT;
  }
  {
    std::lock_guard<std::mutex> l(conns_mu_);
    conns_[conn->id()] = conn;
  }
  loop->Post([conn, loop, events] {
    if (conn->closed()) return;
    loop->Add(conn->fd_, events, [conn](uint32_t ev) { conn->HandleEvents(ev); });
  });
  return conn;
}

size_t Endpoint::connection_count() const {
  std::lock_guard<std::mutex> l(conns_mu_);
  return conns_.size();
}

void Endpoint::RegisterProcessor(int32_t code, Handler handler, ThreadPool* executor,
                                 int only_listener) {
  processors_[code] = Processor{std::move(handler), executor, only_listener};
}

void Endpoint::AddCloseListener(std::function<void(const ConnectionPtr&)> listener) {
  close_listeners_.push_back(std::move(listener));
}

int32_t Endpoint::NextOpaque() {
  int32_t v = next_opaque_.fetch_add(1);
  return v & 0x7fffffff;
}

void Endpoint::OnFrame(const ConnectionPtr& conn, RemotingCommand cmd) {
  if (cmd.IsResponse()) {
    Pending p;
    {
      std::lock_guard<std::mutex> l(pending_mu_);
      auto it = pending_.find(cmd.opaque);
      if (it == pending_.end() || it->second.conn_id != conn->id()) {
        RJ_LOG(kDebug, "remoting", "%s: response with unknown opaque %d from %s dropped",
               options_.name.c_str(), cmd.opaque, conn->remote_address().c_str());
        return;
      }
      p = std::move(it->second);
      pending_.erase(it);
    }
    p.cb(std::move(cmd));
    return;
  }
  auto it = processors_.find(cmd.code);
  if (it == processors_.end() ||
      (it->second.only_listener >= 0 && it->second.only_listener != conn->listener_index())) {
    RJ_LOG(kDebug, "remoting", "%s: request code %d from %s not supported", options_.name.c_str(),
           cmd.code, conn->remote_address().c_str());
    if (!cmd.IsOneway()) {
      RemotingCommand resp = RemotingCommand::ResponseTo(
          cmd, rc::kRequestCodeNotSupported,
          " request type " + std::to_string(cmd.code) + " not supported");
      resp.version = options_.version;
      conn->Send(resp);
    }
    return;
  }
  auto ctx = std::make_shared<RequestContext>(conn, std::move(cmd), options_.version,
                                              &options_.on_response);
  const Processor& proc = it->second;
  auto run = [handler = &proc.handler, ctx, name = &options_.name,
              authorize = &options_.authorize] {
    try {
      if (*authorize) {
        if (Status s = (*authorize)(ctx->request(), ctx->connection()->remote_address()); !s.ok()) {
          if (!ctx->request().IsOneway()) {
            ctx->RespondCode(rc::kNoPermission, std::string(s.message()));
          }
          return;
        }
      }
      (*handler)(ctx);
    } catch (const std::exception& e) {
      RJ_LOG(kError, "remoting", "%s: handler of code %d threw: %s", name->c_str(),
             ctx->request().code, e.what());
      ctx->RespondCode(rc::kSystemError, e.what());
    }
  };
  if (proc.executor == nullptr) {
    run();
    return;
  }
  if (!proc.executor->TrySubmit(run)) {
    RJ_LOG(kWarn, "remoting", "%s: executor %s full, request code %d from %s refused",
           options_.name.c_str(), proc.executor->name().c_str(), ctx->request().code,
           conn->remote_address().c_str());
    ctx->RespondCode(rc::kSystemBusy, "[OVERLOAD]system busy, start flow control for a while");
  }
}

void Endpoint::OnClosed(const ConnectionPtr& conn) {
  {
    std::lock_guard<std::mutex> l(conns_mu_);
    conns_.erase(conn->id());
  }
  std::vector<ResponseCallback> failed;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.conn_id == conn->id()) {
        failed.push_back(std::move(it->second.cb));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& cb : failed) {
    cb(Status::Unavailable("connection to " + conn->remote_address() + " closed"));
  }
  for (auto& l : close_listeners_) l(conn);
}

void Endpoint::ScanTimeouts() {
  int64_t now = MonoMicros();
  std::vector<std::pair<int32_t, ResponseCallback>> expired;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline_us <= now) {
        expired.emplace_back(it->first, std::move(it->second.cb));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [op, cb] : expired) {
    cb(Status::Timeout("no response to request opaque " + std::to_string(op) + " in time"));
  }
}

void Endpoint::InvokeAsync(const ConnectionPtr& conn, RemotingCommand request, int timeout_ms,
                           ResponseCallback cb) {
  request.opaque = NextOpaque();
  request.flag &= ~(protocol::kFlagResponse | protocol::kFlagOneway);
  request.version = options_.version;
  request.language = options_.language;
  if (options_.sign_request) options_.sign_request(&request);
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    pending_[request.opaque] =
        Pending{std::move(cb), MonoMicros() + int64_t{timeout_ms} * 1000, conn->id()};
  }
  if (!conn->Send(request)) {
    ResponseCallback failed;
    {
      std::lock_guard<std::mutex> l(pending_mu_);
      auto it = pending_.find(request.opaque);
      if (it == pending_.end()) return;  // already failed by the close path
      failed = std::move(it->second.cb);
      pending_.erase(it);
    }
    failed(Status::Unavailable("connection to " + conn->remote_address() + " is closed"));
  }
}

Result<RemotingCommand> Endpoint::InvokeSync(const ConnectionPtr& conn, RemotingCommand request,
                                             int timeout_ms) {
  for (const auto& loop : loops_) {
    // The response would be delivered on this very thread: waiting here would deadlock.
    if (loop->InLoopThread()) {
      return Status::Internal("InvokeSync called on an I/O thread of the same endpoint");
    }
  }
  auto promise = std::make_shared<std::promise<Result<RemotingCommand>>>();
  auto future = promise->get_future();
  InvokeAsync(conn, std::move(request), timeout_ms,
              [promise](Result<RemotingCommand> r) { promise->set_value(std::move(r)); });
  WriteCork::FlushCurrent();  // the request must leave before this thread waits for its answer
  return future.get();
}

bool Endpoint::InvokeOneway(const ConnectionPtr& conn, RemotingCommand request) {
  request.opaque = NextOpaque();
  request.flag = (request.flag & ~protocol::kFlagResponse) | protocol::kFlagOneway;
  request.version = options_.version;
  request.language = options_.language;
  if (options_.sign_request) options_.sign_request(&request);
  return conn->Send(request);
}

// ---------------------------------------------------------------------------------------------
// RemotingServer

class RemotingServer::Acceptor {
 public:
  Acceptor(RemotingServer* server, EventLoop* loop, int fd, int index)
      : server_(server), loop_(loop), fd_(fd), index_(index) {
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  ~Acceptor() {
    if (fd_ >= 0) ::close(fd_);
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }
  void Register() {
    loop_->Post([this] { loop_->Add(fd_, EPOLLIN, [this](uint32_t) { OnAccept(); }); });
  }
  void Unregister() {
    std::promise<void> done;
    loop_->Post([this, &done] {
      loop_->Remove(fd_);
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  void OnAccept() {
    for (;;) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno == EMFILE || errno == ENFILE) {
          // Out of descriptors: the pending connection would keep the level-triggered listener
          // readable forever. Use the spare descriptor to accept and drop it.
          RJ_LOG(kWarn, "remoting", "%s: out of file descriptors, refusing a connection",
                 server_->options().name.c_str());
          if (spare_fd_ >= 0) {
            ::close(spare_fd_);
            int dropped = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (dropped >= 0) ::close(dropped);
            spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
          }
          return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          RJ_LOG(kWarn, "remoting", "%s: accept: %s", server_->options().name.c_str(),
                 std::strerror(errno));
        }
        return;
      }
      std::string peer = PeerAddress(fd);
      if (!server_->AdmitConnection(peer)) {
        ::close(fd);
        continue;
      }
      SetNoDelay(fd);
      RJ_LOG(kDebug, "remoting", "%s: accepted %s", server_->options().name.c_str(), peer.c_str());
      if (auto conn = server_->Adopt(fd, peer, index_, false); !conn.ok()) {
        RJ_LOG(kWarn, "remoting", "%s: %s", server_->options().name.c_str(),
               std::string(conn.status().message()).c_str());
      }
    }
  }
  RemotingServer* server_;
  EventLoop* loop_;
  int fd_;
  int index_;
  int spare_fd_ = -1;
};

RemotingServer::RemotingServer(EndpointOptions options) : Endpoint(std::move(options)) {}

RemotingServer::~RemotingServer() { Shutdown(); }

Status RemotingServer::Start(const std::vector<ListenAddress>& listeners) {
  ResolveConnectionLimit();
  std::vector<int> fds;
  auto fail = [&](const Status& s) {
    for (int fd : fds) ::close(fd);
    return s;
  };
  for (const auto& la : listeners) {
    bool v6 = la.host.find(':') != std::string::npos;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(Status::FromErrno(errno, "socket"));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(la.port));
      if (::inet_pton(AF_INET6, la.host.c_str(), &a->sin6_addr) != 1) {
        ::close(fd);
        return fail(Status::InvalidArgument("bad listen address " + la.host));
      }
      len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(la.port));
      if (::inet_pton(AF_INET, la.host.c_str(), &a->sin_addr) != 1) {
        ::close(fd);
        return fail(Status::InvalidArgument("bad listen address " + la.host));
      }
      len = sizeof(sockaddr_in);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      int e = errno;
      ::close(fd);
      return fail(Status::IOError("cannot listen on " + la.host + ":" + std::to_string(la.port) +
                                  ": " + std::strerror(e)));
    }
    if (::listen(fd, 1024) != 0) {
      int e = errno;
      ::close(fd);
      return fail(Status::FromErrno(e, "listen"));
    }
    fds.push_back(fd);
    std::string local = PeerAddress(fd, true);
    ports_.push_back(std::atoi(local.substr(local.rfind(':') + 1).c_str()));
  }
  StartLoops();
  for (size_t i = 0; i < fds.size(); ++i) {
    acceptors_.push_back(
        std::make_unique<Acceptor>(this, loops_[0].get(), fds[i], static_cast<int>(i)));
    acceptors_.back()->Register();
  }
  started_ = true;
  return Status::OK();
}

void RemotingServer::Shutdown() {
  if (!started_) return;
  started_ = false;
  for (auto& a : acceptors_) a->Unregister();
  acceptors_.clear();
  StopLoops();
}

// ---------------------------------------------------------------------------------------------
// RemotingClient

RemotingClient::RemotingClient(EndpointOptions options, int connect_timeout_ms)
    : Endpoint(std::move(options)), connect_timeout_ms_(connect_timeout_ms) {
  StartLoops();
}

RemotingClient::~RemotingClient() { Shutdown(); }

void RemotingClient::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    by_addr_.clear();
  }
  StopLoops();
}

Result<ConnectionPtr> RemotingClient::GetConnection(const std::string& addr) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_) return Status::Unavailable("client shut down");
    auto it = by_addr_.find(addr);
    if (it != by_addr_.end() && !it->second->closed()) return it->second;
  }
  // Resolve and connect without the lock: one unreachable peer must not stall the others.
  RJ_ASSIGN_OR_RETURN(auto hp, SplitHostPort(addr));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(hp.first.c_str(), std::to_string(hp.second).c_str(), &hints, &res);
  if (gai != 0 || res == nullptr) {
    return Status::Unavailable("cannot resolve " + addr + ": " + ::gai_strerror(gai));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status::FromErrno(errno, "socket");
  }
  int r = ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (r != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    return Status::Unavailable("connect to " + addr + ": " + std::strerror(e));
  }
  if (r != 0) {
    pollfd p{fd, POLLOUT, 0};
    int pr = ::poll(&p, 1, connect_timeout_ms_);
    int err = 0;
    socklen_t len = sizeof(err);
    if (pr <= 0) {
      ::close(fd);
      return Status::Timeout("connect to " + addr + " timed out");
    }
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      return Status::Unavailable("connect to " + addr + ": " + std::strerror(err));
    }
  }
  SetNoDelay(fd);
  std::lock_guard<std::mutex> l(mu_);
  if (shut_down_) {
    ::close(fd);
    return Status::Unavailable("client shut down");
  }
  auto it = by_addr_.find(addr);
  if (it != by_addr_.end() && !it->second->closed()) {
    ::close(fd);  // another thread connected meanwhile
    return it->second;
  }
  RJ_ASSIGN_OR_RETURN(ConnectionPtr conn, Adopt(fd, addr, 0, true));
  by_addr_[addr] = conn;
  return conn;
}

Result<RemotingCommand> RemotingClient::InvokeSync(const std::string& addr, RemotingCommand request,
                                                   int timeout_ms) {
  RJ_ASSIGN_OR_RETURN(ConnectionPtr conn, GetConnection(addr));
  return Endpoint::InvokeSync(conn, std::move(request), timeout_ms);
}

void RemotingClient::InvokeAsync(const std::string& addr, RemotingCommand request, int timeout_ms,
                                 ResponseCallback cb) {
  auto conn = GetConnection(addr);
  if (!conn.ok()) {
    cb(conn.status());
    return;
  }
  Endpoint::InvokeAsync(*conn, std::move(request), timeout_ms, std::move(cb));
}

Status RemotingClient::InvokeOneway(const std::string& addr, RemotingCommand request) {
  RJ_ASSIGN_OR_RETURN(ConnectionPtr conn, GetConnection(addr));
  if (!Endpoint::InvokeOneway(conn, std::move(request))) {
    return Status::Unavailable("connection to " + addr + " closed");
  }
  return Status::OK();
}

void RemotingClient::CloseConnection(const std::string& addr) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return;
  it->second->Close("closed by client");
  by_addr_.erase(it);
}

}  // namespace ramjet::remoting
