#include "admin_stats_processor.h"

#include <sys/statvfs.h>

#include <cmath>
#include <cstdio>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/store/file_system.h"
#include "system_topics.h"

namespace ramjet::broker {
namespace {

using protocol::RemotingCommand;
using remoting::RequestContextPtr;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

// QUERY_CONSUME_QUEUE answers at most this many entries per request.
constexpr int32_t kMaxConsumeQueueDump = 10000;
// How long a forwarded GET_CONSUMER_RUNNING_INFO / CONSUME_MESSAGE_DIRECTLY waits for the client.
constexpr int kCallClientTimeoutMs = 10000;

void Fail(const RequestContextPtr& ctx, const Status& s) {
  ctx->RespondCode(rc::kSystemError, std::string(s.message()));
}

// Java's MixAll.humanReadableByteCount(bytes, false): "512 B", "1.5 KiB", "20.3 GiB".
std::string HumanBytes(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  int exp = static_cast<int>(std::log(static_cast<double>(bytes)) / std::log(1024.0));
  exp = std::clamp(exp, 1, 6);
  char buf[64];
  snprintf(buf, sizeof(buf), "%.1f %ciB", static_cast<double>(bytes) / std::pow(1024.0, exp),
           "KMGTPE"[exp - 1]);
  return buf;
}

// StoreStatsService.getFormatRuntime.
std::string FormatRuntime(int64_t ms) {
  int64_t s = ms / 1000;
  char buf[96];
  snprintf(buf, sizeof(buf), "[ %lld days, %lld hours, %lld minutes, %lld seconds ]",
           static_cast<long long>(s / 86400), static_cast<long long>(s / 3600 % 24),
           static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::string Ratio(double r) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.17g", r);
  return buf;
}

}  // namespace

void AdminStatsProcessor::RegisterOn(remoting::Endpoint* server, remoting::ThreadPool* executor) {
  using Fn = void (AdminStatsProcessor::*)(const RequestContextPtr&);
  const std::pair<int32_t, Fn> table[] = {
      {req::kGetBrokerRuntimeInfo, &AdminStatsProcessor::RuntimeInfo},
      {req::kGetAllConsumerOffset, &AdminStatsProcessor::AllConsumerOffset},
      {req::kGetAllSubscriptionGroupConfig, &AdminStatsProcessor::AllSubscriptionGroups},
      {req::kGetAllDelayOffset, &AdminStatsProcessor::AllDelayOffset},
      {req::kGetTopicStatsInfo, &AdminStatsProcessor::TopicStats},
      {req::kGetConsumeStats, &AdminStatsProcessor::ConsumeStatsOf},
      {req::kQueryTopicConsumeByWho, &AdminStatsProcessor::TopicConsumeByWho},
      {req::kQueryConsumeTimeSpan, &AdminStatsProcessor::ConsumeTimeSpan},
      {req::kGetSystemTopicListFromBroker, &AdminStatsProcessor::SystemTopics},
      {req::kCleanExpiredConsumequeue, &AdminStatsProcessor::CleanExpiredConsumeQueue},
      {req::kCleanUnusedTopic, &AdminStatsProcessor::CleanExpiredConsumeQueue},
      {req::kDeleteExpiredCommitlog, &AdminStatsProcessor::CleanExpiredConsumeQueue},
      {req::kGetConsumerRunningInfo, &AdminStatsProcessor::CallConsumer},
      {req::kConsumeMessageDirectly, &AdminStatsProcessor::CallConsumer},
      {req::kCloneGroupOffset, &AdminStatsProcessor::CloneGroupOffset},
      {req::kViewBrokerStatsData, &AdminStatsProcessor::ViewStats},
      {req::kGetBrokerConsumeStats, &AdminStatsProcessor::BrokerConsumeStats},
      {req::kQueryConsumeQueue, &AdminStatsProcessor::QueryConsumeQueue},
  };
  for (const auto& [code, fn] : table) {
    server->RegisterProcessor(
        code, [this, fn = fn](const RequestContextPtr& ctx) { (this->*fn)(ctx); }, executor);
  }
}

protocol::MessageQueue AdminStatsProcessor::Mq(const std::string& topic, int32_t queue_id) const {
  return protocol::MessageQueue{topic, d_.config->broker_name, queue_id};
}

void AdminStatsProcessor::Respond(const RequestContextPtr& ctx, std::string body) {
  RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
  resp.body = std::move(body);
  ctx->Respond(std::move(resp));
}

int64_t AdminStatsProcessor::StoreTime(const std::string& topic, int32_t queue_id,
                                       int64_t offset) const {
  if (offset < 0) return 0;
  auto t = d_.store->GetMessageStoreTimestamp(topic, queue_id, QueueOffset(offset));
  return t.ok() ? *t : 0;
}

// ---------------------------------------------------------------------------------------------
// GET_BROKER_RUNTIME_INFO: the keys of RocketMQ 4.9.8's prepareRuntimeInfo and
// DefaultMessageStore.getRuntimeInfo, with Ramjet's values.

void AdminStatsProcessor::RuntimeInfo(const RequestContextPtr& ctx) {
  const auto st = d_.store->Stats();
  const RuntimeCounters c = d_.stats->Runtime();
  const int64_t now = NowMillis();
  protocol::KVTable kv;
  auto& t = kv.table;
  t["brokerVersionDesc"] = "V4_9_8";
  t["brokerVersion"] = std::to_string(protocol::kVersionV4_9_8);
  t["bootTimestamp"] = std::to_string(c.boot_timestamp);
  t["runtime"] = FormatRuntime(now - c.boot_timestamp);
  t["msgPutTotalTodayNow"] = std::to_string(c.put_total);
  t["msgPutTotalTodayMorning"] = std::to_string(c.put_total_today_morning);
  t["msgPutTotalYesterdayMorning"] = std::to_string(c.put_total_yesterday_morning);
  t["msgGetTotalTodayNow"] = std::to_string(c.get_total);
  t["msgGetTotalTodayMorning"] = std::to_string(c.get_total_today_morning);
  t["msgGetTotalYesterdayMorning"] = std::to_string(c.get_total_yesterday_morning);
  t["putMessageTimesTotal"] = std::to_string(std::max<int64_t>(1, c.put_requests));
  t["putMessageFailedTimes"] = std::to_string(c.put_failures);
  t["putMessageSizeTotal"] = std::to_string(c.put_size_total);
  t["putMessageAverageSize"] = Ratio(static_cast<double>(c.put_size_total) /
                                     static_cast<double>(std::max<int64_t>(1, c.put_requests)));
  t["putMessageEntireTimeMax"] = std::to_string(c.put_latency_max_ms);
  t["putMessageDistributeTime"] = c.put_latency_distribution;
  char p99[32], p999[32];
  snprintf(p99, sizeof(p99), "%.2f", c.put_latency_p99_ms);
  snprintf(p999, sizeof(p999), "%.2f", c.put_latency_p999_ms);
  t["putLatency99"] = p99;
  t["putLatency999"] = p999;
  t["getMessageEntireTimeMax"] = std::to_string(c.get_latency_max_ms);
  t["dispatchMaxBuffer"] = "0";
  t["putTps"] = c.put_tps;
  t["getFoundTps"] = c.get_found_tps;
  t["getMissTps"] = c.get_miss_tps;
  t["getTotalTps"] = c.get_total_tps;
  t["getTransferedTps"] = c.get_transferred_tps;
  t["commitLogMinOffset"] = std::to_string(st.min_physical_offset.value());
  t["commitLogMaxOffset"] = std::to_string(st.written.value());
  t["dispatchBehindBytes"] = std::to_string(st.written.value() - st.dispatched.value());
  t["remainHowManyDataToFlush"] = HumanBytes(st.written.value() - st.flushed.value());
  // No transient store pool: RocketMQ reports Integer.MAX_VALUE then.
  t["remainTransientStoreBufferNumbs"] = "2147483647";
  t["pageCacheLockTimeMills"] = "0";  // appends take no page-cache lock
  auto earliest = d_.store->GetEarliestMessageTime();
  t["earliestMessageTimeStamp"] = std::to_string(earliest.ok() ? *earliest : 0);
  t["startAcceptSendRequestTimeStamp"] = "0";  // sends are accepted from the start
  t["sendThreadPoolQueueCapacity"] = std::to_string(d_.config->send_thread_pool_queue_capacity);
  t["pullThreadPoolQueueCapacity"] = std::to_string(d_.config->pull_thread_pool_queue_capacity);
  t["queryThreadPoolQueueCapacity"] = std::to_string(d_.config->query_thread_pool_queue_capacity);
  // END_TRANSACTION runs on the send executor.
  t["EndTransactionThreadPoolQueueCapacity"] =
      std::to_string(d_.config->send_thread_pool_queue_capacity);
  t["brokerActive"] = "true";
  const std::string root = d_.config->store.root_dir;
  struct statvfs sv {};
  if (::statvfs(root.c_str(), &sv) == 0 && sv.f_blocks > 0) {
    const double total = static_cast<double>(sv.f_blocks) * static_cast<double>(sv.f_frsize);
    const double avail = static_cast<double>(sv.f_bavail) * static_cast<double>(sv.f_frsize);
    // The ratio the store's disk checks use (df's Use%).
    auto used_ratio = store::PosixFileSystem()->DiskUsageRatio(root);
    const std::string ratio = Ratio(used_ratio.ok() ? *used_ratio : 0.0);
    t["commitLogDiskRatio"] = ratio;
    t["commitLogDiskRatio_" + root + "/commitlog"] = ratio;
    t["consumeQueueDiskRatio"] = ratio;
    t["commitLogDirCapacity"] = "Total : " + HumanBytes(static_cast<int64_t>(total)) +
                                ", Free : " + HumanBytes(static_cast<int64_t>(avail)) + ".";
  }
  if (d_.add_runtime_info) d_.add_runtime_info(&t);
  Respond(ctx, kv.ToJson());
}

// ---------------------------------------------------------------------------------------------
// Offsets, groups and statistics

void AdminStatsProcessor::AllConsumerOffset(const RequestContextPtr& ctx) {
  Respond(ctx, d_.offsets->ToJson());
}

void AdminStatsProcessor::AllSubscriptionGroups(const RequestContextPtr& ctx) {
  Respond(ctx, d_.groups->ToJson());
}

void AdminStatsProcessor::AllDelayOffset(const RequestContextPtr& ctx) {
  Respond(ctx, d_.delay_offsets ? d_.delay_offsets() : std::string(R"({"offsetTable":{}})"));
}

void AdminStatsProcessor::TopicStats(const RequestContextPtr& ctx) {
  auto topic = ctx->request().GetTopic("topic");
  if (!topic.ok()) return Fail(ctx, topic.status());
  auto tc = d_.topics->Find(*topic);
  if (!tc) return ctx->RespondCode(rc::kTopicNotExist, "topic[" + *topic + "] not exist");
  protocol::TopicStatsTable table;
  for (int32_t q = 0; q < tc->write_queue_nums; ++q) {
    protocol::TopicOffset o;
    o.min_offset = std::max<int64_t>(0, d_.store->GetMinOffsetInQueue(*topic, q).value());
    o.max_offset = std::max<int64_t>(0, d_.store->GetMaxOffsetInQueue(*topic, q).value());
    if (o.max_offset > 0) o.last_update_timestamp = StoreTime(*topic, q, o.max_offset - 1);
    table.offset_table[Mq(*topic, q)] = o;
  }
  Respond(ctx, table.ToJson());
}

Result<std::set<std::string>> AdminStatsProcessor::TopicsOf(const RemotingCommand& r,
                                                            const std::string& group) const {
  if (auto t = r.Find("topic"); t && !t->empty()) {
    RJ_ASSIGN_OR_RETURN(auto topic, r.GetTopic("topic"));
    return std::set<std::string>{topic};
  }
  return d_.offsets->TopicsOf(group);
}

bool AdminStatsProcessor::OnlineWithoutTopic(const std::string& group,
                                             const std::string& topic) const {
  auto online = d_.consumers->Find(group);
  return online && !online->subscriptions.empty() && !online->subscriptions.count(topic);
}

std::optional<protocol::ConsumeStats> AdminStatsProcessor::StatsOf(const std::string& group,
                                                                   const std::string& topic,
                                                                   int32_t queues) const {
  if (OnlineWithoutTopic(group, topic)) return std::nullopt;
  protocol::ConsumeStats stats;
  for (int32_t q = 0; q < queues; ++q) {
    protocol::OffsetWrapper o;
    o.broker_offset = std::max<int64_t>(0, d_.store->GetMaxOffsetInQueue(topic, q).value());
    o.consumer_offset = std::max<int64_t>(0, d_.offsets->Query(group, topic, q));
    o.last_timestamp = StoreTime(topic, q, o.consumer_offset - 1);
    stats.offset_table[Mq(topic, q)] = o;
  }
  std::string key = topic + "@" + group;
  if (auto w = d_.stats->Find(kStatsGroupGetNums, key)) stats.consume_tps = w->minute.tps;
  return stats;
}

void AdminStatsProcessor::ConsumeStatsOf(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto group = r.GetGroup("consumerGroup");
  if (!group.ok()) return Fail(ctx, group.status());
  auto topics = TopicsOf(r, *group);
  if (!topics.ok()) return Fail(ctx, topics.status());
  protocol::ConsumeStats all;
  for (const auto& topic : *topics) {
    auto tc = d_.topics->Find(topic);
    if (!tc) continue;
    auto one = StatsOf(*group, topic, tc->read_queue_nums);
    if (!one) continue;
    all.offset_table.merge(one->offset_table);
    all.consume_tps += one->consume_tps;
  }
  Respond(ctx, all.ToJson());
}

void AdminStatsProcessor::BrokerConsumeStats(const RequestContextPtr& ctx) {
  const bool only_order = ctx->request().GetBool("isOrder");
  protocol::ConsumeStatsList list;
  list.broker_addr = d_.config->BrokerAddr();
  for (const auto& g : d_.groups->List()) {
    std::vector<protocol::ConsumeStats> per_topic;
    for (const auto& topic : d_.offsets->TopicsOf(g.group_name)) {
      auto tc = d_.topics->Find(topic);
      if (!tc || (only_order && !tc->order)) continue;
      auto one = StatsOf(g.group_name, topic, tc->write_queue_nums);
      if (!one) continue;
      list.total_diff += one->TotalDiff();
      per_topic.push_back(std::move(*one));
    }
    list.consume_stats_list.emplace_back(g.group_name, std::move(per_topic));
  }
  Respond(ctx, list.ToJson());
}

void AdminStatsProcessor::TopicConsumeByWho(const RequestContextPtr& ctx) {
  auto topic = ctx->request().GetTopic("topic");
  if (!topic.ok()) return Fail(ctx, topic.status());
  protocol::GroupList list;
  for (const auto& g : d_.consumers->Groups()) {
    auto info = d_.consumers->Find(g);
    if (info && info->subscriptions.count(*topic)) list.group_list.insert(g);
  }
  list.group_list.merge(d_.offsets->GroupsOf(*topic));
  Respond(ctx, list.ToJson());
}

void AdminStatsProcessor::ConsumeTimeSpan(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto topic = r.GetTopic("topic");
  auto group = r.GetGroup("group");
  if (!topic.ok()) return Fail(ctx, topic.status());
  if (!group.ok()) return Fail(ctx, group.status());
  auto tc = d_.topics->Find(*topic);
  if (!tc) return ctx->RespondCode(rc::kTopicNotExist, "topic[" + *topic + "] not exist");
  protocol::QueryConsumeTimeSpanBody body;
  const int64_t now = NowMillis();
  for (int32_t q = 0; q < tc->write_queue_nums; ++q) {
    protocol::QueueTimeSpan span;
    span.message_queue = Mq(*topic, q);
    auto min_time = d_.store->GetEarliestMessageTime(*topic, q);
    span.min_time_stamp = min_time.ok() ? *min_time : -1;
    const int64_t max = d_.store->GetMaxOffsetInQueue(*topic, q).value();
    span.max_time_stamp = StoreTime(*topic, q, max - 1);
    const int64_t consumed = d_.offsets->Query(*group, *topic, q);
    span.consume_time_stamp =
        consumed > 0 ? StoreTime(*topic, q, consumed - 1) : span.min_time_stamp;
    if (consumed < max) {
      if (int64_t next = StoreTime(*topic, q, std::max<int64_t>(0, consumed)); next > 0) {
        span.delay_time = now - next;
      }
    }
    body.consume_time_span_set.push_back(std::move(span));
  }
  Respond(ctx, body.ToJson());
}

void AdminStatsProcessor::SystemTopics(const RequestContextPtr& ctx) {
  std::set<std::string> system;
  for (const auto& [name, tc] : d_.topics->Snapshot().topic_config_table) {
    if (IsSystemTopic(name, d_.config->broker_cluster_name, d_.config->broker_name)) {
      system.insert(name);
    }
  }
  Respond(ctx, protocol::TopicListJson(system));
}

// CLEAN_EXPIRED_CONSUMEQUEUE / CLEAN_UNUSED_TOPIC / DELETE_EXPIRED_COMMITLOG: one retention round
// now (it removes CommitLog segments past fileReservedTime and the consume-queue files that only
// pointed into them).
void AdminStatsProcessor::CleanExpiredConsumeQueue(const RequestContextPtr& ctx) {
  auto deleted = d_.store->RunRetention();
  if (!deleted.ok()) return Fail(ctx, deleted.status());
  RJ_LOG(kInfo, "broker", "retention run on request of %s: %d CommitLog segments deleted",
         ctx->remote_address().c_str(), *deleted);
  ctx->RespondCode(rc::kSuccess);
}

void AdminStatsProcessor::CloneGroupOffset(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto src = r.GetGroup("srcGroup");
  auto dest = r.GetGroup("destGroup");
  if (!src.ok()) return Fail(ctx, src.status());
  if (!dest.ok()) return Fail(ctx, dest.status());
  auto topics = TopicsOf(r, *src);
  if (!topics.ok()) return Fail(ctx, topics.status());
  const bool offline = r.GetBool("offline");
  for (const auto& topic : *topics) {
    if (!d_.topics->Find(topic) || (!offline && OnlineWithoutTopic(*src, topic))) continue;
    d_.offsets->Clone(*src, *dest, topic);
  }
  ctx->RespondCode(rc::kSuccess);
}

void AdminStatsProcessor::ViewStats(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto name = r.GetString("statsName");
  auto key = r.GetString("statsKey");
  if (!name.ok()) return Fail(ctx, name.status());
  if (!key.ok()) return Fail(ctx, key.status());
  auto w = d_.stats->Find(*name, *key);
  if (!w) {
    return ctx->RespondCode(rc::kSystemError, "The stats <" + *name + "> <" + *key + "> not exist");
  }
  auto item = [](const StatsWindow& s) { return protocol::BrokerStatsItem{s.sum, s.tps, s.avgpt}; };
  protocol::BrokerStatsData data{item(w->minute), item(w->hour), item(w->day)};
  Respond(ctx, data.ToJson());
}

// ---------------------------------------------------------------------------------------------
// QUERY_CONSUME_QUEUE

void AdminStatsProcessor::QueryConsumeQueue(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto topic = r.GetTopic("topic");
  auto qid = r.GetInt32("queueId");
  auto index = r.GetInt64("index");
  auto count = r.GetInt32("count");
  for (const Status* s : {&topic.status(), &qid.status(), &index.status(), &count.status()}) {
    if (!s->ok()) return Fail(ctx, *s);
  }
  const std::string where = std::to_string(*qid) + "@" + *topic;
  auto tc = d_.topics->Find(*topic);
  if (!tc || *qid < 0 || *qid >= std::max(tc->read_queue_nums, tc->write_queue_nums)) {
    return ctx->RespondCode(rc::kSystemError, where + " is not exist!");
  }
  protocol::QueryConsumeQueueBody body;
  body.min_queue_index = d_.store->GetMinOffsetInQueue(*topic, *qid).value();
  body.max_queue_index = d_.store->GetMaxOffsetInQueue(*topic, *qid).value();
  if (auto g = r.Find("consumerGroup"); g && !g->empty()) {
    auto group = r.GetGroup("consumerGroup");
    if (!group.ok()) return Fail(ctx, group.status());
    auto info = d_.consumers->Find(*group);
    if (info && info->subscriptions.count(*topic)) {
      body.subscription_data = info->subscriptions.at(*topic);
    } else {
      body.filter_data = *group + "@" + *topic + " is not online!";
    }
  }
  RemotingCommand resp = RemotingCommand::ResponseTo(r, rc::kSuccess);
  if (*index < body.min_queue_index || *index >= body.max_queue_index) {
    resp.remark = "Index " + std::to_string(*index) + " of " + where + " is not exist!";
  }
  const int64_t end = std::min<int64_t>(
      body.max_queue_index, *index + std::clamp<int64_t>(*count, 0, kMaxConsumeQueueDump));
  for (int64_t i = std::max(*index, body.min_queue_index); i < end; ++i) {
    auto e = d_.store->GetConsumeQueueEntry(*topic, *qid, QueueOffset(i));
    protocol::ConsumeQueueData data;
    if (e.ok()) {
      data.physic_offset = e->physical_offset.value();
      data.physic_size = e->size;
      data.tags_code = e->tags_code;
    } else {
      data.msg = "entry " + std::to_string(i) + ": " + std::string(e.status().message());
    }
    body.queue_data.push_back(std::move(data));
  }
  resp.body = body.ToJson();
  ctx->Respond(std::move(resp));
}

// ---------------------------------------------------------------------------------------------
// GET_CONSUMER_RUNNING_INFO / CONSUME_MESSAGE_DIRECTLY: forwarded to the consumer named by
// consumerGroup + clientId; its answer goes back to the caller as it is.

void AdminStatsProcessor::CallConsumer(const RequestContextPtr& ctx) {
  const RemotingCommand& r = ctx->request();
  auto group = r.GetGroup("consumerGroup");
  auto client_id = r.GetString("clientId");
  if (!group.ok()) return Fail(ctx, group.status());
  if (!client_id.ok()) return Fail(ctx, client_id.status());
  std::optional<ClientChannel> target;
  if (auto info = d_.consumers->Find(*group)) {
    for (const auto& ch : info->channels) {
      if (ch.client_id == *client_id) target = ch;
    }
  }
  std::string record;
  if (r.code == req::kConsumeMessageDirectly) {
    auto msg_id = r.GetString("msgId");
    if (!msg_id.ok()) return Fail(ctx, msg_id.status());
    auto decoded = message::DecodeOffsetMessageId(*msg_id);
    if (!decoded.ok()) return Fail(ctx, decoded.status());
    auto rec = d_.store->ReadRecord(PhysicalOffset(decoded->second));
    if (!rec.ok()) return Fail(ctx, rec.status());
    record.assign(rec->data);
  }
  const std::string not_online = "The Consumer <" + *group + "> <" + *client_id + "> not online";
  if (!target) {
    if (!d_.call_grpc_consumer) return ctx->RespondCode(rc::kSystemError, not_online);
    auto answer = d_.call_grpc_consumer(r.code, *group, *client_id, record);
    if (!answer.ok()) {
      const StatusCode c = answer.status().code();
      if (c == StatusCode::kNotFound) return ctx->RespondCode(rc::kSystemError, not_online);
      return ctx->RespondCode(c == StatusCode::kTimeout ? rc::kConsumeMsgTimeout : rc::kSystemError,
                              std::string(answer.status().message()));
    }
    RemotingCommand resp = RemotingCommand::ResponseTo(r, answer->first);
    resp.body = std::move(answer->second);
    return ctx->Respond(std::move(resp));
  }
  RemotingCommand fwd = RemotingCommand::Request(r.code);
  fwd.ext_fields = r.ext_fields;
  fwd.body = r.body;
  if (r.code == req::kConsumeMessageDirectly) {
    fwd.Set("brokerName", d_.config->broker_name);
    fwd.body = std::move(record);
  }
  const std::string who = "<" + *group + "> <" + *client_id + ">";
  d_.server->InvokeAsync(
      target->conn, std::move(fwd), kCallClientTimeoutMs,
      [ctx, who](Result<RemotingCommand> answer) {
        if (!answer.ok()) {
          const bool timeout = answer.status().code() == StatusCode::kTimeout;
          return ctx->RespondCode(timeout ? rc::kConsumeMsgTimeout : rc::kSystemError,
                                  (timeout ? "consumer " + who + " Timeout: "
                                           : "invoke consumer " + who + " Exception: ") +
                                      std::string(answer.status().message()));
        }
        RemotingCommand resp = RemotingCommand::ResponseTo(ctx->request(), answer->code);
        resp.remark = answer->remark;
        resp.ext_fields = std::move(answer->ext_fields);
        resp.body = std::move(answer->body);
        ctx->Respond(std::move(resp));
      });
}

}  // namespace ramjet::broker
