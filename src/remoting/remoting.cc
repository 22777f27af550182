// Endpoint (remoting.h): the I/O loops, processors, request dispatch and outstanding calls that
// servers and clients share; the Connection is in connection.cc, RemotingServer and
// RemotingClient in endpoints.cc.
#include "ramjet/remoting/remoting.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

}  // namespace ramjet::remoting
