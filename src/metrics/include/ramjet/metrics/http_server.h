// A small embedded HTTP/1.1 server on Debian's cpp-httplib: the Prometheus endpoint (/metrics,
// GET only) and the dashboard (static files and a JSON API under one prefix, any method).
// Exact GET paths answer with their handler; a route takes every method on paths under its
// prefix; anything else is 404.
//
// Threading: Start binds on the caller's thread (so a taken port is an error there), then serves
// on its own thread with httplib's worker pool; handlers run on those workers concurrently and
// must be thread-safe. Stop closes the listener and joins. Not copyable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ramjet/base/status.h"

namespace httplib {
class Server;
}

namespace ramjet::metrics {

class HttpServer {
 public:
  struct Reply {
    Reply() = default;
    explicit Reply(std::string b) : body(std::move(b)) {}
    std::string body;
    std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  };
  struct Request {
    std::string method;                          // GET, POST, DELETE, PUT, HEAD
    std::string path;                            // decoded path, without the query
    std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
    std::map<std::string, std::string> headers;  // names in lower case (last one wins)
    std::string body;
    std::string Header(const std::string& lower_name) const;
    std::string Param(const std::string& name) const;
  };
  using Handler = std::function<Reply()>;
  using RouteHandler = std::function<Reply(const Request&)>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // REQUIRES: before Start.
  void Get(const std::string& path, Handler handler);
  // Every method on `prefix` and the paths under it ("/api" takes "/api" and "/api/..."); "/"
  // takes every path no other route or GET path has. REQUIRES: before Start.
  void Route(const std::string& prefix, RouteHandler handler);
  // Largest request body accepted (default 64 KiB; a bigger one is 413). REQUIRES: before Start.
  void set_max_body(size_t bytes) { max_body_ = bytes; }
  // Binds host:port (0 = any free port) without SO_REUSEPORT; kIOError names the address.
  [[nodiscard]] Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  void InstallRoute(const std::string& prefix, const RouteHandler& handler);

  std::unique_ptr<httplib::Server> server_;
  std::map<std::string, Handler> handlers_;
  std::vector<std::pair<std::string, RouteHandler>> routes_;
  size_t max_body_ = 64 * 1024;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ramjet::metrics
