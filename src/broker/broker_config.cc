#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <charconv>

#include "ramjet/broker/broker.h"
#include "schedule_service.h"

namespace ramjet::broker {
namespace {

std::string FirstNonLoopbackIPv4() {
  ifaddrs* ifs = nullptr;
  std::string found = "127.0.0.1";
  if (::getifaddrs(&ifs) != 0) return found;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    std::string ip(buf);
    if (ip.starts_with("127.")) continue;
    found = ip;
    break;
  }
  ::freeifaddrs(ifs);
  return found;
}

}  // namespace

void BrokerConfig::Bind(ConfigBinder* b) {
  b->Bind("brokerClusterName", &broker_cluster_name, "cluster this broker belongs to").Refused();
  b->Bind("brokerName", &broker_name, "broker name (a master and its slaves share it)").Refused();
  b->Bind("brokerId", &broker_id, "0 = master; slaves are > 0").Refused();
  b->Bind("namesrvAddr", &namesrv_addr, "name servers, host:port separated by ';'");
  b->Bind("brokerIP1", &broker_ip1,
          "address advertised to clients and written as STOREHOST (default: first non-loopback "
          "IPv4)")
      .Refused();
  b->Bind("brokerIP2", &broker_ip2, "HA address advertised to slaves (default: brokerIP1)")
      .Refused();
  b->Bind("listenAddress", &listen_address, "address to bind (0.0.0.0 = all)").Refused();
  b->Bind("listenPort", &listen_port, "main remoting port; the VIP port is listenPort - 2")
      .Range(3, 65535)
      .Refused();
  b->Bind("vipChannelEnable", &vip_channel_enable, "also listen on the VIP port listenPort - 2")
      .Refused();
  b->Bind("haListenPort", &ha_listen_port, "HA port (0 = listenPort + 1)").Refused();
  b->Bind("grpcServerPort", &grpc_server_port,
          "port of the apache.rocketmq.v2 gRPC service for 5.x clients (-1 = off, 0 = any free "
          "port); when the default port is taken the broker logs an error and serves remoting "
          "only")
      .Range(-1, 65535)
      .Refused();
  b->Bind("metricsPromExporterPort", &metrics_prom_exporter_port,
          "HTTP port of the Prometheus endpoint /metrics (-1 = off, 0 = any free port); when the "
          "port is taken the broker logs an error and runs without it")
      .Range(-1, 65535)
      .Refused();
  b->Bind("metricsPromExporterHost", &metrics_prom_exporter_host,
          "address the Prometheus endpoint binds (empty: listenAddress)")
      .Refused();
  b->Bind("dashboardPort", &dashboard_port,
          "HTTP port of the web dashboard and its JSON API /api (-1 = off, 0 = any free port); "
          "when the port is taken the broker logs an error and runs without it")
      .Range(-1, 65535)
      .Refused();
  b->Bind("dashboardHost", &dashboard_host,
          "address the dashboard binds (empty: listenAddress); the dashboard has no login yet, so "
          "bind it to a trusted interface")
      .Refused();
  b->Bind("dashboardAllowedHosts", &dashboard_allowed_hosts,
          "comma-separated host names the dashboard may be reached by (IP addresses and localhost "
          "always are); a request naming any other host is refused (DNS rebinding)")
      .Refused();
  b->BindCustom(
      "brokerRole",
      [this](std::string_view v) {
        if (v == "ASYNC_MASTER" || v == "SYNC_MASTER" || v == "SLAVE") {
          broker_role = std::string(v);
          return Status::OK();
        }
        return Status::InvalidArgument("expected ASYNC_MASTER, SYNC_MASTER or SLAVE");
      },
      [this] { return broker_role; },
      "ASYNC_MASTER, SYNC_MASTER (a send is answered once a slave has it) or SLAVE");
  b->Bind("haMasterAddress", &ha_master_address,
          "a slave's master HA address ip:port (empty: the one the name server answers)")
      .Refused();
  b->Bind("haSendHeartbeatInterval", &ha_send_heartbeat_interval,
          "HA heartbeat period of both sides (ms)")
      .Range(100, 3600000)
      .Refused();
  b->Bind("haHousekeepingInterval", &ha_housekeeping_interval,
          "an HA connection silent this long (ms) is closed")
      .Range(1000, 3600000)
      .Refused();
  b->Bind("haTransferBatchSize", &ha_transfer_batch_size,
          "largest CommitLog chunk the master sends in one HA frame")
      .Range(1024, 64 * 1024 * 1024)
      .Refused();
  b->Bind("haSlaveFallbehindMax", &ha_slave_fallbehind_max,
          "a slave further behind (bytes) is not in sync: SYNC_MASTER sends get "
          "SLAVE_NOT_AVAILABLE")
      .Range(0, INT64_MAX)
      .Refused();
  b->Bind("enableControllerMode", &enable_controller_mode,
          "automatic failover: the group elects its master through etcd (controllerAddr); "
          "brokerId is the member's id (>= 1)")
      .Refused();
  b->Bind("controllerAddr", &controller_addr,
          "etcd v3 endpoints holding the controller's state, host:port separated by ';'")
      .Refused();
  b->Bind("controllerLeaseTtl", &controller_lease_ttl,
          "seconds a master's etcd lease lives without renewal: a dead master is replaced after "
          "about this long, and stops taking writes after 3/4 of it without etcd")
      .Range(2, 60)
      .Refused();
  b->Bind("slaveReadEnable", &slave_read_enable,
          "a master sends consumers with a large backlog to a slave (suggestWhichBrokerId)")
      .Runtime();
  b->Bind("accessMessageInMemoryMaxRatio", &access_message_in_memory_max_ratio,
          "with slaveReadEnable: a backlog beyond this % of memory is read from a slave")
      .Range(0, 100)
      .Runtime();
  b->Bind("brokerPermission", &broker_permission, "broker permission bits (READ 4 | WRITE 2)")
      .Runtime();
  b->Bind("autoCreateTopicEnable", &auto_create_topic_enable,
          "create unknown topics on first send (through TBW102)")
      .Runtime();
  b->Bind("autoCreateSubscriptionGroup", &auto_create_subscription_group,
          "create unknown consumer groups on first use")
      .Runtime();
  b->Bind("defaultTopicQueueNums", &default_topic_queue_nums, "queues of TBW102 / auto-created");
  b->Bind("clusterTopicEnable", &cluster_topic_enable, "create the topic named like the cluster");
  b->Bind("brokerTopicEnable", &broker_topic_enable, "create the topic named like the broker");
  b->Bind("traceTopicEnable", &trace_topic_enable, "create RMQ_SYS_TRACE_TOPIC");
  b->Bind("aclEnable", &acl_enable,
          "check every remoting request against the accounts of aclFilePath (RocketMQ ACL 1.0: "
          "AccessKey and HmacSHA1 Signature, topic and group permissions, admin accounts); a "
          "refusal is answered NO_PERMISSION (16)")
      .Refused();
  b->Bind(
       "aclFilePath", &acl_file_path,
       "the plain_acl.yml of aclEnable (re-read within a second of a change; a broken file keeps "
       "the previous accounts)")
      .Refused();
  b->Bind("innerAccessKey", &inner_access_key,
          "ACL account (access key) the broker's own clients sign with: its dashboard")
      .Refused();
  b->Bind("innerSecretKey", &inner_secret_key, "secret key of innerAccessKey").Refused().Secret();
  b->Bind("authenticationEnabled", &authentication_enabled,
          "ACL 2.0: every request is signed by a user of <storePathRootDir>/config/auth.json "
          "(AccessKey = user name, the signature made with its password); exclusive with "
          "aclEnable")
      .Refused();
  b->Bind("authorizationEnabled", &authorization_enabled,
          "ACL 2.0: every request's topics, groups and admin actions are decided by the user's "
          "policies (Super users pass); implies authentication")
      .Refused();
  b->Bind("initAuthenticationUser", &init_authentication_user,
          "ACL 2.0: a Super user created at start unless it exists, as JSON "
          "{\"username\":\"rocketmq\",\"password\":\"12345678\"}")
      .Refused()
      .Secret();
  b->Bind("innerClientAuthenticationCredentials", &inner_client_authentication_credentials,
          "ACL 2.0: the broker's own Super user (the dashboard signs with it), as JSON "
          "{\"accessKey\":\"...\",\"secretKey\":\"...\"}")
      .Refused()
      .Secret();
  b->Bind("authenticationWhitelist", &authentication_whitelist,
          "ACL 2.0: comma-separated request codes that need no authentication")
      .Refused();
  b->Bind("authorizationWhitelist", &authorization_whitelist,
          "ACL 2.0: comma-separated request codes that need no authorization")
      .Refused();
  b->Bind("migrateAuthFromV1Enabled", &migrate_auth_from_v1_enabled,
          "ACL 2.0: at start, import the accounts of aclFilePath (plain_acl.yml) that are not "
          "users yet (admin: Super; topic and group permissions: policies)")
      .Refused();
  for (const char* key :
       {"authenticationProvider", "authorizationProvider", "authenticationMetadataProvider",
        "authorizationMetadataProvider", "authenticationStrategy", "authorizationStrategy"}) {
    b->Ignore(key,
              "ACL 2.0 is built in; users and ACLs live in <storePathRootDir>/config/auth.json");
  }
  b->Bind("clusterAccessKey", &cluster_access_key,
          "the cluster credential: requests to name servers (registration) and a slave's requests "
          "to its master are signed with it; with aclEnable, requests signed with it pass as an "
          "admin account's (the name servers' clusterAccessKey must match)")
      .Refused();
  b->Bind("clusterSecretKey", &cluster_secret_key, "secret key of clusterAccessKey")
      .Refused()
      .Secret();
  b->Bind("storeReplyMessageEnable", &store_reply_message_enable,
          "store request-reply replies in <cluster>_REPLY_TOPIC besides pushing them");
  b->Bind("registerNameServerPeriod", &register_name_server_period,
          "name server registration period in ms (clamped to 10000..60000)");
  b->Bind("registerBrokerTimeoutMills", &register_broker_timeout_mills,
          "timeout of one registration request");
  b->Bind("longPollingEnable", &long_polling_enable, "hold empty pulls until data arrives")
      .Runtime();
  b->Bind("shortPollingTimeMills", &short_polling_time_mills,
          "hold time of empty pulls when long polling is off")
      .Runtime();
  b->Bind("flushConsumerOffsetInterval", &flush_consumer_offset_interval,
          "period of persisting consumer offsets (ms)");
  b->Bind("channelExpiredTimeout", &channel_expired_timeout,
          "a client silent for this long (ms) is dropped from its groups")
      .Runtime();
  b->Bind("enablePropertyFilter", &enable_property_filter, "allow SQL92 subscriptions").Runtime();
  b->Bind("regionId", &region_id, "MSG_REGION returned with every send").Runtime();
  b->Bind("traceOn", &trace_on, "TRACE_ON returned with every send").Runtime();
  b->Bind("sendMessageThreadPoolNums", &send_message_thread_pool_nums,
          "send executor threads; 0 = store and answer sends on the I/O threads (fastest)");
  b->Bind("pullMessageThreadPoolNums", &pull_message_thread_pool_nums, "pull executor threads");
  b->Bind("queryMessageThreadPoolNums", &query_message_thread_pool_nums, "query executor threads");
  b->Bind("adminBrokerThreadPoolNums", &admin_broker_thread_pool_nums, "admin executor threads");
  b->Bind("clientManageThreadPoolNums", &client_manage_thread_pool_nums,
          "heartbeat/unregister executor threads");
  b->Bind("consumerManageThreadPoolNums", &consumer_manage_thread_pool_nums,
          "consumer offset executor threads");
  b->Bind("sendThreadPoolQueueCapacity", &send_thread_pool_queue_capacity,
          "queued sends before SYSTEM_BUSY");
  b->Bind("pullThreadPoolQueueCapacity", &pull_thread_pool_queue_capacity,
          "queued pulls before SYSTEM_BUSY");
  b->Bind("queryThreadPoolQueueCapacity", &query_thread_pool_queue_capacity,
          "queued queries before SYSTEM_BUSY");
  b->Bind("clientManagerThreadPoolQueueCapacity", &client_manager_thread_pool_queue_capacity,
          "queued heartbeats before SYSTEM_BUSY");
  b->Bind("consumerManagerThreadPoolQueueCapacity", &consumer_manager_thread_pool_queue_capacity,
          "queued offset requests before SYSTEM_BUSY");
  b->Bind("serverWorkerThreads", &server_worker_threads, "network I/O threads");
  b->Bind("serverCorkFlushBytes", &server_cork_flush_bytes,
          "Ramjet: the answers of one read round are written once they hold this many bytes "
          "(the client starts on them while the round goes on), the rest when it ends")
      .Range(512, 4 << 20);
  b->Bind("maxFrameBytes", &max_frame_bytes,
          "largest accepted frame; a longer length field closes the connection")
      .Refused();
  limits.Bind(b);
  tls.Bind(b);
  b->Bind("maxTransferBytesOnMessageInMemory", &max_transfer_bytes_on_message,
          "bytes returned by one pull at most (the first message always fits)")
      .Runtime();
  b->Bind("maxTransferCountOnMessageInMemory", &max_transfer_count_on_message,
          "messages returned by one pull at most")
      .Runtime();
  b->Bind("messageDelayLevel", &message_delay_level,
          "delay of each level for DELAY / send-back, level 1 first (units ms s m h d)");
  b->Bind("flushDelayOffsetInterval", &flush_delay_offset_interval,
          "period of persisting delivery progress of delayed messages (ms)");
  b->Bind("rebalanceLockMaxLiveTime", &rebalance_lock_max_live_time,
          "orderly-consumption queue locks expire after this many ms without renewal");
  b->Bind("transactionCheckInterval", &transaction_check_interval,
          "period of checking undecided transactional (half) messages (ms)");
  b->Bind("transactionTimeOut", &transaction_time_out,
          "a half message younger than this (ms) is not checked yet");
  b->Bind("transactionCheckMax", &transaction_check_max,
          "checks before a half message is given up (moved to TRANS_CHECK_MAX_TIME_TOPIC)");
  b->Bind("rejectTransactionMessage", &reject_transaction_message,
          "refuse transactional messages with NO_PERMISSION")
      .Runtime();
  b->Bind("timerWheelEnable", &timer_wheel_enable,
          "honour TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS (arbitrary delays)");
  b->Bind("timerMaxDelaySec", &timer_max_delay_sec, "longest accepted timer delay in seconds");
  // Store keys.
  store::StoreConfig* s = &store;
  b->Bind("storePathRootDir", &s->root_dir, "root of the store (commitlog/, consumequeue/, ...)")
      .Refused();
  b->BindCustom(
       "flushDiskType",
       [s](std::string_view v) {
         if (v == "ASYNC_FLUSH") {
           s->flush_disk_type = store::FlushDiskType::kAsyncFlush;
         } else if (v == "SYNC_FLUSH") {
           s->flush_disk_type = store::FlushDiskType::kSyncFlush;
         } else {
           return Status::InvalidArgument("expected ASYNC_FLUSH or SYNC_FLUSH");
         }
         return Status::OK();
       },
       [s] {
         return std::string(s->flush_disk_type == store::FlushDiskType::kSyncFlush ? "SYNC_FLUSH"
                                                                                   : "ASYNC_FLUSH");
       },
       "ASYNC_FLUSH or SYNC_FLUSH (group commit)")
      .Refused();
  b->Bind("mappedFileSizeCommitLog", &s->commit_log_segment_size, "CommitLog segment bytes")
      .Refused();
  b->Bind("mapedFileSizeCommitLog", &s->commit_log_segment_size, "old spelling of the above")
      .Refused();
  b->BindCustom(
       "mappedFileSizeConsumeQueue",
       [s](std::string_view v) {
         int64_t bytes = std::atoll(std::string(v).c_str());
         if (bytes < 20 || bytes % 20 != 0) {
           return Status::InvalidArgument("must be a positive multiple of 20");
         }
         s->consume_queue_entries_per_file = bytes / 20;
         return Status::OK();
       },
       [s] { return std::to_string(s->consume_queue_entries_per_file * 20); },
       "ConsumeQueue file bytes (entries x 20)")
      .Refused();
  b->Bind("flushIntervalCommitLog", &s->flush_interval_commit_log_ms, "async flush period (ms)");
  b->Bind("flushCommitLogLeastPages", &s->flush_commit_log_least_pages,
          "async flush only with this many dirty 4 KiB pages");
  b->Bind("flushCommitLogThoroughInterval", &s->flush_commit_log_thorough_interval_ms,
          "... or when this long (ms) has passed");
  b->Bind("syncFlushTimeout", &s->sync_flush_timeout_ms,
          "SYNC_FLUSH wait before FLUSH_DISK_TIMEOUT");
  b->Bind("flushIntervalConsumeQueue", &s->flush_interval_consume_queue_ms,
          "consume queue flush period (ms)");
  b->Bind("flushConsumeQueueThoroughInterval", &s->flush_consume_queue_thorough_interval_ms,
          "consume-queue entries are written to their files at the latest this long (ms) after "
          "arriving (or when 64 have collected); until then they are served from memory and "
          "re-dispatched from the CommitLog after a crash (RocketMQ: a forced flush every 60 s)")
      .Range(0, 60000);
  b->Bind("flushConsumeQueueLeastPages", &s->flush_consume_queue_least_pages,
          "between thorough flushes a consume queue is fsynced only with this many 4 KiB pages "
          "written since its last fsync (0: every flush); recovery re-dispatches the rest")
      .Range(0, 1 << 20);
  b->Bind("maxMessageSize", &s->max_message_size, "largest message body accepted");
  b->Bind("checkCRCOnRecover", &s->check_crc_on_recover, "verify body CRCs during recovery");
  b->Bind("maxHashSlotNum", &s->max_hash_slot_num, "index file hash slots").Refused();
  b->Bind("maxIndexNum", &s->max_index_num, "index file entries").Refused();
  b->Bind("messageIndexEnable", &s->message_index_enable, "build the key / unique-key index")
      .Refused();
  b->Bind("fileReservedTime", &s->file_reserved_time_hours, "CommitLog retention in hours");
  b->Bind("deleteWhen", &s->delete_when,
          "hours of the day (';'-separated) to delete expired files");
  b->Bind("cleanResourceInterval", &s->clean_resource_interval_ms,
          "period (ms) of the retention check (expired CommitLog segments, disk ratios)")
      .Range(100, 86400000);
  b->Bind("diskMaxUsedSpaceRatio", &s->disk_max_used_space_ratio,
          "disk usage percent above which expired files are deleted at any hour");
  b->Ignore("storePathCommitLog", "the CommitLog always lives in storePathRootDir/commitlog");
  b->Ignore("rocketmqHome", "no ROCKETMQ_HOME layout is needed");
  b->Ignore("transferMsgByHeap", "pull responses are always copied from the mapped segments");
  b->Ignore("useReentrantLockWhenPutMessage", "the put lock is a mutex");
  b->Ignore("waitTimeMillsInSendQueue", "full executors answer SYSTEM_BUSY at once");
  b->Ignore("sendMessageWithVIPChannel", "a client-side setting");
}

KeyUpdatePolicy UpdatePolicyOf(std::string_view key) {
  // The policy is a column of the configuration table (BrokerConfig::Bind).
  static const ConfigBinder* const table = [] {
    static BrokerConfig defaults;
    auto* b = new ConfigBinder();
    defaults.Bind(b);
    return b;
  }();
  return table->PolicyOf(key);
}

namespace {
Result<int64_t> ParseRemoteInt(std::string_view key, std::string_view v) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return Status::InvalidArgument(std::string(key) + ": '" + std::string(v) +
                                   "' is not an integer");
  }
  return out;
}
}  // namespace

Status CheckRemoteUpdate(const BrokerConfig& current, std::string_view key,
                         std::string_view value) {
  for (std::string_view part : {key, value}) {
    for (unsigned char c : part) {
      if (c < 0x20 || c == 0x7f) {
        return Status::InvalidArgument(
            "control characters (CR, LF, ...) are not allowed in configuration keys or values");
      }
    }
  }
  if (key == "fileReservedTime") {
    RJ_ASSIGN_OR_RETURN(int64_t hours, ParseRemoteInt(key, value));
    const int64_t now = current.store.file_reserved_time_hours;
    if (hours < 1 || hours < (now + 1) / 2) {
      return Status::InvalidArgument("fileReservedTime: " + std::string(value) +
                                     " would expire most of the log at once (now " +
                                     std::to_string(now) +
                                     "); lower it by at most half per request, to at least 1 hour");
    }
  } else if (key == "diskMaxUsedSpaceRatio") {
    RJ_ASSIGN_OR_RETURN(int64_t ratio, ParseRemoteInt(key, value));
    const int64_t now = current.store.disk_max_used_space_ratio;
    if (ratio < 10 || ratio > 95 || ratio < (now + 1) / 2) {
      return Status::InvalidArgument("diskMaxUsedSpaceRatio: " + std::string(value) +
                                     " is out of bounds (10..95, and at least half of the " +
                                     std::to_string(now) + " in force)");
    }
  } else if (key == "deleteWhen") {
    for (std::string_view h : SplitList(value)) {
      auto hour = ParseRemoteInt(key, h);
      if (!hour.ok() || *hour < 0 || *hour > 23) {
        return Status::InvalidArgument("deleteWhen: expected hours 0..23 separated by ';'");
      }
    }
  }
  return Status::OK();
}

Status BrokerConfig::Finish() {
  if (broker_name.empty()) return Status::InvalidArgument("brokerName must not be empty");
  if (broker_cluster_name.empty()) {
    return Status::InvalidArgument("brokerClusterName must not be empty");
  }
  if (enable_controller_mode) {
    if (controller_addr.empty())
      return Status::InvalidArgument("enableControllerMode needs controllerAddr (etcd endpoints)");
    if (broker_id < 1)
      return Status::InvalidArgument("in controller mode brokerId is the member's id: >= 1");
    if (IsSlave())
      return Status::InvalidArgument(
          "in controller mode the group elects its master: brokerRole is SYNC_MASTER or "
          "ASYNC_MASTER (how the member acknowledges while it is master), not SLAVE");
    controller_member_id = broker_id;
    controller_master_role = broker_role;
  }
  if (IsSlave() && broker_id <= 0) {
    return Status::InvalidArgument("brokerId must be > 0 for a SLAVE (0 is the master's)");
  }
  if (!IsSlave()) broker_id = 0;  // a master is always 0, as in RocketMQ
  store.replica = IsSlave();
  if (broker_ip1.empty()) broker_ip1 = FirstNonLoopbackIPv4();
  if (broker_ip2.empty()) broker_ip2 = broker_ip1;
  if (ha_listen_port == 0) ha_listen_port = listen_port + 1;
  if (register_name_server_period < 10000) register_name_server_period = 10000;
  if (register_name_server_period > 60000) register_name_server_period = 60000;
  RJ_RETURN_IF_ERROR(limits.Check());
  RJ_RETURN_IF_ERROR(tls.Check());
  if (acl_enable && (authentication_enabled || authorization_enabled)) {
    return Status::InvalidArgument(
        "aclEnable (ACL 1.0) and authenticationEnabled/authorizationEnabled (ACL 2.0) are "
        "exclusive; migrateAuthFromV1Enabled imports plain_acl.yml into ACL 2.0");
  }
  if (!cluster_access_key.empty() && cluster_secret_key.empty()) {
    return Status::InvalidArgument("clusterAccessKey needs clusterSecretKey");
  }
  auto levels = ParseDelayLevels(message_delay_level);
  if (!levels.ok()) {
    return Status::InvalidArgument("messageDelayLevel: " + std::string(levels.status().message()));
  }
  delay_level_ms = *levels;
  auto host = message::HostAddress::Parse(BrokerAddr());
  if (!host.ok()) {
    return Status::InvalidArgument("brokerIP1 '" + broker_ip1 + "' is not an IP address: " +
                                   std::string(host.status().message()));
  }
  store.store_host = *host;
  return Status::OK();
}

}  // namespace ramjet::broker
