// The broker: serves producers and consumers over the RocketMQ remoting protocol on top of the
// store library, and registers itself with every configured name server.
//
// Threading model:
//  - Network I/O runs on the remoting server's event loops (main port, and the VIP port
//    listenPort-2, which serves everything but PULL_MESSAGE).
//  - Sends are stored and answered on the I/O thread that read them (no hand-off; the
//    answers to one read round leave in one write); sendMessageThreadPoolNums > 0 moves them to
//    an executor instead. The store append never waits for the disk under ASYNC_FLUSH, and
//    under SYNC_FLUSH the answer is written later by the flush thread.
//  - Other request processors run on explicit bounded executors, one per kind of work (pull,
//    query, admin, client management, consumer offsets, end-transaction and send-back), so slow
//    requests cannot stall the I/O threads; a full executor answers SYSTEM_BUSY.
//  - Sends complete asynchronously: the store's completion callback (the appending thread, or
//    the flush thread under SYNC_FLUSH) writes the response.
//  - Long-polling pulls are parked in the pull-hold service and re-executed on the pull
//    executor when the store's dispatcher reports an arrival, when a periodic scan sees new
//    data, or when they time out.
//  - A scheduler thread registers with the name servers, persists consumer offsets and expires
//    silent client channels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ramjet/base/config.h"
#include "ramjet/base/result.h"
#include "ramjet/remoting/limits.h"
#include "ramjet/remoting/tls_config.h"
#include "ramjet/store/store_config.h"

namespace ramjet::broker {

struct BrokerConfig {
  std::string broker_cluster_name = "DefaultCluster";  // brokerClusterName
  std::string broker_name = "broker-a";                // brokerName
  int64_t broker_id = 0;                               // brokerId (0 = master)
  std::string namesrv_addr;                            // namesrvAddr, ';'-separated
  std::string broker_ip1;  // brokerIP1 (empty = first non-loopback IPv4)
  std::string broker_ip2;  // brokerIP2 (HA address; default brokerIP1)
  std::string listen_address = "0.0.0.0";
  int32_t listen_port = 10911;  // listenPort; the VIP port is listenPort - 2
  bool vip_channel_enable = true;
  int32_t ha_listen_port = 0;                 // haListenPort (0 = listenPort + 1)
  int32_t grpc_server_port = 8081;            // grpcServerPort (apache.rocketmq.v2; -1 = off)
  int32_t metrics_prom_exporter_port = 5557;  // metricsPromExporterPort (/metrics; -1 = off)
  std::string metrics_prom_exporter_host;     // metricsPromExporterHost (empty: listenAddress)
  // The web dashboard and its JSON API, started by the broker programs (apps/) next to the
  // broker; it reaches the cluster through namesrvAddr.
  int32_t dashboard_port = 8080;               // dashboardPort (-1 = off)
  std::string dashboard_host;                  // dashboardHost (empty: listenAddress)
  std::string dashboard_allowed_hosts;         // dashboardAllowedHosts (comma-separated host names)
  std::string broker_role = "ASYNC_MASTER";    // brokerRole
  std::string ha_master_address;               // haMasterAddress (a slave's; empty = namesrv's)
  int64_t ha_send_heartbeat_interval = 5000;   // haSendHeartbeatInterval (ms)
  int64_t ha_housekeeping_interval = 20000;    // haHousekeepingInterval (ms)
  int32_t ha_transfer_batch_size = 32 * 1024;  // haTransferBatchSize
  int64_t ha_slave_fallbehind_max = 256LL * 1024 * 1024;  // haSlaveFallbehindMax
  // Automatic failover (RocketMQ 5 controller mode, the decisions kept in etcd): brokerId is
  // then the member's id (>= 1) and brokerRole says how it acknowledges while it is master.
  bool enable_controller_mode = false;  // enableControllerMode
  std::string controller_addr;          // controllerAddr: etcd endpoints host:port;host:port
  int64_t controller_lease_ttl = 5;     // controllerLeaseTtl (s)
  int64_t controller_member_id = 0;     // derived by Finish(): the configured brokerId
  std::string controller_master_role;   // derived by Finish(): the configured brokerRole
  bool slave_read_enable = false;       // slaveReadEnable
  int32_t access_message_in_memory_max_ratio = 40;   // accessMessageInMemoryMaxRatio (%)
  int32_t broker_permission = 6;                     // brokerPermission
  bool auto_create_topic_enable = true;              // autoCreateTopicEnable
  bool auto_create_subscription_group = true;        // autoCreateSubscriptionGroup
  int32_t default_topic_queue_nums = 8;              // defaultTopicQueueNums
  bool cluster_topic_enable = true;                  // clusterTopicEnable
  bool broker_topic_enable = true;                   // brokerTopicEnable
  bool trace_topic_enable = false;                   // traceTopicEnable
  bool acl_enable = false;                           // aclEnable (ACL 1.0, plain_acl.yml)
  std::string acl_file_path = "conf/plain_acl.yml";  // aclFilePath
  // The account of the requests the broker's own parts send (its dashboard) when ACL is on.
  std::string inner_access_key;                   // innerAccessKey
  std::string inner_secret_key;                   // innerSecretKey
  // ACL 2.0 (users and policies, RocketMQ 5.3+): authenticationEnabled, authorizationEnabled,
  // initAuthenticationUser / innerClientAuthenticationCredentials (JSON), the whitelists of
  // request codes, migrateAuthFromV1Enabled (plain_acl.yml accounts imported at start).
  bool authentication_enabled = false;
  bool authorization_enabled = false;
  std::string init_authentication_user;
  std::string inner_client_authentication_credentials;
  std::string authentication_whitelist;
  std::string authorization_whitelist;
  bool migrate_auth_from_v1_enabled = false;
  std::string cluster_access_key;                 // clusterAccessKey (name servers, slaves)
  std::string cluster_secret_key;                 // clusterSecretKey
  bool store_reply_message_enable = true;         // storeReplyMessageEnable
  int32_t register_name_server_period = 30000;    // registerNameServerPeriod (ms, 10000..60000)
  int32_t register_broker_timeout_mills = 6000;   // registerBrokerTimeoutMills
  bool long_polling_enable = true;                // longPollingEnable
  int64_t short_polling_time_mills = 1000;        // shortPollingTimeMills
  int32_t flush_consumer_offset_interval = 5000;  // flushConsumerOffsetInterval
  int64_t channel_expired_timeout = 120000;       // channelExpiredTimeout (ms)
  bool enable_property_filter = false;            // enablePropertyFilter
  std::string region_id = "DefaultRegion";        // regionId
  bool trace_on = true;                           // traceOn
  // Executors.
  // sendMessageThreadPoolNums: 0 (default) stores and answers sends on the I/O thread that read
  // them; N > 0 hands them to an executor of N threads (bounded: full → SYSTEM_BUSY).
  int32_t send_message_thread_pool_nums = 0;
  int32_t pull_message_thread_pool_nums = 8;         // pullMessageThreadPoolNums
  int32_t query_message_thread_pool_nums = 4;        // queryMessageThreadPoolNums
  int32_t admin_broker_thread_pool_nums = 4;         // adminBrokerThreadPoolNums
  int32_t client_manage_thread_pool_nums = 4;        // clientManageThreadPoolNums
  int32_t consumer_manage_thread_pool_nums = 4;      // consumerManageThreadPoolNums
  int32_t send_thread_pool_queue_capacity = 10000;   // sendThreadPoolQueueCapacity
  int32_t pull_thread_pool_queue_capacity = 100000;  // pullThreadPoolQueueCapacity
  int32_t query_thread_pool_queue_capacity = 20000;  // queryThreadPoolQueueCapacity
  int32_t client_manager_thread_pool_queue_capacity = 1000000;
  int32_t consumer_manager_thread_pool_queue_capacity = 1000000;
  int32_t server_worker_threads = 2;                   // serverWorkerThreads (I/O loops)
  int32_t server_cork_flush_bytes = 4096;              // serverCorkFlushBytes (Ramjet)
  int64_t max_frame_bytes = 16 * 1024 * 1024;          // com.rocketmq.remoting.frameMaxLength
  remoting::TlsConfig tls;                             // tlsMode, tlsServerCertPath, ...
  remoting::ConnectionLimits limits;                   // serverChannelMaxIdleTimeSeconds, ...
  int32_t max_transfer_bytes_on_message = 256 * 1024;  // maxTransferBytesOnMessageInMemory
  int32_t max_transfer_count_on_message = 32;          // maxTransferCountOnMessageInMemory
  // messageDelayLevel: delay of each level, level 1 first.
  std::string message_delay_level = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
  int32_t flush_delay_offset_interval = 10000;  // flushDelayOffsetInterval (ms)
  // rocketmq.broker.rebalance.lockMaxLiveTime: a queue lock not renewed for this long expires.
  int64_t rebalance_lock_max_live_time = 60000;
  int64_t transaction_check_interval = 60000;  // transactionCheckInterval (ms)
  int64_t transaction_time_out = 6000;         // transactionTimeOut (ms)
  int32_t transaction_check_max = 15;          // transactionCheckMax
  bool reject_transaction_message = false;     // rejectTransactionMessage
  bool timer_wheel_enable = true;              // timerWheelEnable
  int64_t timer_max_delay_sec = 259200;        // timerMaxDelaySec (3 days)
  std::vector<int64_t> delay_level_ms;         // derived by Finish()
  store::StoreConfig store;
  // Not a key: the file given with -c. UPDATE_BROKER_CONFIG writes accepted changes back to it,
  // so they survive a restart; empty = changes live in memory only.
  std::string config_file;

  // Declares every key (RocketMQ broker.conf names) on a binder.
  void Bind(ConfigBinder* binder);
  // Cross-field checks and derived values, after all keys are applied.
  Status Finish();
  bool IsSlave() const { return broker_role == "SLAVE"; }
  bool IsSyncMaster() const { return broker_role == "SYNC_MASTER"; }
  std::string BrokerAddr() const { return broker_ip1 + ":" + std::to_string(listen_port); }
  // innerClientAuthenticationCredentials as (accessKey, secretKey); empty when unset or malformed.
  std::pair<std::string, std::string> InnerClientCredentials() const;
};

// How UPDATE_BROKER_CONFIG (mqadmin updateBrokerConfig) treats a key: the "update" column of
// the configuration table (BrokerConfig::Bind; docs/config.md).
using KeyUpdatePolicy = UpdatePolicy;
KeyUpdatePolicy UpdatePolicyOf(std::string_view key);
// Checks one remote change before it is applied, against the configuration in force: control
// characters (CR/LF would inject keys into the -c file) are refused in keys and values, and
// retention keys are bounded so that one request cannot expire most of the log at once
// (fileReservedTime and diskMaxUsedSpaceRatio may at most be halved per request; the ratio stays
// in 10..95; deleteWhen must be hours 0..23 separated by ';').
Status CheckRemoteUpdate(const BrokerConfig& current, std::string_view key, std::string_view value);

// Controller mode changes a broker's role by restarting it: the hook must shut the broker down
// and start it again with RAMJET_CONTROLLER_LEASE=<lease> in its environment (ramjet-broker
// re-executes itself). Called once, from the controller's thread: it must only signal.
using RestartHook = std::function<void(int64_t lease, const std::string& reason)>;
inline constexpr char kInheritedLeaseEnvName[] = "RAMJET_CONTROLLER_LEASE";

class BrokerController {
 public:
  // Opens the store (recovering it), starts the servers and registers with the name servers.
  // In controller mode it first joins its group (which decides the role); on_restart is then
  // required.
  static Result<std::unique_ptr<BrokerController>> Start(BrokerConfig config,
                                                         RestartHook on_restart = {});
  virtual ~BrokerController() = default;
  // Unregisters, stops serving, persists offsets, shuts the store down cleanly (no abort file).
  virtual void Shutdown() = 0;
  virtual int port() const = 0;
  virtual const BrokerConfig& config() const = 0;
};

}  // namespace ramjet::broker
