#include "ramjet/controller/etcd_client.h"

#include <unistd.h>

#include <charconv>

#include "etcd_codec.h"
#include "ramjet/base/clock.h"
#include "ramjet/ha/socket_util.h"

namespace ramjet::controller {
namespace {

constexpr size_t kMaxResponse = 16 << 20;

// One request on one connection: reads until the server closes it.
Result<std::string> Exchange(const std::string& endpoint, const std::string& request,
                             int timeout_ms) {
  RJ_ASSIGN_OR_RETURN(int fd, ha::Connect(endpoint, timeout_ms));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  RJ_RETURN_IF_ERROR(ha::WriteAll(fd, request));
  const int64_t deadline = NowMillis() + timeout_ms;
  std::string raw;
  char buf[16384];
  for (;;) {
    const int64_t left = deadline - NowMillis();
    if (left <= 0) return Status::Timeout("etcd " + endpoint + ": no answer in time");
    if (ha::PollRead(fd, -1, static_cast<int>(left)) == 0) continue;
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::FromErrno(errno, "etcd " + endpoint);
    }
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > kMaxResponse) return Status::Corruption("etcd answer over 16 MiB");
  }
  return raw;
}

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, int timeout_ms)
    : endpoints_(std::move(endpoints)), timeout_ms_(timeout_ms) {}

Result<std::vector<std::string>> EtcdClient::ParseEndpoints(std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find_first_of(";,", pos);
    if (end == std::string_view::npos) end = list.size();
    std::string_view e = list.substr(pos, end - pos);
    pos = end + 1;
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    if (e.empty()) continue;
    if (e.substr(0, 8) == "https://")
      return Status::InvalidArgument("etcd endpoint " + std::string(e) + ": TLS is not supported");
    if (e.substr(0, 7) == "http://") e.remove_prefix(7);
    if (!e.empty() && e.back() == '/') e.remove_suffix(1);
    const size_t colon = e.rfind(':');
    int port = 0;
    if (colon == std::string_view::npos || colon == 0 ||
        std::from_chars(e.data() + colon + 1, e.data() + e.size(), port).ptr !=
            e.data() + e.size() ||
        port <= 0 || port > 65535) {
      return Status::InvalidArgument("etcd endpoint " + std::string(e) + ": want host:port");
    }
    std::string host(e.substr(0, colon));
    if (host == "localhost") host = "127.0.0.1";
    out.push_back(host + ":" + std::to_string(port));
  }
  if (out.empty()) return Status::InvalidArgument("no etcd endpoint");
  return out;
}

Result<std::string> EtcdClient::Call(std::string_view path, const std::string& body) {
  Status last = Status::Unavailable("no etcd endpoint");
  const size_t start = current_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t idx = (start + i) % endpoints_.size();
    const std::string& ep = endpoints_[idx];
    auto raw = Exchange(ep, EncodeHttpPost(ep, path, body), timeout_ms_);
    if (!raw.ok()) {
      last = Status::Unavailable(raw.status().ToString());
      continue;
    }
    auto resp = ParseHttpResponse(*raw);
    if (!resp.ok()) {
      last = resp.status();
      continue;
    }
    current_.store(idx);
    // Errors with a body ({"error": ...}) are decoded by the caller; 5xx without one are not.
    if (resp->status >= 500 && resp->body.find("\"error\"") == std::string::npos) {
      last = Status::Unavailable("etcd " + ep + ": HTTP " + std::to_string(resp->status));
      continue;
    }
    return std::move(resp->body);
  }
  return last;
}

Result<std::optional<KeyValue>> EtcdClient::Get(const std::string& key) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", EncodeRangeRequest(key, false)));
  RJ_ASSIGN_OR_RETURN(auto kvs, DecodeRangeResponse(body));
  if (kvs.empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(kvs.front()));
}

Result<std::vector<KeyValue>> EtcdClient::GetPrefix(const std::string& prefix) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/range", EncodeRangeRequest(prefix, true)));
  return DecodeRangeResponse(body);
}

Status EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/put", EncodePutRequest(key, value, lease)));
  return DecodeEmptyResponse(body);
}

Status EtcdClient::Delete(const std::string& key) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/kv/deleterange", EncodeDeleteRequest(key)));
  return DecodeEmptyResponse(body);
}

Result<TxnResult> EtcdClient::Txn(const std::vector<Compare>& compare,
                                  const std::vector<Op>& success, const std::vector<Op>& failure) {
  RJ_ASSIGN_OR_RETURN(std::string body,
                      Call("/v3/kv/txn", EncodeTxnRequest(compare, success, failure)));
  return DecodeTxnResponse(body);
}

Result<int64_t> EtcdClient::GrantLease(int64_t ttl_s) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/grant", EncodeLeaseGrantRequest(ttl_s)));
  return DecodeLeaseGrantResponse(body);
}

Result<int64_t> EtcdClient::KeepAlive(int64_t lease) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/keepalive", EncodeLeaseIdRequest(lease)));
  return DecodeKeepAliveResponse(body);
}

Status EtcdClient::Revoke(int64_t lease) {
  RJ_ASSIGN_OR_RETURN(std::string body, Call("/v3/lease/revoke", EncodeLeaseIdRequest(lease)));
  Status s = DecodeEmptyResponse(body);
  return s.code() == StatusCode::kNotFound ? Status::OK() : s;
}

}  // namespace ramjet::controller
