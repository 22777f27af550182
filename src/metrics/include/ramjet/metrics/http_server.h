// A small HTTP/1.1 server for GET endpoints (/metrics for Prometheus), on Debian's cpp-httplib.
// Each handler returns the body and its content type; anything else is 404, and methods other
// than GET/HEAD are 405.
//
// Threading: Start binds on the caller's thread (so a taken port is an error there), then serves
// on its own thread with httplib's worker pool; handlers run on those workers concurrently.
// Stop closes the listener and joins. Not copyable.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "ramjet/base/status.h"

namespace httplib {
class Server;
}

namespace ramjet::metrics {

class HttpServer {
 public:
  struct Reply {
    std::string body;
    std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  };
  using Handler = std::function<Reply()>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // REQUIRES: before Start.
  void Get(const std::string& path, Handler handler);
  // Binds host:port (0 = any free port) without SO_REUSEPORT; kIOError names the address.
  [[nodiscard]] Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::map<std::string, Handler> handlers_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ramjet::metrics
