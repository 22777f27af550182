// The name server: keeps the routing table that brokers register into and clients read
// (RocketMQ's NamesrvController + RouteInfoManager + KVConfigManager).
//
// Threading model: requests run on one bounded executor ("namesrv-proc"); the route tables are
// guarded by one reader/writer lock (registrations write, route lookups read). A scheduler
// thread expires brokers that stopped registering; connection-close events (I/O threads) remove
// the brokers registered over that connection at once. Only the KV store is persisted
// (kvConfigPath); routes are rebuilt from registrations after a restart.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>

#include "ramjet/base/config.h"
#include "ramjet/base/result.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/remoting/limits.h"
#include "ramjet/remoting/tls_config.h"

namespace ramjet::namesrv {

struct NamesrvConfig {
  std::string listen_address = "0.0.0.0";
  int32_t listen_port = 9876;                            // listenPort
  std::string kv_config_path = "namesrv/kvConfig.json";  // kvConfigPath
  int64_t broker_channel_expired_millis = 120000;        // brokerChannelExpiredMillis
  int64_t scan_not_active_broker_interval = 10000;       // scanNotActiveBrokerInterval (ms)
  bool order_message_enable = false;                     // orderMessageEnable
  int32_t default_thread_pool_nums = 8;                  // defaultThreadPoolNums
  int32_t server_worker_threads = 2;                     // serverWorkerThreads (I/O loops)
  int64_t max_frame_bytes = 16 * 1024 * 1024;            // com.rocketmq.remoting.frameMaxLength
  // clusterAccessKey / clusterSecretKey: when set, requests that change routes or KV config
  // (REGISTER_BROKER, UNREGISTER_BROKER, PUT/DELETE_KV_CONFIG, ...) must be signed with them.
  std::string cluster_access_key;
  std::string cluster_secret_key;
  remoting::TlsConfig tls;                               // tlsMode, tlsServerCertPath, ...
  remoting::ConnectionLimits limits;                     // serverChannelMaxIdleTimeSeconds, ...
  // The Prometheus endpoint /metrics (-1 = off). Not the broker's 5557: a name server and a
  // broker often share a host.
  int32_t metrics_prom_exporter_port = 5556;  // metricsPromExporterPort

  void Bind(ConfigBinder* binder);
};

// The routing tables (RouteInfoManager). Thread-safe.
class RouteInfoManager {
 public:
  struct RegisterResult {
    std::string ha_server_addr;  // of the master, for slaves
    std::string master_addr;
  };
  RegisterResult RegisterBroker(const std::string& cluster, const std::string& broker_addr,
                                const std::string& broker_name, int64_t broker_id,
                                const std::string& ha_server_addr,
                                const protocol::TopicConfigSerializeWrapper& topics,
                                uint64_t connection_id, int64_t now_ms);
  void UnregisterBroker(const std::string& cluster, const std::string& broker_addr,
                        const std::string& broker_name, int64_t broker_id);
  // Returns the number of brokers removed.
  int ScanNotActiveBrokers(int64_t now_ms, int64_t expire_ms);
  void OnConnectionClosed(uint64_t connection_id);
  bool IsBrokerTopicConfigChanged(const std::string& broker_addr,
                                  const protocol::DataVersion& version) const;
  std::optional<protocol::DataVersion> QueryBrokerDataVersion(const std::string& addr) const;
  std::optional<protocol::TopicRouteData> PickupTopicRouteData(const std::string& topic) const;
  protocol::ClusterInfo GetClusterInfo() const;
  protocol::TopicList GetAllTopicList() const;
  protocol::TopicList GetTopicsByCluster(const std::string& cluster) const;
  void DeleteTopic(const std::string& topic, const std::string& cluster /* empty = all */);
  // WIPE_WRITE_PERM_OF_BROKER / ADD_WRITE_PERM_OF_BROKER: clears or sets PERM_WRITE in the
  // broker's queue data of every topic until its next topic-config change; returns how many
  // topics it touched.
  int SetWritePermOfBroker(const std::string& broker_name, bool writable);
  // GET_SYSTEM_TOPIC_LIST_FROM_NS: the cluster and broker names (topics every broker creates),
  // with the address of one broker.
  protocol::TopicList GetSystemTopicList() const;

 private:
  struct BrokerLiveInfo {
    int64_t last_update_ms = 0;
    protocol::DataVersion data_version;
    uint64_t connection_id = 0;
    std::string ha_server_addr;
  };
  void RemoveBrokerLocked(const std::string& broker_addr);
  mutable std::shared_mutex mu_;
  std::map<std::string, std::map<std::string, protocol::QueueData>> topic_queue_table_;
  std::map<std::string, protocol::BrokerData> broker_addr_table_;
  std::map<std::string, std::set<std::string>> cluster_addr_table_;
  std::map<std::string, BrokerLiveInfo> broker_live_table_;
};

class NamesrvController {
 public:
  static Result<std::unique_ptr<NamesrvController>> Start(NamesrvConfig config);
  virtual ~NamesrvController() = default;
  virtual void Shutdown() = 0;
  virtual int port() const = 0;
  virtual RouteInfoManager& routes() = 0;
};

}  // namespace ramjet::namesrv
