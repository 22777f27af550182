#include "ramjet/metrics/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace ramjet::metrics {

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Request::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpServer::Request::Param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

void HttpServer::Get(const std::string& path, Handler handler) {
  handlers_[path] = std::move(handler);
}

void HttpServer::Route(const std::string& prefix, RouteHandler handler) {
  routes_.emplace_back(prefix, std::move(handler));
}

namespace {

// A route prefix as an httplib pattern (a regex over the whole path): "/api" takes "/api" and
// "/api/...", "/" every path. Prefixes are the server's own literals; regex characters in them
// are escaped anyway.
std::string PatternOf(const std::string& prefix) {
  if (prefix == "/") return "/.*";
  std::string out;
  for (char c : prefix) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '/' && c != '_' && c != '-') {
      out += '\\';
    }
    out += c;
  }
  return out + "(/.*)?";
}

void Send(const HttpServer::Reply& r, httplib::Response* res) {
  res->status = r.status;
  for (const auto& [k, v] : r.headers) res->set_header(k, v);
  res->set_content(r.body, r.content_type);
}

}  // namespace

void HttpServer::InstallRoute(const std::string& prefix, const RouteHandler& handler) {
  auto serve = [h = handler](const httplib::Request& req, httplib::Response& res) {
    Request r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.query[k] = v;
    for (const auto& [k, v] : req.headers) {
      std::string name = k;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = v;
    }
    r.body = req.body;
    Send(h(r), &res);
  };
  const std::string pattern = PatternOf(prefix);
  server_->Get(pattern, serve);
  server_->Post(pattern, serve);
  server_->Put(pattern, serve);
  server_->Delete(pattern, serve);
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
  server_->set_payload_max_length(max_body_);
  // httplib tries patterns in registration order: exact GET paths first, then the routes,
  // longest prefix first.
  for (const auto& [path, handler] : handlers_) {
    server_->Get(
        path, [h = handler](const httplib::Request&, httplib::Response& res) { Send(h(), &res); });
  }
  std::vector<std::pair<std::string, RouteHandler>> routes = routes_;
  std::stable_sort(routes.begin(), routes.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [prefix, handler] : routes) InstallRoute(prefix, handler);
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    // httplib calls this for every answer >= 400: keep a handler's own body (the API's JSON).
    if (res.status == 404 && res.body.empty()) res.set_content("not found\n", "text/plain");
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
  // httplib's stop() does nothing until the listener runs: a Stop right after Start would
  // otherwise wait forever in join. Bounded: a listener that cannot start ends its thread.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::OK();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace ramjet::metrics
