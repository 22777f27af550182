// EtcdClient: the part of etcd's v3 API that the failover controller needs (KV range, put,
// transactions; leases: grant, keep-alive, revoke), spoken as JSON over HTTP/1.1 to etcd's
// gRPC gateway (/v3/...), the way `curl` talks to etcd. Keys and values are bytes (base64 on the
// wire, raw here); revisions and lease ids are int64.
//
// Every call opens one connection ("Connection: close"), so calls never share state: an
// EtcdClient may be used from any number of threads at once. Calls try each endpoint in turn,
// starting with the last one that answered, and fail with kUnavailable when none answers within
// the timeout.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"

namespace ramjet::controller {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

// One comparison of a transaction; all compare with EQUAL.
struct Compare {
  enum Kind { kCreateRevision, kModRevision, kValue };
  std::string key;
  Kind kind = kCreateRevision;
  int64_t revision = 0;  // kCreateRevision (0: the key does not exist) / kModRevision
  std::string value;     // kValue
};

// One operation of a transaction.
struct Op {
  enum Kind { kPut, kDelete, kRange };
  Kind kind = kPut;
  std::string key;
  std::string value;  // kPut
  int64_t lease = 0;  // kPut: attach to this lease (0: none)
  static Op Put(std::string k, std::string v, int64_t lease = 0) {
    return Op{kPut, std::move(k), std::move(v), lease};
  }
  static Op Delete(std::string k) { return Op{kDelete, std::move(k), {}, 0}; }
  static Op Range(std::string k) { return Op{kRange, std::move(k), {}, 0}; }
};

struct TxnResult {
  bool succeeded = false;
  // The key-values of each kRange operation of the branch that ran, in order.
  std::vector<std::vector<KeyValue>> ranges;
};

class EtcdClient {
 public:
  // endpoints: "host:port" (an IPv4 address or localhost), optionally with "http://".
  EtcdClient(std::vector<std::string> endpoints, int timeout_ms);
  // "a:2379;b:2379" or "http://a:2379,http://b:2379" -> endpoints. Refuses an empty list,
  // https:// (TLS is not spoken here) and malformed host:port.
  static Result<std::vector<std::string>> ParseEndpoints(std::string_view list);

  Result<std::optional<KeyValue>> Get(const std::string& key);
  // Every key starting with prefix, in key order.
  Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix);
  Status Put(const std::string& key, const std::string& value, int64_t lease = 0);
  Status Delete(const std::string& key);
  Result<TxnResult> Txn(const std::vector<Compare>& compare, const std::vector<Op>& success,
                        const std::vector<Op>& failure);
  // A new lease of ttl_s seconds: its id.
  Result<int64_t> GrantLease(int64_t ttl_s);
  // Renews a lease: its remaining TTL in seconds, 0 when it has expired (or never existed).
  Result<int64_t> KeepAlive(int64_t lease);
  Status Revoke(int64_t lease);

 private:
  Result<std::string> Call(std::string_view path, const std::string& body);

  const std::vector<std::string> endpoints_;
  const int timeout_ms_;
  std::atomic<size_t> current_{0};
};

}  // namespace ramjet::controller
