// Same-origin protection of the dashboard's writes (POST / PUT / DELETE under /api): a write
// must carry Content-Type: application/json and X-Ramjet-Dashboard: 1 (a cross-site form or a
// "simple" fetch cannot; anything else needs a CORS preflight, which this server never grants),
// an Origin, when present, whose host:port is the request's Host, and a Sec-Fetch-Site, when
// present, of same-origin or none. Reads need nothing: no CORS header is ever sent, so another
// site cannot read the answers.
//
// Every /api request (reads too) must also name the server in its Host header by an IP literal,
// "localhost", or one of the configured allowed host names: a DNS-rebinding page (its own name
// resolving to the dashboard's address) is then refused, as its Host is its own name.
// Threading: pure functions.
#pragma once

#include <string>
#include <vector>

#include "ramjet/base/status.h"
#include "ramjet/metrics/http_server.h"

namespace ramjet::dashboard {

bool IsWrite(const metrics::HttpServer::Request& r);
// OK when Host (without its port) is an IPv4 or bracketed IPv6 literal, "localhost", or in
// `allowed` (exact, case-insensitive); kPermissionDenied otherwise.
[[nodiscard]] Status CheckHost(const metrics::HttpServer::Request& r,
                               const std::vector<std::string>& allowed);
// OK, or kPermissionDenied saying which rule the write broke.
[[nodiscard]] Status CheckWrite(const metrics::HttpServer::Request& r);

}  // namespace ramjet::dashboard
