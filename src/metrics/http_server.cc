#include "ramjet/metrics/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

namespace ramjet::metrics {

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& path, Handler handler) {
  handlers_[path] = std::move(handler);
}

Status HttpServer::Start(const std::string& host, int port) {
  // httplib's default options add SO_REUSEPORT on some builds: two brokers would then share a
  // port silently. Only SO_REUSEADDR (a restart reuses a port in TIME_WAIT).
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_payload_max_length(64 * 1024);
  for (const auto& [path, handler] : handlers_) {
    server_->Get(path, [h = handler](const httplib::Request&, httplib::Response& res) {
      Reply r = h();
      res.set_content(r.body, r.content_type);
    });
  }
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) res.set_content("not found\n", "text/plain");
  });
  const std::string bind_host = host.empty() ? "0.0.0.0" : host;
  if (port == 0) {
    port_ = server_->bind_to_any_port(bind_host);
    if (port_ < 0) return Status::IOError("HTTP: cannot bind " + bind_host);
  } else {
    if (!server_->bind_to_port(bind_host, port)) {
      return Status::IOError("HTTP: cannot bind " + bind_host + ":" + std::to_string(port));
    }
    port_ = port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::OK();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace ramjet::metrics
