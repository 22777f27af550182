// Producer's implementation class, shared by producer.cc (lifecycle, routes, heartbeats, sends)
// and transaction_producer.cc (half messages, END_TRANSACTION, check-backs). Private to the
// client module.
//
// Threading: sends run on the caller's thread (async ones complete on I/O threads); the client
// instance's scheduler refreshes routes (OnRoute) and sends heartbeats (FillHeartbeat);
// check-backs run on the tx-check pool. mu_ guards the route table and the check listener.
// Owned by a shared pointer: async callbacks and check-backs keep the Impl alive.
#pragma once

#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>

#include "client_instance.h"
#include "client_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/compression.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/name_table.h"
#include "ramjet/client/producer.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

namespace detail {
// Refuses what RocketMQ's Validators refuse: bad topics, empty or oversized bodies, reserved or
// malformed property names.
Status ValidateMessage(const Message& m, int max_size);
// Send answers after which another broker is tried.
bool RetryCode(int32_t code);
}  // namespace detail

class Producer::Impl : public detail::ClientMember,
                       public std::enable_shared_from_this<Producer::Impl> {
 public:
  Impl(std::string group, ClientConfig config)
      : group_(std::move(group)), config_(std::move(config)) {
    client_id_ = MakeClientId(config_.client_ip, config_.instance_name);
  }

  Status Start() {
    if (group_.empty()) return Status::InvalidArgument("producer group is empty");
    RJ_ASSIGN_OR_RETURN(
        instance_,
        detail::ClientInstance::Acquire(
            client_id_, {config_.namesrv_addr, config_.heartbeat_interval_ms,
                         config_.poll_name_server_interval_ms, config_.credentials, config_.tls}));
    client_ = &instance_->remoting();
    check_pool_ = std::make_unique<remoting::ThreadPool>("tx-check", 1, 2000);
    Status s = instance_->Register(detail::MemberRole::kProducer, group_, shared_from_this());
    if (!s.ok()) {
      check_pool_->Shutdown();
      instance_.reset();
      return s;
    }
    started_ = true;
    return Status::OK();
  }

  void Shutdown() {
    if (!started_) return;
    started_ = false;
    instance_->Unregister(detail::MemberRole::kProducer, group_);
    check_pool_->Shutdown();
    instance_.reset();
  }

  // -------------------------------------------------------------------------------------------
  // The client instance's view (detail::ClientMember)

  std::vector<std::string> TopicsInUse() override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    routes_.ForEach([&out](std::string_view t, int32_t, const PublishInfoPtr& info) {
      if (info != nullptr) out.emplace_back(t);
    });
    return out;
  }

  void OnRoute(const std::string& topic, const protocol::TopicRouteData& route) override {
    auto info = ToPublishInfo(topic, route, 0);
    if (info.queues.empty()) return;
    std::lock_guard<std::mutex> l(mu_);
    PublishInfoPtr* known = KnownRoute(topic);
    if (known != nullptr && !(*known)->auto_created) {
      info.next_queue = (*known)->next_queue;
      *known = std::make_shared<const PublishInfo>(std::move(info));
    }
  }

  void FillHeartbeat(protocol::HeartbeatData* hb) override {
    hb->producer_groups.push_back(group_);
  }

  // CHECK_TRANSACTION_STATE, answered on this producer's check pool.
  void OnBrokerRequest(const remoting::RequestContextPtr& ctx) override {
    if (!check_pool_->TrySubmit([self = shared_from_this(), ctx] { self->OnCheck(ctx); })) {
      RJ_LOG(kWarn, "client", "transaction check dropped: the check pool is full or stopped");
    }
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  Result<protocol::TopicRouteData> QueryRoute(const std::string& topic) {
    return instance_->UpdateRoute(topic, config_.send_timeout_ms);
  }

  struct PublishInfo {
    std::vector<MessageQueue> queues;
    std::map<std::string, std::string> master;  // broker name -> address
    // Where the topic's next send starts (RocketMQ's per-topic sendWhichQueue): each topic
    // goes round its own queues. Shared by the topic's successive route views.
    std::shared_ptr<std::atomic<uint32_t>> next_queue = std::make_shared<std::atomic<uint32_t>>(0);
    // Taken from the default topic's route (TBW102): replaced by the topic's own route once a
    // send has created the topic on a broker.
    bool auto_created = false;
    size_t NextQueue() const {
      return static_cast<size_t>(next_queue->fetch_add(1, std::memory_order_relaxed));
    }
  };
  // Shared, never modified once published: a send holds its topic's view without copying it.
  using PublishInfoPtr = std::shared_ptr<const PublishInfo>;

  static PublishInfo ToPublishInfo(const std::string& topic, const protocol::TopicRouteData& r,
                                   int cap_queues) {
    PublishInfo p;
    for (const auto& b : r.broker_datas) {
      auto m = b.broker_addrs.find(0);
      if (m != b.broker_addrs.end()) p.master[b.broker_name] = m->second;
    }
    for (const auto& q : r.queue_datas) {
      if ((q.perm & protocol::kPermWrite) == 0 || !p.master.count(q.broker_name)) continue;
      int n = cap_queues > 0 ? std::min(q.write_queue_nums, cap_queues) : q.write_queue_nums;
      for (int i = 0; i < n; ++i) p.queues.push_back({topic, q.broker_name, i});
    }
    return p;
  }

  // The topic's slot in routes_ if it holds a route, else nullptr. The caller holds mu_.
  PublishInfoPtr* KnownRoute(std::string_view topic) {
    PublishInfoPtr* slot = routes_.Find(topic);
    return slot != nullptr && *slot != nullptr ? slot : nullptr;
  }

  Result<PublishInfoPtr> GetPublishInfo(const std::string& topic) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (const PublishInfoPtr* known = KnownRoute(topic)) return *known;
    }
    auto route = QueryRoute(topic);
    PublishInfo info;
    if (route.ok()) {
      info = ToPublishInfo(topic, *route, 0);
    } else if (route.status().code() == StatusCode::kNotFound) {
      // Not created yet: brokers that allow auto-creation advertise TBW102.
      auto def = QueryRoute(config_.create_topic_key);
      if (!def.ok()) return route.status();
      info = ToPublishInfo(topic, *def, config_.default_topic_queue_nums);
      info.auto_created = true;
    } else {
      return route.status();
    }
    if (info.queues.empty()) {
      return Status::NotFound("No route info of this topic: " + topic + " (no writable queue)");
    }
    auto shared = std::make_shared<const PublishInfo>(std::move(info));
    std::lock_guard<std::mutex> l(mu_);
    if (PublishInfoPtr* known = routes_.Find(topic)) {
      *known = shared;
    } else {
      routes_.Insert(topic, 0, shared);
    }
    return shared;
  }

  // -------------------------------------------------------------------------------------------
  // Send

  std::string Properties(const Message& m, const std::string& uniq, bool transactional) const {
    std::vector<std::pair<std::string, std::string>> kv;
    for (const auto& [k, v] : m.properties) kv.emplace_back(k, v);
    if (!m.tags.empty()) kv.emplace_back("TAGS", m.tags);
    if (!m.keys.empty()) {
      std::string keys;
      for (const auto& k : m.keys) {
        if (!keys.empty()) keys.push_back(' ');
        keys += k;
      }
      kv.emplace_back("KEYS", keys);
    }
    if (m.delay_level > 0) kv.emplace_back("DELAY", std::to_string(m.delay_level));
    kv.emplace_back("WAIT", m.wait_store_ok ? "true" : "false");
    kv.emplace_back("UNIQ_KEY", uniq);
    if (transactional) {
      kv.emplace_back("TRAN_MSG", "true");
      kv.emplace_back("PGROUP", group_);
    }
    return message::BuildProperties(kv);
  }

  RemotingCommand BuildSend(const Message& m, const MessageQueue& q, const std::string& uniq,
                            bool transactional) const {
    RemotingCommand r = RemotingCommand::Request(req::kSendMessageV2);
    int32_t sys_flag = 0;
    if (static_cast<int>(m.body.size()) > config_.compress_over_bytes) {
      r.body = ZlibDeflate(m.body, 5);
      sys_flag |= message::kSysFlagCompressed;
    } else {
      r.body = m.body;
    }
    if (transactional) sys_flag |= message::kTransactionPreparedType;
    protocol::SendMessageRequestHeader h;
    h.producer_group = group_;
    h.topic = m.topic;
    h.default_topic = config_.create_topic_key;
    h.default_topic_queue_nums = config_.default_topic_queue_nums;
    h.queue_id = q.queue_id;
    h.sys_flag = sys_flag;
    h.born_timestamp = NowMillis();
    h.flag = m.flag;
    h.properties = Properties(m, uniq, transactional);
    h.broker_name = q.broker_name;
    h.Encode(&r);
    return r;
  }

  static Result<SendResult> ToResult(const RemotingCommand& resp, const MessageQueue& q,
                                     const std::string& uniq) {
    SendResult s;
    switch (resp.code) {
      case rc::kSuccess:
        s.status = SendStatus::kSendOk;
        break;
      case rc::kFlushDiskTimeout:
        s.status = SendStatus::kFlushDiskTimeout;
        break;
      case rc::kFlushSlaveTimeout:
        s.status = SendStatus::kFlushSlaveTimeout;
        break;
      case rc::kSlaveNotAvailable:
        s.status = SendStatus::kSlaveNotAvailable;
        break;
      default:
        return Status(StatusCode::kUnavailable,
                      "CODE: " + std::to_string(resp.code) + " DESC: " + resp.remark.value_or(""));
    }
    s.msg_id = uniq;
    s.offset_msg_id = std::string(resp.Find("msgId").value_or(""));
    s.queue = q;
    s.queue.queue_id = resp.GetInt32Or("queueId", q.queue_id);
    s.queue_offset = resp.GetInt64Or("queueOffset", 0);
    s.transaction_id = std::string(resp.Find("transactionId").value_or(uniq));
    return s;
  }

  Result<SendResult> SendTo(const Message& m, const std::optional<MessageQueue>& fixed,
                            const QueueSelector* selector, bool transactional) {
    RJ_RETURN_IF_ERROR(detail::ValidateMessage(m, config_.max_message_size));
    RJ_ASSIGN_OR_RETURN(PublishInfoPtr info_ptr, GetPublishInfo(m.topic));
    const PublishInfo& info = *info_ptr;
    const std::string uniq = NewUniqueId();
    // Ordered sends (selector or fixed queue) are not retried elsewhere.
    const int attempts = (fixed || selector) ? 1 : 1 + config_.retry_times_when_send_failed;
    std::string last_broker;
    Status last = Status::Unavailable("not sent");
    for (int attempt = 0; attempt < attempts; ++attempt) {
      MessageQueue q;
      if (fixed) {
        q = *fixed;
      } else if (selector) {
        q = info.queues[(*selector)(info.queues, m) % info.queues.size()];
      } else {
        size_t start = info.NextQueue();
        q = info.queues[start % info.queues.size()];
        for (size_t i = 0; i < info.queues.size() && q.broker_name == last_broker; ++i) {
          q = info.queues[(start + i) % info.queues.size()];
        }
      }
      auto addr = info.master.find(q.broker_name);
      if (addr == info.master.end()) return Status::NotFound("no master for " + q.broker_name);
      auto resp = client_->InvokeSync(addr->second, BuildSend(m, q, uniq, transactional),
                                      config_.send_timeout_ms);
      last_broker = q.broker_name;
      if (!resp.ok()) {
        last = resp.status();
        continue;
      }
      auto result = ToResult(*resp, q, uniq);
      if (result.ok()) {
        if (info.auto_created) {
          // The broker created it: use its real route from now on.
          std::lock_guard<std::mutex> l(mu_);
          PublishInfoPtr* known = KnownRoute(m.topic);
          if (known != nullptr && (*known)->auto_created) known->reset();
        }
        return result;
      }
      last = result.status();
      if (!detail::RetryCode(resp->code)) break;
    }
    return last;
  }

  void SendAsync(Message m, std::function<void(Result<SendResult>)> cb) {
    Status v = detail::ValidateMessage(m, config_.max_message_size);
    if (!v.ok()) return cb(v);
    auto info = GetPublishInfo(m.topic);
    if (!info.ok()) return cb(info.status());
    auto req = std::make_shared<AsyncSend>();
    req->msg = std::move(m);
    req->info = std::move(info).value();
    req->uniq = NewUniqueId();
    req->cb = std::move(cb);
    req->start = req->info->NextQueue();
    SendAsyncAttempt(req);
  }

  struct AsyncSend {
    Message msg;
    PublishInfoPtr info;
    std::string uniq;
    std::function<void(Result<SendResult>)> cb;
    size_t start = 0;
    int attempt = 0;
    std::string last_broker;
  };

  // One attempt of an async send; the response callback (on the I/O thread) retries on failure.
  void SendAsyncAttempt(const std::shared_ptr<AsyncSend>& req) {
    const auto& queues = req->info->queues;
    MessageQueue q = queues[(req->start + static_cast<size_t>(req->attempt)) % queues.size()];
    for (size_t i = 0; i < queues.size() && q.broker_name == req->last_broker; ++i) {
      q = queues[(req->start + static_cast<size_t>(req->attempt) + i) % queues.size()];
    }
    auto addr = req->info->master.find(q.broker_name);
    if (addr == req->info->master.end()) {
      return req->cb(Status::NotFound("no master for " + q.broker_name));
    }
    req->last_broker = q.broker_name;
    RemotingCommand cmd = BuildSend(req->msg, q, req->uniq, false);
    client_->InvokeAsync(addr->second, std::move(cmd), config_.send_timeout_ms,
                         [self = shared_from_this(), req, q](Result<RemotingCommand> r) {
                           Result<SendResult> result =
                               r.ok() ? ToResult(*r, q, req->uniq) : Result<SendResult>(r.status());
                           const bool retryable =
                               !r.ok() || (!result.ok() && detail::RetryCode(r->code));
                           if (!result.ok() && retryable &&
                               req->attempt < self->config_.retry_times_when_send_async_failed) {
                             ++req->attempt;
                             return self->SendAsyncAttempt(req);
                           }
                           req->cb(std::move(result));
                         });
  }

  Status SendOneway(const Message& m) {
    RJ_RETURN_IF_ERROR(detail::ValidateMessage(m, config_.max_message_size));
    RJ_ASSIGN_OR_RETURN(PublishInfoPtr info_ptr, GetPublishInfo(m.topic));
    const PublishInfo& info = *info_ptr;
    MessageQueue q = info.queues[info.NextQueue() % info.queues.size()];
    return client_->InvokeOneway(info.master.at(q.broker_name),
                                 BuildSend(m, q, NewUniqueId(), false));
  }

  // A batch request (SEND_BATCH_MESSAGE) to one queue, with the broker it goes to and the
  // comma-joined unique ids of its messages.
  struct BatchRequest {
    RemotingCommand cmd;
    MessageQueue queue;
    std::string addr;
    std::string ids;
  };
  Result<BatchRequest> BuildBatch(const std::vector<Message>& msgs) {
    if (msgs.empty()) return Status::InvalidArgument("empty batch");
    for (const auto& m : msgs) {
      RJ_RETURN_IF_ERROR(detail::ValidateMessage(m, config_.max_message_size));
      if (m.topic != msgs[0].topic) {
        return Status::InvalidArgument("the topic of the messages in one batch should be the same");
      }
      if (m.delay_level > 0) {
        return Status::InvalidArgument("TimeDelayLevel is not supported for batching");
      }
      if (m.topic.starts_with("%RETRY%")) {
        return Status::InvalidArgument("Retry Group is not supported for batching");
      }
    }
    RJ_ASSIGN_OR_RETURN(PublishInfoPtr info_ptr, GetPublishInfo(msgs[0].topic));
    const PublishInfo& info = *info_ptr;
    BatchRequest out;
    std::string body;
    for (const auto& m : msgs) {
      std::string uniq = NewUniqueId();
      if (!out.ids.empty()) out.ids.push_back(',');
      out.ids += uniq;
      std::string props = Properties(m, uniq, false);
      PutBE32(&body, static_cast<uint32_t>(20 + m.body.size() + 2 + props.size()));
      PutBE32(&body, 0);  // magic: not checked
      PutBE32(&body, 0);  // body CRC: recomputed by the broker
      PutBE32(&body, static_cast<uint32_t>(m.flag));
      PutBE32(&body, static_cast<uint32_t>(m.body.size()));
      body += m.body;
      PutBE16(&body, static_cast<uint16_t>(props.size()));
      body += props;
    }
    out.queue = info.queues[info.NextQueue() % info.queues.size()];
    auto addr = info.master.find(out.queue.broker_name);
    if (addr == info.master.end())
      return Status::NotFound("no master for " + out.queue.broker_name);
    out.addr = addr->second;
    RemotingCommand& r = out.cmd;
    r = RemotingCommand::Request(req::kSendBatchMessage);
    protocol::SendMessageRequestHeader h;
    h.producer_group = group_;
    h.topic = msgs[0].topic;
    h.default_topic = config_.create_topic_key;
    h.default_topic_queue_nums = config_.default_topic_queue_nums;
    h.queue_id = out.queue.queue_id;
    h.born_timestamp = NowMillis();
    h.properties = message::BuildProperties({{"WAIT", msgs[0].wait_store_ok ? "true" : "false"}});
    h.batch = true;
    h.Encode(&r);
    r.body = std::move(body);
    return out;
  }

  Result<SendResult> SendBatch(const std::vector<Message>& msgs) {
    RJ_ASSIGN_OR_RETURN(BatchRequest b, BuildBatch(msgs));
    RJ_ASSIGN_OR_RETURN(RemotingCommand resp,
                        client_->InvokeSync(b.addr, std::move(b.cmd), config_.send_timeout_ms));
    return ToResult(resp, b.queue, b.ids);
  }

  void SendBatchAsync(const std::vector<Message>& msgs,
                      std::function<void(Result<SendResult>)> cb) {
    auto b = BuildBatch(msgs);
    if (!b.ok()) return cb(b.status());
    client_->InvokeAsync(
        b->addr, std::move(b->cmd), config_.send_timeout_ms,
        [q = b->queue, ids = b->ids, cb = std::move(cb)](Result<RemotingCommand> r) {
          if (!r.ok()) return cb(r.status());
          cb(ToResult(*r, q, ids));
        });
  }

  // -------------------------------------------------------------------------------------------
  // Transactions

  // The END_TRANSACTION commitOrRollback value of a local transaction state (sysFlag values).
  static int32_t TransactionType(LocalTransactionState state);

  Status EndTransaction(const std::string& broker_addr, const SendResult& half,
                        LocalTransactionState state, bool from_check);

  Result<SendResult> SendInTransaction(
      const Message& m,
      const std::function<LocalTransactionState(const Message&, const SendResult&)>& local);

  void OnCheck(const remoting::RequestContextPtr& ctx);

  std::string group_;
  ClientConfig config_;
  std::string client_id_;
  std::shared_ptr<detail::ClientInstance> instance_;
  remoting::RemotingClient* client_ = nullptr;  // the instance's, while started
  std::unique_ptr<remoting::ThreadPool> check_pool_;
  std::mutex mu_;
  // By topic; a null entry is a route dropped (topics are few and never removed otherwise).
  NameTable<PublishInfoPtr> routes_;
  std::function<LocalTransactionState(const MessageExt&)> check_;
  bool started_ = false;
};

}  // namespace ramjet::client
