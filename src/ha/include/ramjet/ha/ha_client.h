// HaClient: the slave side of RocketMQ 4.x replication (HAService.HAClient). It connects to the
// master's HA port, reports its max CommitLog offset (start point, acknowledgement and heartbeat
// in one), and appends the raw CommitLog bytes it receives at the same offsets; the store's
// dispatcher builds the consume queues and index from them.
//
// Threading: one thread ("ha-client"). SetMasterAddress and the accessors may be called from any
// thread; Start/Stop from the owner.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ramjet/base/mutex.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/store/message_store.h"

namespace ramjet::ha {

struct HaClientOptions {
  std::string master_address;                // haMasterAddress; else learned from registration
  int64_t heartbeat_interval_ms = 5000;      // haSendHeartbeatInterval
  int64_t housekeeping_interval_ms = 20000;  // haHousekeepingInterval
  int64_t reconnect_interval_ms = 5000;      // after a failed connect, as RocketMQ
  int64_t max_frame_body = 1LL << 30;        // at most one segment per frame
  // The local address to connect from (brokerIP1), so that the master can tell the members of
  // a group apart by address even when they share a host; empty: the default.
  std::string bind_ip;
};

class HaClient {
 public:
  // REQUIRES: store outlives this object.
  HaClient(HaClientOptions options, store::MessageStore* store);
  ~HaClient() { Stop(); }
  HaClient(const HaClient&) = delete;
  HaClient& operator=(const HaClient&) = delete;

  void Start();
  void Stop() { thread_.Stop(); }
  // The master's HA address ("ip:port"), e.g. from REGISTER_BROKER's haServerAddr. A change
  // closes the current connection; empty disconnects.
  void SetMasterAddress(const std::string& address);
  std::string master_address() const;
  bool connected() const { return connected_.load(); }

 private:
  void Run(ServiceThread& self);
  // One connection's life; returns when it ends.
  void Session(ServiceThread& self, int fd, const std::string& address);

  const HaClientOptions options_;
  store::MessageStore* const store_;
  mutable Mutex mu_;
  std::string address_ RJ_GUARDED_BY(mu_);
  std::atomic<uint64_t> address_version_{0};
  std::atomic<bool> connected_{false};
  ServiceThread thread_{"ha-client"};
};

}  // namespace ramjet::ha
