// The web dashboard: static pages (built from web/dashboard at build time and embedded in the
// binary) and the JSON API of docs/dashboard-api.md, on one HTTP port. The API is backed by the
// admin library, so the dashboard of any broker shows the whole cluster of its name servers.
//
// Threading: Start binds on the caller's thread and then serves on the HTTP server's workers;
// API calls run concurrently on those workers (the admin client is thread-safe). A sampler
// thread keeps the TPS history of the overview chart. Stop (or the destructor) joins both.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ramjet/acl/signature.h"
#include "ramjet/base/result.h"
#include "ramjet/remoting/tls.h"

namespace ramjet::dashboard {

struct DashboardOptions {
  std::string host = "0.0.0.0";
  int port = 8080;           // 0: any free port
  std::string namesrv_addr;  // ';'-separated name servers the admin calls go to
  std::string trace_topic = "RMQ_SYS_TRACE_TOPIC";
  // Host names (besides IP literals and localhost) requests may name the dashboard by; any other
  // Host is refused, which stops DNS-rebinding pages.
  std::vector<std::string> allowed_hosts;
  // The ACL account the dashboard's admin calls and test messages are signed with (needed when
  // the brokers have aclEnable; an admin account for the pages that change things).
  acl::Credentials credentials;
  std::shared_ptr<remoting::TlsContext> tls;  // the broker's tlsEnable (null: plaintext)
  int admin_timeout_ms = 5000;
  // TPS history: one sample per interval, the last hour kept (0: no sampler, no chart).
  int sample_interval_ms = 5000;
};

class Dashboard {
 public:
  // Binds the port (a taken port is kIOError) and starts serving.
  static Result<std::unique_ptr<Dashboard>> Start(const DashboardOptions& options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  void Stop();
  int port() const;

 private:
  class Impl;
  explicit Dashboard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ramjet::dashboard
