// ClientInstance: what the producers and consumers of one client id share in a process — one
// remoting client (one connection per broker and name server), the route cache, one heartbeat
// that carries every group, the scheduler that refreshes routes and sends heartbeats, and the
// dispatch of the requests brokers send to clients (transaction check-backs, consumer-ids
// changes, offset resets, running info, consume-directly) to the member of the named group.
// The model is RocketMQ's MQClientInstance and MQClientManager.
//
// Members with the same client id share an instance: ip@instanceName, where the instance name
// DEFAULT becomes pid#time per member (as Java 4.9 does), so only members that set the same
// instance name share. The first member's intervals and name servers are the instance's.
//
// Lifetime: Acquire returns a shared instance kept in a process-wide registry by weak pointer;
// members hold it from Start to Shutdown. A member registers itself with Register and leaves with
// Unregister (which sends UNREGISTER_CLIENT for its group) before dropping its pointer; the last
// pointer dropped stops the scheduler, the request pool and the remoting client, in that order.
// REQUIRES: the last pointer is not dropped on one of the instance's own threads.
//
// Threading: every method may be called from any thread. mu_ guards the member and route
// tables; it is never held while calling a member or doing I/O. Members are called (OnRoute,
// FillHeartbeat, OnBrokerRequest) without any instance lock held, through a shared pointer
// taken under mu_, so a member that unregisters meanwhile stays alive until the call returns.
// Private to the client module.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ramjet/acl/signature.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/base/scheduler.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/remoting/thread_pool.h"

namespace ramjet::client::detail {

// A producer or consumer as its client instance sees it.
class ClientMember {
 public:
  virtual ~ClientMember() = default;
  // Topics whose routes the instance keeps fresh for this member.
  virtual std::vector<std::string> TopicsInUse() = 0;
  // A route of one of those topics, fetched from a name server (on the caller's or the
  // scheduler's thread).
  virtual void OnRoute(const std::string& topic, const protocol::TopicRouteData& route) = 0;
  // Adds this member's producer group or consumer data to the instance's heartbeat.
  virtual void FillHeartbeat(protocol::HeartbeatData* hb) = 0;
  // A request a broker sent to this member's group (codes in ClientInstance::kBrokerRequests).
  virtual void OnBrokerRequest(const remoting::RequestContextPtr& ctx) = 0;
};

struct InstanceOptions {
  std::string namesrv_addr;  // "host:port;host:port"
  int heartbeat_interval_ms = 30000;
  int poll_name_server_interval_ms = 30000;
  acl::Credentials credentials;               // empty: requests are not signed
  std::shared_ptr<remoting::TlsContext> tls;  // null: plaintext connections
};

enum class MemberRole { kProducer, kConsumer };

class ClientInstance {
 public:
  // The instance of client_id, created and started on first use. InvalidArgument without a name
  // server address.
  static Result<std::shared_ptr<ClientInstance>> Acquire(const std::string& client_id,
                                                         const InstanceOptions& options);
  ~ClientInstance();
  ClientInstance(const ClientInstance&) = delete;
  ClientInstance& operator=(const ClientInstance&) = delete;

  const std::string& client_id() const { return client_id_; }
  remoting::RemotingClient& remoting() { return *remoting_; }

  // A group takes one producer and one consumer per instance (InvalidArgument for a second).
  Status Register(MemberRole role, const std::string& group, std::shared_ptr<ClientMember> m)
      RJ_EXCLUDES(mu_);
  // Removes the member and sends UNREGISTER_CLIENT for its group to every known broker.
  void Unregister(MemberRole role, const std::string& group) RJ_EXCLUDES(mu_);

  // GET_ROUTEINFO_BY_TOPIC from the first name server that answers (kNotFound when the topic has
  // no route); the route is cached, its masters become heartbeat targets (a new one gets a
  // heartbeat at once) and every member using the topic is told.
  Result<protocol::TopicRouteData> UpdateRoute(const std::string& topic, int timeout_ms = 3000)
      RJ_EXCLUDES(mu_);
  // The master address of a broker name from the cached routes, "" when unknown.
  std::string MasterOf(const std::string& broker_name) RJ_EXCLUDES(mu_);
  // Every master address seen in a route.
  std::vector<std::string> Brokers() RJ_EXCLUDES(mu_);

  // One HEART_BEAT with every member's groups to every known broker.
  void HeartbeatAll() RJ_EXCLUDES(mu_);
  // Refreshes the route of every topic a member uses.
  void RefreshRoutes() RJ_EXCLUDES(mu_);

 private:
  ClientInstance(std::string client_id, InstanceOptions options);
  void Start();
  // Which member a broker request is for: the header's group, or the transaction message's
  // producer group. nullptr when no member of this instance has that group.
  std::shared_ptr<ClientMember> MemberFor(const protocol::RemotingCommand& request)
      RJ_EXCLUDES(mu_);
  void Dispatch(const remoting::RequestContextPtr& ctx);
  std::vector<std::shared_ptr<ClientMember>> Members() RJ_EXCLUDES(mu_);

  const std::string client_id_;
  const InstanceOptions options_;
  const std::vector<std::string> namesrvs_;
  std::unique_ptr<remoting::RemotingClient> remoting_;
  std::unique_ptr<remoting::ThreadPool> request_pool_;
  Scheduler scheduler_;
  std::atomic<uint32_t> ns_index_{0};

  Mutex mu_;
  std::map<std::pair<MemberRole, std::string>, std::shared_ptr<ClientMember>> members_
      RJ_GUARDED_BY(mu_);
  std::map<std::string, protocol::TopicRouteData> routes_ RJ_GUARDED_BY(mu_);
  std::map<std::string, std::string> masters_ RJ_GUARDED_BY(mu_);  // broker name -> address
  std::set<std::string> brokers_ RJ_GUARDED_BY(mu_);               // masters
  std::set<std::string> slaves_ RJ_GUARDED_BY(mu_);
};

}  // namespace ramjet::client::detail
