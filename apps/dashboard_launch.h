// Starts the web dashboard next to a broker (ramjet-broker, ramjet-standalone) when
// dashboardPort is not -1. A taken port is logged and the broker runs without it.
#pragma once

#include <memory>

#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/broker/broker.h"
#include "ramjet/dashboard/dashboard.h"

namespace ramjet::apps {

inline std::unique_ptr<dashboard::Dashboard> StartDashboard(const broker::BrokerConfig& c) {
  if (c.dashboard_port < 0) return nullptr;
  dashboard::DashboardOptions o;
  o.host = c.dashboard_host.empty() ? c.listen_address : c.dashboard_host;
  o.port = c.dashboard_port;
  o.namesrv_addr = c.namesrv_addr;
  o.allowed_hosts = SplitList(c.dashboard_allowed_hosts, ',');
  o.credentials.access_key = c.inner_access_key;
  o.credentials.secret_key = c.inner_secret_key;
  if (o.credentials.empty()) {  // ACL 2.0: the broker's own user
    std::tie(o.credentials.access_key, o.credentials.secret_key) = c.InnerClientCredentials();
  }
  if (o.credentials.empty() && (c.acl_enable || c.authentication_enabled)) {
    // Every call would be refused (and logged by the broker every sample): say it once here.
    RJ_LOG(kWarn, "dashboard",
           "ACL is on but innerAccessKey/innerSecretKey (or innerClientAuthenticationCredentials) "
           "are not set: the brokers refuse the dashboard's calls; no TPS history is sampled");
    o.sample_interval_ms = 0;
  }
  // The dashboard reaches this broker too: over TLS with tlsEnable or when it enforces TLS.
  if (auto t = c.tls.ClientOptions(c.tls.mode == "enforcing")) {
    auto ctx = remoting::TlsContext::ForClient(*t);
    if (!ctx.ok()) {
      RJ_LOG(kError, "dashboard", "tlsEnable: %s: no dashboard", ctx.status().ToString().c_str());
      return nullptr;
    }
    o.tls = *ctx;
  }
  auto d = dashboard::Dashboard::Start(o);
  if (!d.ok()) {
    RJ_LOG(kError, "dashboard", "%s: no dashboard (set dashboardPort)",
           d.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*d);
}

}  // namespace ramjet::apps
