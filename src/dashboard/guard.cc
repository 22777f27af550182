#include "guard.h"

#include <string>

namespace ramjet::dashboard {

bool IsWrite(const metrics::HttpServer::Request& r) {
  return r.method != "GET" && r.method != "HEAD";
}

namespace {

// "http://host:port/..." -> "host:port" (the scheme's default port is not added: browsers send
// Origin and Host the same way).
std::string HostOfOrigin(const std::string& origin) {
  const size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return "";
  std::string rest = origin.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

}  // namespace

Status CheckWrite(const metrics::HttpServer::Request& r) {
  const std::string type = r.Header("content-type");
  if (type.rfind("application/json", 0) != 0) {
    return Status::PermissionDenied("a write must be sent as application/json");
  }
  if (r.Header("x-ramjet-dashboard") != "1") {
    return Status::PermissionDenied("a write must carry the header X-Ramjet-Dashboard: 1");
  }
  const std::string origin = r.Header("origin");
  if (!origin.empty() && (origin == "null" || HostOfOrigin(origin) != r.Header("host"))) {
    return Status::PermissionDenied("cross-site write refused (Origin " + origin + ")");
  }
  const std::string site = r.Header("sec-fetch-site");
  if (!site.empty() && site != "same-origin" && site != "none") {
    return Status::PermissionDenied("cross-site write refused (Sec-Fetch-Site " + site + ")");
  }
  return Status::OK();
}

}  // namespace ramjet::dashboard
