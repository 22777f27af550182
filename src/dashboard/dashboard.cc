#include "ramjet/dashboard/dashboard.h"

#include <unistd.h>

#include "api.h"
#include "assets.h"
#include "history.h"
#include "ramjet/base/logging.h"

namespace ramjet::dashboard {

namespace {

metrics::HttpServer::Reply ServeAsset(const metrics::HttpServer::Request& r) {
  metrics::HttpServer::Reply reply;
  if (r.method != "GET" && r.method != "HEAD") {
    reply.status = 405;
    reply.body = "method not allowed\n";
    return reply;
  }
  const Asset* a = FindAsset(r.path == "/" ? "/index.html" : r.path);
  if (a == nullptr) {
    reply.status = 404;
    reply.body = "not found\n";
    return reply;
  }
  reply.body = std::string(a->data);
  reply.content_type = std::string(a->content_type);
  // The page only runs its own script and styles, and is never framed by another site.
  reply.headers = {{"Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                    "frame-ancestors 'none'"},
                   {"X-Frame-Options", "DENY"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Referrer-Policy", "same-origin"}};
  return reply;
}

}  // namespace

class Dashboard::Impl {
 public:
  explicit Impl(const DashboardOptions& o)
      : admin_(o.namesrv_addr, o.admin_timeout_ms, o.credentials, o.tls),
        producer_("RAMJET_DASHBOARD", ProducerConfig(o)),
        history_(&admin_, o.sample_interval_ms),
        api_(&admin_, &producer_, &history_, o.trace_topic, o.allowed_hosts) {}

  static client::ClientConfig ProducerConfig(const DashboardOptions& o) {
    client::ClientConfig c;
    c.namesrv_addr = o.namesrv_addr;
    c.instance_name = "dashboard-" + std::to_string(::getpid());
    c.credentials = o.credentials;
    c.tls = o.tls;
    return c;
  }

  Status Start(const DashboardOptions& o) {
    http_.set_max_body(4 * 1024 * 1024 + 64 * 1024);  // a test message of the largest size
    http_.Route("/api", [this](const metrics::HttpServer::Request& r) { return api_.Handle(r); });
    http_.Route("/", &ServeAsset);
    RJ_RETURN_IF_ERROR(http_.Start(o.host, o.port));  // a taken port fails before anything runs
    if (o.sample_interval_ms > 0) history_.Start();
    return Status::OK();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    http_.Stop();
    history_.Stop();
    producer_.Shutdown();
  }

  int port() const { return http_.port(); }

 private:
  admin::Admin admin_;
  client::Producer producer_;
  History history_;
  Api api_;
  metrics::HttpServer http_;
  bool stopped_ = false;  // owner thread only
};

Result<std::unique_ptr<Dashboard>> Dashboard::Start(const DashboardOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  if (Status s = impl->Start(options); !s.ok()) {
    impl->Stop();
    return s;
  }
  RJ_LOG(kInfo, "dashboard", "dashboard on http://%s:%d/", options.host.c_str(), impl->port());
  return std::unique_ptr<Dashboard>(new Dashboard(std::move(impl)));
}

Dashboard::Dashboard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dashboard::~Dashboard() { Stop(); }

void Dashboard::Stop() {
  if (impl_) impl_->Stop();
}

int Dashboard::port() const { return impl_->port(); }

}  // namespace ramjet::dashboard
