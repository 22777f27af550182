#include "broker_metrics.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "ramjet/base/clock.h"
#include "ramjet/protocol/remoting_command.h"
#include "system_topics.h"

namespace ramjet::broker {

namespace {

metrics::Labels With(metrics::Labels base,
                     std::initializer_list<std::pair<std::string, std::string>> more) {
  for (const auto& kv : more) base.push_back(kv);
  return base;
}

std::string Bool(bool b) { return b ? "true" : "false"; }

}  // namespace

metrics::Labels BrokerMetrics::Base() const {
  return {{"cluster", bc_.config().broker_cluster_name},
          {"node_type", "broker"},
          {"node_id", bc_.config().broker_name}};
}

std::string BrokerMetrics::Render() const {
  metrics::Writer w;
  const metrics::Labels base = Base();
  auto topics = bc_.topics.Snapshot();
  w.Family("rocketmq_topic_number", "gauge", "Number of topics on the broker.");
  w.Sample("rocketmq_topic_number", base, static_cast<double>(topics.topic_config_table.size()));
  w.Family("rocketmq_consumer_group_number", "gauge", "Number of subscription groups.");
  w.Sample("rocketmq_consumer_group_number", base, static_cast<double>(bc_.groups.List().size()));
  WriteTraffic(&w);
  WriteClients(&w);
  WriteLag(&w);
  WriteStore(&w);
  rpc_.Write(&w, base);
  metrics::WriteProcessMetrics(&w);
  return w.text();
}

void BrokerMetrics::WriteTraffic(metrics::Writer* w) const {
  const metrics::Labels base = Base();
  const std::string& cluster = bc_.config().broker_cluster_name;
  const std::string& broker = bc_.config().broker_name;
  auto topic_labels = [&](const std::string& topic) {
    return With(base,
                {{"topic", topic}, {"is_system", Bool(IsSystemTopic(topic, cluster, broker))}});
  };
  w->Family("rocketmq_messages_in_total", "counter", "Messages stored, by topic.");
  bc_.stats.ForEachTotal(kStatsTopicPutNums, [&](const std::string& topic, int64_t n) {
    w->Sample("rocketmq_messages_in_total", topic_labels(topic), static_cast<double>(n));
  });
  w->Family("rocketmq_throughput_in_total", "counter", "Message bytes stored, by topic.");
  bc_.stats.ForEachTotal(kStatsTopicPutSize, [&](const std::string& topic, int64_t n) {
    w->Sample("rocketmq_throughput_in_total", topic_labels(topic), static_cast<double>(n));
  });
  w->Family("rocketmq_message_size", "histogram", "Sizes of the messages stored, in bytes.");
  bc_.stats.ForEachSizes([&](const std::string& topic, const metrics::Histogram::Snapshot& s) {
    w->WriteHistogram("rocketmq_message_size", topic_labels(topic), s);
  });
  // GROUP_* keys are "topic@group".
  auto group_labels = [&](const std::string& key) {
    const size_t at = key.rfind('@');
    const std::string topic = key.substr(0, at);
    const std::string group = at == std::string::npos ? "" : key.substr(at + 1);
    return With(base, {{"topic", topic},
                       {"consumer_group", group},
                       {"is_retry", Bool(topic.starts_with(kRetryGroupTopicPrefix))},
                       {"is_system", Bool(IsSystemTopic(topic, cluster, broker))}});
  };
  w->Family("rocketmq_messages_out_total", "counter", "Messages handed to consumers.");
  bc_.stats.ForEachTotal(kStatsGroupGetNums, [&](const std::string& key, int64_t n) {
    w->Sample("rocketmq_messages_out_total", group_labels(key), static_cast<double>(n));
  });
  w->Family("rocketmq_throughput_out_total", "counter", "Message bytes handed to consumers.");
  bc_.stats.ForEachTotal(kStatsGroupGetSize, [&](const std::string& key, int64_t n) {
    w->Sample("rocketmq_throughput_out_total", group_labels(key), static_cast<double>(n));
  });
  w->Family("rocketmq_send_to_dlq_messages_total", "counter",
            "Messages moved to a group's dead-letter queue.");
  bc_.stats.ForEachTotal(kStatsTopicPutNums, [&](const std::string& topic, int64_t n) {
    if (!topic.starts_with(kDlqGroupTopicPrefix)) return;
    w->Sample(
        "rocketmq_send_to_dlq_messages_total",
        With(base, {{"consumer_group", topic.substr(std::string(kDlqGroupTopicPrefix).size())}}),
        static_cast<double>(n));
  });
}

void BrokerMetrics::WriteClients(metrics::Writer* w) const {
  const metrics::Labels base = Base();
  std::map<std::pair<std::string, std::string>, int> producers;
  for (const auto& c : bc_.producers.AllChannels()) {
    ++producers[{std::string(protocol::LanguageName(c.language)), std::to_string(c.version)}];
  }
  w->Family("rocketmq_producer_connections", "gauge", "Producer connections (remoting).");
  for (const auto& [k, n] : producers) {
    w->Sample("rocketmq_producer_connections",
              With(base, {{"language", k.first}, {"version", k.second}}), n);
  }
  w->Family("rocketmq_consumer_connections", "gauge", "Consumer connections (remoting).");
  for (const auto& group : bc_.consumers.Groups()) {
    auto g = bc_.consumers.Find(group);
    if (!g) continue;
    const std::string mode =
        g->consume_type == protocol::ConsumeType::kConsumeActively ? "pull" : "push";
    std::map<std::pair<std::string, std::string>, int> by;
    for (const auto& c : g->channels) {
      ++by[{std::string(protocol::LanguageName(c.language)), std::to_string(c.version)}];
    }
    for (const auto& [k, n] : by) {
      w->Sample("rocketmq_consumer_connections",
                With(base, {{"consumer_group", group},
                            {"language", k.first},
                            {"version", k.second},
                            {"consume_mode", mode}}),
                n);
    }
  }
}

void BrokerMetrics::WriteLag(metrics::Writer* w) const {
  const metrics::Labels base = Base();
  const std::string& cluster = bc_.config().broker_cluster_name;
  const std::string& broker = bc_.config().broker_name;
  std::map<std::pair<std::string, std::string>, int64_t> inflight;
  if (pop_) inflight = pop_->InFlightByGroup();
  struct Lag {
    metrics::Labels labels;
    int64_t messages = 0, latency_ms = 0, inflight = 0;
  };
  std::vector<Lag> lags;
  const int64_t now = NowMillis();
  for (const auto& [topic, tc] : bc_.topics.Snapshot().topic_config_table) {
    if (IsSystemTopic(topic, cluster, broker)) continue;
    for (const auto& group : bc_.offsets.GroupsOf(topic)) {
      Lag lag;
      int64_t oldest = 0;
      for (const auto& [q, committed] : bc_.offsets.QueryAll(group, topic)) {
        const int64_t max = bc_.store->GetMaxOffsetInQueue(topic, q).value();
        if (committed < 0 || committed >= max) continue;
        lag.messages += max - committed;
        auto t = bc_.store->GetMessageStoreTimestamp(topic, q, QueueOffset(committed));
        if (t.ok() && (oldest == 0 || *t < oldest)) oldest = *t;
      }
      lag.latency_ms = oldest > 0 ? std::max<int64_t>(0, now - oldest) : 0;
      auto it = inflight.find({group, topic});
      lag.inflight = it == inflight.end() ? 0 : it->second;
      lag.labels = With(base, {{"topic", topic},
                               {"consumer_group", group},
                               {"is_retry", "false"},
                               {"is_system", "false"}});
      lags.push_back(std::move(lag));
    }
  }
  w->Family("rocketmq_consumer_lag_messages", "gauge",
            "Messages stored and not yet consumed (committed) by the group.");
  for (const auto& l : lags) w->Sample("rocketmq_consumer_lag_messages", l.labels, l.messages);
  w->Family("rocketmq_consumer_lag_latency", "gauge",
            "Milliseconds since the oldest message the group has not consumed was stored.");
  for (const auto& l : lags) w->Sample("rocketmq_consumer_lag_latency", l.labels, l.latency_ms);
  w->Family("rocketmq_consumer_inflight_messages", "gauge",
            "Messages popped by the group and not yet acknowledged.");
  for (const auto& l : lags) w->Sample("rocketmq_consumer_inflight_messages", l.labels, l.inflight);
  w->Family("rocketmq_consumer_ready_messages", "gauge",
            "Messages ready for the group (lag less in-flight).");
  for (const auto& l : lags) {
    w->Sample("rocketmq_consumer_ready_messages", l.labels,
              static_cast<double>(std::max<int64_t>(0, l.messages - l.inflight)));
  }
  w->Family("rocketmq_consumer_queueing_latency", "gauge",
            "Milliseconds the oldest ready message of the group has waited.");
  for (const auto& l : lags)
    w->Sample("rocketmq_consumer_queueing_latency", l.labels, l.latency_ms);
}

void BrokerMetrics::WriteStore(metrics::Writer* w) const {
  const metrics::Labels base = Base();
  const store::StoreStats s = bc_.store->Stats();
  const int64_t written = s.written.value();
  w->Family("rocketmq_storage_size", "gauge", "Bytes of CommitLog the store keeps.");
  w->Sample("rocketmq_storage_size", base,
            static_cast<double>(written - s.min_physical_offset.value()));
  w->Family("rocketmq_storage_flush_behind_bytes", "gauge", "Bytes written and not yet fsynced.");
  w->Sample("rocketmq_storage_flush_behind_bytes", base,
            static_cast<double>(std::max<int64_t>(0, written - s.flushed.value())));
  w->Family("rocketmq_storage_dispatch_behind_bytes", "gauge",
            "Bytes written whose consume queues and index are not yet built.");
  w->Sample("rocketmq_storage_dispatch_behind_bytes", base,
            static_cast<double>(std::max<int64_t>(0, written - s.dispatched.value())));
  w->Family("ramjet_store_commitlog_segments", "gauge", "CommitLog segment files.");
  w->Sample("ramjet_store_commitlog_segments", base, static_cast<double>(s.commit_log_segments));
  w->Family("ramjet_store_puts_total", "counter", "Records appended to the CommitLog since start.");
  w->Sample("ramjet_store_puts_total", base, static_cast<double>(s.put_count));
  w->Family("ramjet_store_recovered_after_crash", "gauge",
            "1 when the last start recovered from a crash (no clean shutdown).");
  w->Sample("ramjet_store_recovered_after_crash", base, s.recovered_after_crash ? 1 : 0);
  w->Family("ramjet_store_recovery_scanned_bytes", "gauge",
            "Bytes the last start's recovery read.");
  w->Sample("ramjet_store_recovery_scanned_bytes", base,
            static_cast<double>(s.recovery_scanned_bytes));
  w->Family("ramjet_store_recovery_corrupt_records", "gauge",
            "Corrupt records the last start's recovery found.");
  w->Sample("ramjet_store_recovery_corrupt_records", base,
            static_cast<double>(s.recovery_corrupt_records));
  w->Family("ramjet_store_recovery_seconds", "gauge",
            "How long the last start took to open and recover the store.");
  w->Sample("ramjet_store_recovery_seconds", base, static_cast<double>(s.recovery_ms) / 1000.0);
  w->Family("ramjet_store_fsync_latency_seconds", "histogram",
            "Duration of each CommitLog fsync round.");
  w->WriteHistogram("ramjet_store_fsync_latency_seconds", base, s.fsync_micros, 1e-6);
  w->Family("ramjet_store_fsync_bytes", "histogram",
            "Bytes each CommitLog fsync round made durable.");
  w->WriteHistogram("ramjet_store_fsync_bytes", base, s.fsync_bytes);
  w->Family("ramjet_store_group_commit_requests", "histogram",
            "SYNC_FLUSH sends answered by each fsync round (the group-commit size).");
  w->WriteHistogram("ramjet_store_group_commit_requests", base, s.group_commit_requests);
}

}  // namespace ramjet::broker
