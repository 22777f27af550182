// The admin library: the operations of RocketMQ's mqadmin over the remoting protocol, reusable
// by the CLI (apps/admin_main.cc) and a dashboard backend. Every call talks to the name servers
// and brokers directly and returns data, never prints.
// Threading model: an Admin object may be used from several threads (the remoting client is
// thread-safe); calls block up to the configured timeout.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ramjet/acl/signature.h"
#include "ramjet/base/result.h"
#include "ramjet/client/message.h"
#include "ramjet/protocol/admin_bodies.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/trace.h"
#include "ramjet/remoting/tls.h"

namespace ramjet::admin {

struct QueueStatus {
  client::MessageQueue queue;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  int64_t last_update_ms = 0;  // store time of the newest message (0 if empty)
};

// One member of a broker group as ramjet-admin getSyncStateSet shows it.
struct GroupMember {
  int64_t route_id = 0;  // its brokerId in the routes (0: master)
  std::string addr;
  std::string role;             // brokerRole
  std::string controller_role;  // master / slave / candidate ("" outside controller mode)
  int64_t epoch = 0;
  std::string sync_state_set;  // the master's view: member ids, ','-separated
  int64_t behind_bytes = -1;   // a slave's lag as its master sees it (-1: unknown)
  int64_t behind_ms = -1;
};

// A slave's lag from its master's runtime info (the haSlave.<n> entry from the slave's IP):
// bytes and ms, -1 when the master does not list it.
std::pair<int64_t, int64_t> SlaveLag(const std::map<std::string, std::string>& master_info,
                                     const std::string& slave_addr);

struct ConsumerProgressRow {
  client::MessageQueue queue;
  int64_t broker_offset = 0;
  int64_t consumer_offset = -1;
};

// ConsumerConnection (GET_CONSUMER_CONNECTION_LIST).
struct ConsumerConnectionInfo {
  // clientId, clientAddr, language, version per live client.
  std::vector<std::map<std::string, std::string>> connections;
  std::map<std::string, std::string> subscriptions;  // topic → subscription expression
  std::string consume_type, message_model, consume_from_where;
};

// The messages of a topic stored in a time range (QueryByTime).
struct TimeRangeMessages {
  std::vector<client::MessageExt> messages;  // store-time order
  bool truncated = false;                    // more matched than max_num
};

// A consumer's answer to CONSUME_MESSAGE_DIRECTLY (ConsumeMessageDirectlyResult).
struct DirectConsumeResult {
  std::string consume_result;  // CR_SUCCESS, CR_LATER, CR_ROLLBACK, CR_COMMIT, CR_THROW_EXCEPTION..
  std::string remark;
  int64_t spent_ms = 0;
};

class Admin {
 public:
  // credentials: ACL 1.0 account every request is signed with (empty: unsigned). tls: a client
  // context (remoting::TlsContext::ForClient) for TLS connections; null: plaintext.
  explicit Admin(const std::string& namesrv_addr, int timeout_ms = 5000,
                 const acl::Credentials& credentials = {},
                 std::shared_ptr<remoting::TlsContext> tls = nullptr);
  ~Admin();

  // ACL 2.0 (AUTH_* request codes 3001-3010) on one broker: the answer's body (JSON; empty when
  // there is nothing), or an error carrying the broker's code and remark.
  Result<std::string> AuthCall(const std::string& broker_addr, int32_t code,
                               const std::vector<std::pair<std::string, std::string>>& fields,
                               std::string body = {});
  // Every broker (masters and slaves) of a cluster, for ACL 2.0 writes (as mqadmin's -c).
  Result<std::vector<std::string>> AllBrokerAddrs(const std::string& cluster);

  // Name server.
  Result<protocol::ClusterInfo> ClusterInfo();
  Result<std::vector<std::string>> TopicList();
  Result<protocol::TopicRouteData> TopicRoute(const std::string& topic);
  Status PutKvConfig(const std::string& ns, const std::string& key, const std::string& value);
  Status DeleteKvConfig(const std::string& ns, const std::string& key);
  // WIPE_WRITE_PERM_OF_BROKER (wipe) / ADD_WRITE_PERM_OF_BROKER on every name server: the
  // broker group's topics lose / regain write permission in the routes (drain a group). Returns
  // the topic count each name server changed.
  Result<std::map<std::string, int64_t>> SetBrokerWritePerm(const std::string& broker_name,
                                                            bool wipe);
  // Every member of a broker group with its role, term and lag (GET_BROKER_RUNTIME_INFO).
  Result<std::vector<GroupMember>> GroupMembers(const std::string& broker_name);
  // CONTROLLER_ELECT_MASTER to a member of the group: switch the master to member broker_id.
  Status ElectMaster(const std::string& broker_name, int64_t broker_id);
  // name server address -> properties text.
  Result<std::map<std::string, std::string>> NamesrvConfig();

  // Brokers. A target is a broker address, or a cluster name (every master of it).
  Result<std::vector<std::string>> MasterAddrs(const std::string& cluster);
  Status UpdateTopic(const std::string& broker_addr, const protocol::TopicConfig& config);
  Status DeleteTopic(const std::string& cluster, const std::string& topic);
  Result<std::vector<QueueStatus>> TopicStatus(const std::string& topic);
  Result<std::map<std::string, std::string>> BrokerRuntimeInfo(const std::string& broker_addr);
  Result<std::string> BrokerConfig(const std::string& broker_addr);
  // UPDATE_BROKER_CONFIG with one key. Returns the broker's remark (e.g. keys that take effect
  // only at the next start); an unknown, refused or invalid key is an error.
  Result<std::string> UpdateBrokerConfig(const std::string& broker_addr, const std::string& key,
                                         const std::string& value);
  Result<std::vector<ConsumerProgressRow>> ConsumerProgress(const std::string& group,
                                                            const std::string& topic);
  // Asks a master serving %RETRY%<group> (mqadmin consumerConnection); kNotFound when the
  // group has no live client.
  Result<ConsumerConnectionInfo> ConsumerConnection(const std::string& group);
  // clientId, clientAddr, language, version per live producer connection.
  Result<std::vector<std::map<std::string, std::string>>> ProducerConnections(
      const std::string& broker_addr, const std::string& group);
  // GET_ALL_TOPIC_CONFIG: the broker's topics with their configuration.
  Result<std::map<std::string, protocol::TopicConfig>> TopicConfigs(const std::string& broker_addr);
  // GET_ALL_SUBSCRIPTIONGROUP_CONFIG: the broker's subscription groups.
  Result<std::map<std::string, protocol::SubscriptionGroupConfigBody>> SubscriptionGroups(
      const std::string& broker_addr);
  // GET_ALL_CONSUMER_OFFSET: the broker's committed offsets, "topic@group" -> queue -> offset.
  Result<std::map<std::string, std::map<int32_t, int64_t>>> ConsumerOffsets(
      const std::string& broker_addr);
  // GET_MAX_OFFSET of one queue on a broker.
  Result<int64_t> MaxOffset(const std::string& broker_addr, const std::string& topic,
                            int32_t queue_id);
  // ACL 1.0 administration of a broker's plain_acl.yml (admin account needed).
  // UPDATE_AND_CREATE_ACL_CONFIG: fields as its header (accessKey, secretKey, whiteRemoteAddress,
  // admin, defaultTopicPerm, defaultGroupPerm, topicPerms / groupPerms comma-separated).
  Status UpdateAclConfig(const std::string& broker_addr,
                         const std::map<std::string, std::string>& fields);
  Status DeleteAclConfig(const std::string& broker_addr, const std::string& access_key);
  Status UpdateGlobalWhiteAddrs(const std::string& broker_addr, const std::string& addrs);
  // GET_BROKER_CLUSTER_ACL_INFO: version, allAclFileVersion, brokerName, brokerAddr, clusterName.
  Result<std::map<std::string, std::string>> AclConfigVersion(const std::string& broker_addr);
  // Subscription groups (SubscriptionGroupConfig as JSON fields).
  Status UpdateSubGroup(const std::string& broker_addr, const std::string& config_json);
  Status DeleteSubGroup(const std::string& broker_addr, const std::string& group,
                        bool remove_offset);

  // Messages.
  Result<client::MessageExt> ViewMessageByOffsetId(const std::string& offset_msg_id);
  Result<std::vector<client::MessageExt>> QueryByKey(const std::string& topic,
                                                     const std::string& key, bool unique,
                                                     int max_num);
  Result<client::MessageExt> MessageAtOffset(const client::MessageQueue& mq, int64_t offset);
  // Up to max_num (1..32) messages of a queue from `offset` on (fewer at its end).
  Result<std::vector<client::MessageExt>> PullMessages(const client::MessageQueue& mq,
                                                       int64_t offset, int max_num);
  // SEARCH_OFFSET_BY_TIMESTAMP: the first offset of the queue stored at or after timestamp_ms.
  Result<int64_t> SearchOffset(const client::MessageQueue& mq, int64_t timestamp_ms);
  // mqadmin queryMsgByTopic / the dashboard's time search: messages of a topic stored in
  // [begin_ms, end_ms], the newest max_num of them (1..1000).
  Result<TimeRangeMessages> QueryByTime(const std::string& topic, int64_t begin_ms, int64_t end_ms,
                                        int max_num);
  // CONSUME_MESSAGE_DIRECTLY through the broker storing the message (offset id) to a live
  // client of the group (client_id empty: the first one online).
  Result<DirectConsumeResult> ConsumeMessageDirectly(const std::string& group,
                                                     const std::string& client_id,
                                                     const std::string& offset_msg_id);
  // Sends a stored message (typically from %DLQ%<group>) back to %RETRY%<group>, as the broker's
  // CONSUMER_SEND_MSG_BACK does: body, tags, keys, user properties and message id are kept,
  // RETRY_TOPIC names the topic it was first sent to, reconsume times start at 0. Returns the
  // new copy's offset message id.
  Result<std::string> ResendToRetry(const std::string& group, const client::MessageExt& m);
  // mqadmin queryMsgTraceById: the trace records of msg_id found in trace_topic (by the message
  // id, which trace messages carry as a key), in time order; a SubAfter without a time (old
  // clients) right after its SubBefore. Empty when there is none.
  Result<std::vector<protocol::TraceRecord>> QueryMsgTrace(const std::string& msg_id,
                                                           const std::string& trace_topic);
  // Moves a group's offsets on a topic to `timestamp_ms` (-1: the end); returns queue -> offset.
  Result<std::map<int32_t, int64_t>> ResetOffsetByTime(const std::string& group,
                                                       const std::string& topic,
                                                       int64_t timestamp_ms, bool force);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ramjet::admin
