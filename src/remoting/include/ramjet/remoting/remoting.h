// The remoting layer: TCP connections carrying RocketMQ frames, request/response correlation by
// opaque, one-way requests, and a processor registry that runs handlers on explicit executors.
//
// Threading model:
//  - Each endpoint (server or client) owns `io_threads` event loops (epoll, level-triggered).
//    A connection belongs to one loop for its whole life; its reads, frame decoding and close
//    handling happen there.
//  - Connection::Send may be called from any thread: it writes directly when the socket buffer
//    has room and otherwise queues the bytes for the loop (EPOLLOUT). Sends made by the loop
//    thread while it processes a connection's input (handlers run inline, callbacks) are
//    "corked": buffered and written with one send() when that read round ends (or every 64 KiB).
//  - An application thread may cork its own sends with a WriteCork: while one is alive on the
//    thread, what it sends is queued per connection and written with one send() per connection
//    when the cork ends (pipelined requests from one thread: one syscall and TCP segment train
//    instead of one per request).
//  - A request handler runs on the ThreadPool it was registered with (or on the I/O thread when
//    registered without one: only for cheap, non-blocking handlers). A full pool answers
//    SYSTEM_BUSY at once. Handlers may answer later, from any thread, through RequestContext.
//  - Responses to our own requests complete their callbacks on the I/O thread (async) or wake
//    the caller (sync). A scanner thread fails calls past their deadline with kTimeout.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ramjet/base/clock.h"
#include "ramjet/base/result.h"
#include "ramjet/protocol/remoting_command.h"
#include "ramjet/remoting/limits.h"
#include "ramjet/remoting/thread_pool.h"
#include "ramjet/remoting/tls.h"

namespace ramjet {
class Scheduler;
}

namespace ramjet::remoting {

class EventLoop;
class Endpoint;
class Connection;

// WriteCork: corks the calling thread's sends, as the loop corks its read rounds. While one is
// alive on a thread (scopes nest; the outermost one flushes), Connection::Send from that thread
// appends the frame to the connection's queue instead of writing it; the cork's end writes each
// connection it touched with one send() (what the socket does not take goes out on EPOLLOUT, as
// any queued bytes). A queue past 256 KiB is written at once. The loop may also write a corked
// queue early (when it flushes its own round or on EPOLLOUT); and while a cork holds a queue,
// other threads' sends on that connection wait behind it: keep corks short. Frames keep their
// order on each connection. A write error closes the connection (its pending requests fail as on
// any close). Endpoint::InvokeSync writes out the thread's cork before it waits (FlushCurrent);
// a thread that waits for a response otherwise ends or flushes its cork first.
// On connections of endpoints with a before_corked_flush (servers), whose queue may hold a read
// round's answers that must wait for that hook, the cork keeps the thread's frames in a buffer of
// its own per connection instead, and hands each buffer to the connection as one send when it
// ends (or once the buffer holds 256 KiB): e.g. the answers a group commit completes together
// leave in one send(). Not for the loop threads, whose sends during a read round are corked
// already. Not copyable; lives on one thread.
class WriteCork {
 public:
  WriteCork();
  ~WriteCork();
  WriteCork(const WriteCork&) = delete;
  WriteCork& operator=(const WriteCork&) = delete;
  // The calling thread's outermost cork, or null.
  static WriteCork* Current();
  // Writes out what the calling thread's cork holds so far (nothing without a cork); the cork
  // stays.
  static void FlushCurrent();

 private:
  friend class Connection;
  // A server connection's frames held by this cork, in the order sent.
  struct Held {
    std::shared_ptr<Connection> conn;
    std::string bytes;
  };
  void Flush();
  // Keeps a server connection's frame in held_; false if the connection is closed.
  bool Hold(Connection* conn, std::string bytes);
  WriteCork* outer_;
  std::vector<std::shared_ptr<Connection>> touched_;
  std::vector<Held> held_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  ~Connection();
  uint64_t id() const { return id_; }
  // "ip:port" of the peer.
  const std::string& remote_address() const { return remote_address_; }
  // Encodes and sends a frame. Thread-safe. Returns false if the connection is closed.
  bool Send(const protocol::RemotingCommand& cmd);
  bool SendRaw(std::string bytes);
  // Closes the connection (asynchronously, on its loop). Thread-safe, idempotent.
  void Close(std::string_view reason);
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // True on the I/O thread while it reads and answers this connection's requests inline, on an
  // endpoint with a before_corked_flush: what is sent then is corked until that has run.
  bool in_read_round() const;
  // Which listener accepted it (0 for the first port of a server; 0 for client connections).
  int listener_index() const { return listener_index_; }

 private:
  friend class Endpoint;
  friend class EventLoop;
  friend class WriteCork;
  // How the bytes on the socket are framed: decided at creation for clients and servers with
  // TLS disabled, by the first byte a TLS-capable server reads.
  enum class Wire : uint8_t { kUndecided, kPlain, kTls };
  Connection(Endpoint* owner, EventLoop* loop, int fd, uint64_t id, std::string remote,
             int listener_index, size_t max_frame_bytes, Wire wire);
  void HandleEvents(uint32_t events);  // on the loop thread
  void HandleReadable();
  void ReadFrames();
  void HandleWritable();
  // Writes out_ as far as the socket takes it (out_mu_ held). False on a write error.
  bool WriteOutLocked();
  // Sends data from *done on until it is all written or the socket is full, advancing *done
  // (out_mu_ held, so frames stay in order). False on a write error.
  bool SendSomeLocked(std::string_view data, size_t* done);
  // Runs the endpoint's before_corked_flush; on false closes the connection and returns false.
  bool RunBeforeCorkedFlush();
  // Writes the queue as far as the socket takes it, unless the loop owns its writing
  // (want_write_); sets want_write_ and *want_epollout when bytes remain. False on a write
  // error.
  bool WriteQueued(bool* want_epollout);
  // Sends what was buffered while the loop thread processed this connection's input.
  void FlushCorked();
  // A send under the thread's WriteCork: queued (written at once past 256 KiB); false if the
  // connection is closed.
  bool SendUnderCork(WriteCork* cork, std::string bytes);
  // At the end of a WriteCork, from the application thread: writes what is queued.
  void FlushAfterCork();
  // A send outside any cork: written at once when nothing waits in the queue (and the socket
  // takes it), else queued behind what waits. False if the connection is closed.
  bool SendNow(std::string bytes);
  // Closes a connection whose unsent bytes passed max_pending_out_bytes (logged); false.
  bool ClosePendingOverflow();
  void CloseNow(std::string_view reason);  // on the loop thread
  // Server, first bytes: TLS (0x16) or plaintext, as tls_mode allows; false if closed.
  bool DecideWire(unsigned char first);
  // Ciphertext read from the socket: the plaintext goes to the decoder; false if closed.
  bool ReceiveTls(const char* data, size_t size);
  // Seals bytes for the wire when TLS is on (out_mu_ held); false if TLS failed.
  bool SealLocked(std::string* bytes);

  Endpoint* owner_;
  EventLoop* loop_;
  int fd_;
  uint64_t id_;
  std::string remote_address_;
  int listener_index_;
  protocol::FrameDecoder decoder_;
  std::mutex out_mu_;
  std::string out_;
  std::unique_ptr<TlsSession> tls_;  // guarded by out_mu_ (orders sealed records)
  Wire wire_;                        // written on the loop thread before tls_ is used
  std::string plain_in_;             // loop thread: decrypted bytes of one read
  bool want_write_ = false;
  // Loop thread: the current read round queued sends of its own. Only then does its end write
  // the queue, so that an application thread's WriteCork holding bytes there is not cut short.
  bool round_sent_ = false;
  std::atomic<bool> closed_{false};
  std::atomic<bool> close_requested_{false};
  std::atomic<int64_t> last_io_us_{0};  // last byte read or written (idle timeout)
  // A TLS handshake under way since this time (0: none); closed after kTlsHandshakeTimeoutUs.
  std::atomic<int64_t> handshake_since_us_{0};
  size_t accounted_in_ = 0;  // partial-frame bytes counted in the endpoint's budget
  // Updates the endpoint's partial-frame budget; false if this connection must be closed.
  bool AccountBuffered();
};
using ConnectionPtr = std::shared_ptr<Connection>;

// One request being handled, and the way back to its sender. Handlers answer through it from
// any thread; the first answer wins. The seam for tests: a RequestContext built from a Responder
// (no socket, no Connection) hands a processor a decoded request and captures its answer.
class RequestContext {
 public:
  // Receives the finished response (opaque, flag, serialize type and version filled in).
  using Responder = std::function<void(protocol::RemotingCommand)>;

  // Called once per answered request: its code, the response code and the microseconds from
  // arrival to the answer (metrics).
  using ResponseObserver =
      std::function<void(int32_t request_code, int32_t response_code, int64_t micros)>;

  RequestContext(ConnectionPtr conn, protocol::RemotingCommand request, int32_t version,
                 const ResponseObserver* observer = nullptr)
      : conn_(std::move(conn)),
        request_(std::move(request)),
        version_(version),
        observer_(observer && *observer ? observer : nullptr),
        start_us_(observer_ ? MonoMicros() : 0) {}
  // For tests: no connection; responses go to responder; remote_address() is peer.
  RequestContext(Responder responder, protocol::RemotingCommand request, int32_t version,
                 std::string peer = "127.0.0.1:1")
      : request_(std::move(request)),
        version_(version),
        responder_(std::move(responder)),
        peer_(std::move(peer)) {}
  // The connection the request came on; null for a context built from a Responder.
  const ConnectionPtr& connection() const { return conn_; }
  // "ip:port" of the sender.
  const std::string& remote_address() const;
  // True once the sender's connection closed (never for a Responder context).
  bool peer_closed() const;
  const protocol::RemotingCommand& request() const { return request_; }
  bool oneway() const { return request_.IsOneway(); }
  // Sends the response (opaque, response flag, serialize type and version are filled in).
  // Only the first call sends; one-way requests get no response.
  void Respond(protocol::RemotingCommand response);
  // Convenience: a response with only a code and remark.
  void RespondCode(int32_t code, std::string remark = {});
  bool responded() const { return responded_.load(); }
  // True while the request is handled inline in its connection's read round on a server whose
  // before_corked_flush will run before the response leaves (EndpointOptions).
  bool in_read_round() const;

 private:
  ConnectionPtr conn_;
  protocol::RemotingCommand request_;
  int32_t version_;
  Responder responder_;
  std::string peer_;
  const ResponseObserver* observer_ = nullptr;  // the endpoint's (outlives its requests)
  int64_t start_us_ = 0;
  std::atomic<bool> responded_{false};
};
using RequestContextPtr = std::shared_ptr<RequestContext>;
using Handler = std::function<void(const RequestContextPtr&)>;
using ResponseCallback = std::function<void(Result<protocol::RemotingCommand>)>;

// A TLS handshake not finished within this is closed (memory held by a trickling peer).
inline constexpr int64_t kTlsHandshakeTimeoutUs = 10'000'000;

struct EndpointOptions {
  std::string name = "remoting";
  int io_threads = 1;
  // A read round's sends (answers of requests handled inline, requests issued by response
  // callbacks) are corked and written with one send() when the round ends, or as soon as they
  // hold this many bytes: then the peer starts on the first of them while the round goes on, so
  // a pipelined stream keeps both sides busy instead of moving as one batch.
  size_t cork_flush_bytes = 16u << 10;
  size_t max_frame_bytes = protocol::kDefaultMaxFrameBytes;
  int32_t version = 409;  // MQVersion ordinal written into our frames
  protocol::LanguageCode language = protocol::LanguageCode::kCpp;
  // A connection whose unsent responses exceed this is closed (a peer that reads nothing), as
  // Netty's write-buffer high-water mark would stop it.
  size_t max_pending_out_bytes = 64u << 20;
  // Connections without any traffic for this long are closed (0 = never).
  int64_t idle_timeout_ms = 0;
  // Servers refuse connections beyond this many (0 = half of RLIMIT_NOFILE, so that the store
  // keeps descriptors for its files).
  size_t max_connections = 0;
  // Partial frames buffered by all connections together; past it, a connection that holds one
  // is closed (slowloris peers cannot exhaust memory).
  size_t max_buffered_in_bytes = 512u << 20;
  // Servers: told of every answered request (RequestContext::ResponseObserver); may be empty.
  // Runs on the answering thread: must be cheap and must not block.
  std::function<void(int32_t, int32_t, int64_t)> on_response;
  // Servers: checks each request before its handler (ACL). A non-OK status is answered
  // NO_PERMISSION (16) with its message and the handler does not run; oneway requests are
  // dropped. Runs on the handler's thread (its executor, or the I/O thread); thread-safe.
  std::function<Status(const protocol::RemotingCommand&, const std::string& remote_address)>
      authorize;
  // Servers: runs on the I/O thread at the end of each read round (the requests read and answered
  // inline in one go) before the round's corked responses are written, and before any earlier
  // write of them. The store's deferred appends are written here, so that no acknowledgement
  // leaves before its record is in the page cache. False: a deferred write failed; the round's
  // responses are withheld and the connection is closed. May be empty.
  std::function<bool()> before_corked_flush;
  // Every request this endpoint sends passes through it last (ACL signatures: AccessKey and
  // Signature added over the final extFields and body). Runs on the sending thread.
  std::function<void(protocol::RemotingCommand*)> sign_request;
  // TLS (tls.h). Servers: tls_mode says what each accepted connection may speak, told by its
  // first byte; tls (a server context) is required unless kDisabled. Clients: a non-null tls (a
  // client context) makes every connection TLS.
  TlsMode tls_mode = TlsMode::kDisabled;
  std::shared_ptr<TlsContext> tls;
};

// What servers and clients share: loops, processors, outstanding calls.
class Endpoint {
 public:
  explicit Endpoint(EndpointOptions options);
  virtual ~Endpoint();

  // Registers a handler for a request code. executor may be null (run on the I/O thread).
  // only_listener >= 0 restricts the code to connections accepted on that listener.
  void RegisterProcessor(int32_t code, Handler handler, ThreadPool* executor,
                         int only_listener = -1);
  // Called on the I/O thread after a connection closes (for whatever reason).
  void AddCloseListener(std::function<void(const ConnectionPtr&)> listener);

  // Sends a request on a connection; the callback gets the response or an error
  // (kTimeout, kUnavailable when the connection closes first).
  void InvokeAsync(const ConnectionPtr& conn, protocol::RemotingCommand request, int timeout_ms,
                   ResponseCallback cb);
  Result<protocol::RemotingCommand> InvokeSync(const ConnectionPtr& conn,
                                               protocol::RemotingCommand request, int timeout_ms);
  bool InvokeOneway(const ConnectionPtr& conn, protocol::RemotingCommand request);

  const EndpointOptions& options() const { return options_; }
  // Connections currently open.
  size_t connection_count() const;

 protected:
  void StartLoops();
  void StopLoops();  // closes every connection and joins the loops
  // client: a connection we opened (TLS when options().tls is set).
  // Fails (the fd closed) only when a client's TLS session cannot start.
  Result<ConnectionPtr> Adopt(int fd, std::string remote, int listener_index, bool client);
  EventLoop* NextLoop();
  std::vector<std::unique_ptr<EventLoop>> loops_;

 private:
  friend class Connection;
  void OnFrame(const ConnectionPtr& conn, protocol::RemotingCommand cmd);
  void OnClosed(const ConnectionPtr& conn);
  void ScanTimeouts();
  void ScanIdle();

 protected:
  // Whether a new connection from peer may be kept (the connection limit); logs a refusal.
  bool AdmitConnection(const std::string& peer);
  // Raises RLIMIT_NOFILE to its hard limit and derives max_connections when it is 0.
  void ResolveConnectionLimit();

 private:
  int32_t NextOpaque();

  struct Processor {
    Handler handler;
    ThreadPool* executor;
    int only_listener;
  };
  struct Pending {
    ResponseCallback cb;
    int64_t deadline_us;
    uint64_t conn_id;
  };

  EndpointOptions options_;
  std::unordered_map<int32_t, Processor> processors_;
  std::vector<std::function<void(const ConnectionPtr&)>> close_listeners_;
  std::mutex pending_mu_;
  std::unordered_map<int32_t, Pending> pending_;
  std::atomic<int32_t> next_opaque_{1};
  std::atomic<uint64_t> next_conn_id_{1};
  std::atomic<size_t> next_loop_{0};
  mutable std::mutex conns_mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> conns_;
  std::atomic<int64_t> buffered_in_{0};  // partial frames of all connections
  std::atomic<int64_t> last_refusal_log_us_{0};
  std::unique_ptr<Scheduler> scanner_;
};

struct ListenAddress {
  std::string host = "0.0.0.0";
  int port = 0;  // 0 = any free port
};

class RemotingServer : public Endpoint {
 public:
  explicit RemotingServer(EndpointOptions options);
  ~RemotingServer() override;
  // Binds every listener, then starts accepting. kIOError names the address that failed.
  Status Start(const std::vector<ListenAddress>& listeners);
  // Stops accepting, closes connections, joins threads. Idempotent.
  void Shutdown();
  // The bound port of listener i (useful with port 0).
  int port(size_t i = 0) const { return ports_.at(i); }

 private:
  class Acceptor;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::vector<int> ports_;
  bool started_ = false;
};

class RemotingClient : public Endpoint {
 public:
  explicit RemotingClient(EndpointOptions options, int connect_timeout_ms = 3000);
  ~RemotingClient() override;
  void Shutdown();

  // The connection to "host:port", connecting if needed (blocking up to the connect timeout).
  Result<ConnectionPtr> GetConnection(const std::string& addr);
  Result<protocol::RemotingCommand> InvokeSync(const std::string& addr,
                                               protocol::RemotingCommand request, int timeout_ms);
  void InvokeAsync(const std::string& addr, protocol::RemotingCommand request, int timeout_ms,
                   ResponseCallback cb);
  Status InvokeOneway(const std::string& addr, protocol::RemotingCommand request);
  void CloseConnection(const std::string& addr);

  using Endpoint::InvokeAsync;
  using Endpoint::InvokeOneway;
  using Endpoint::InvokeSync;

 private:
  int connect_timeout_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, ConnectionPtr> by_addr_;
  bool shut_down_ = false;
};

// "ip:port" of a connected socket's peer (or local side).
std::string PeerAddress(int fd, bool local = false);

}  // namespace ramjet::remoting
