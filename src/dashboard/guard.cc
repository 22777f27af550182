#include "guard.h"

#include <cctype>
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

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsIpv4(const std::string& h) {
  int parts = 0;
  size_t at = 0;
  while (at <= h.size()) {
    size_t dot = h.find('.', at);
    if (dot == std::string::npos) dot = h.size();
    const std::string part = h.substr(at, dot - at);
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string::npos || std::stoi(part) > 255) {
      return false;
    }
    ++parts;
    at = dot + 1;
  }
  return parts == 4;
}

}  // namespace

Status CheckHost(const metrics::HttpServer::Request& r, const std::vector<std::string>& allowed) {
  const std::string host = Lower(r.Header("host"));
  std::string name = host;
  if (!name.empty() && name[0] == '[') {  // [v6]:port
    const size_t close = name.find(']');
    const std::string rest = close == std::string::npos ? "" : name.substr(close + 1);
    const bool port_ok =
        rest.empty() || (rest[0] == ':' && rest.size() > 1 &&
                         rest.find_first_not_of("0123456789", 1) == std::string::npos);
    if (close != std::string::npos && close > 1 &&
        name.find_first_not_of("0123456789abcdef:.", 1) == close && port_ok) {
      return Status::OK();
    }
  } else {
    name = name.substr(0, name.rfind(':') == std::string::npos ? name.size() : name.rfind(':'));
    if (name == "localhost" || IsIpv4(name)) return Status::OK();
    for (const auto& a : allowed) {
      if (Lower(a) == name) return Status::OK();
    }
  }
  return Status::PermissionDenied("Host " + (host.empty() ? "(none)" : host) +
                                  " is not this dashboard's address (add it to "
                                  "dashboardAllowedHosts)");
}

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
