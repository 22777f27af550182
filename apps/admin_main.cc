// ramjet-admin: RocketMQ mqadmin-compatible command line (same subcommand names and options).
//   ramjet-admin <subcommand> -n 127.0.0.1:9876 [options]      ramjet-admin help
// Errors go to stderr as one clear line and the exit code is non-zero.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "admin_cli.h"
#include "ramjet/admin/admin.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/client/producer.h"

using namespace ramjet;
using apps::Args;
using apps::CredentialsFromEnv;
using apps::Fail;
using apps::TargetBrokers;
using apps::TlsFromEnv;

namespace {

// One row per subcommand: its name, usage, required options and the function that runs it.
struct Command {
  const char* name;
  const char* usage;
  const char* required;  // option letters that must be present
  int (*run)(admin::Admin& adm, const Args& a);
};

// The options a subcommand takes: -n, and every -X its usage line names.
bool Accepts(const Command& cmd, char letter) {
  if (letter == 'n') return true;
  for (const char* p = cmd.usage; p[0] && p[1]; ++p) {
    if (p[0] == '-' && p[1] == letter &&
        (p == cmd.usage || p[-1] == ' ' || p[-1] == '(' || p[-1] == '[' || p[-1] == '|')) {
      return true;
    }
  }
  return false;
}

std::string FormatTime(int64_t ms) {
  if (ms <= 0) return "1970-01-01 08:00:00,000";
  std::time_t t = ms / 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof(out), "%s,%03lld", buf, static_cast<long long>(ms % 1000));
  return out;
}

void PrintMessage(const client::MessageExt& m) {
  std::printf("%-20s %s\n", "OffsetID:", m.offset_msg_id.c_str());
  std::printf("%-20s %s\n", "Topic:", m.topic.c_str());
  std::printf("%-20s [%s]\n", "Tags:", m.tags().c_str());
  std::printf("%-20s [%s]\n", "Keys:", m.keys().c_str());
  std::printf("%-20s %d\n", "Queue ID:", m.queue_id);
  std::printf("%-20s %lld\n", "Queue Offset:", static_cast<long long>(m.queue_offset));
  std::printf("%-20s %lld\n", "CommitLog Offset:", static_cast<long long>(m.commit_log_offset));
  std::printf("%-20s %d\n", "Reconsume Times:", m.reconsume_times);
  std::printf("%-20s %s\n", "Born Timestamp:", FormatTime(m.born_timestamp).c_str());
  std::printf("%-20s %s\n", "Store Timestamp:", FormatTime(m.store_timestamp).c_str());
  std::printf("%-20s %s\n", "Born Host:", m.born_host.c_str());
  std::printf("%-20s %s\n", "Store Host:", m.store_host.c_str());
  std::printf("%-20s %d\n", "System Flag:", m.sys_flag);
  std::string props;
  for (const auto& [k, v] : m.properties) {
    if (!props.empty()) props += ", ";
    props += k;
    props += '=';
    props += v;
  }
  std::printf("%-20s {%s}\n", "Properties:", props.c_str());
  std::printf("%-20s %s\n\n", "Message Body:", m.body.c_str());
}

// Properties text as mqadmin prints configs: a banner, then "key  =  value" lines.
void PrintProperties(const std::string& source, const std::string& text) {
  std::printf("============%s============\n", source.c_str());
  for (const auto& line : SplitList(text, '\n')) {
    size_t eq = line.find('=');
    std::printf("%-50s=  %s\n", line.substr(0, eq).c_str(),
                eq == std::string::npos ? "" : line.substr(eq + 1).c_str());
  }
}

int CmdTopicList(admin::Admin& adm, const Args& /*a*/) {
  auto r = adm.TopicList();
  if (!r.ok()) return Fail(r.status());
  for (const auto& t : *r) std::printf("%s\n", t.c_str());
  return 0;
}

int CmdTopicRoute(admin::Admin& adm, const Args& a) {
  auto r = adm.TopicRoute(a.Get('t'));
  if (!r.ok()) return Fail(r.status());
  std::printf("%s\n", r->ToJson().c_str());
  return 0;
}

int CmdUpdateTopic(admin::Admin& adm, const Args& a) {
  protocol::TopicConfig t;
  t.topic_name = a.Get('t');
  t.read_queue_nums = std::atoi(a.Get('r', "8").c_str());
  t.write_queue_nums = std::atoi(a.Get('w', "8").c_str());
  t.perm = std::atoi(a.Get('p', "6").c_str());
  t.order = a.Get('o', "false") == "true";
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  const std::vector<std::string>& addrs = *targets;
  for (const auto& addr : addrs) {
    if (Status st = adm.UpdateTopic(addr, t); !st.ok()) return Fail(st);
    std::printf("create topic to %s success.\n", addr.c_str());
  }
  std::printf(
      "TopicConfig [topicName=%s, readQueueNums=%d, writeQueueNums=%d, perm=%d, "
      "topicFilterType=SINGLE_TAG, topicSysFlag=0, order=%s]\n",
      t.topic_name.c_str(), t.read_queue_nums, t.write_queue_nums, t.perm,
      t.order ? "true" : "false");
  return 0;
}

int CmdDeleteTopic(admin::Admin& adm, const Args& a) {
  if (Status st = adm.DeleteTopic(a.Get('c'), a.Get('t')); !st.ok()) return Fail(st);
  std::printf("delete topic [%s] from cluster [%s] success.\n", a.Get('t').c_str(),
              a.Get('c').c_str());
  std::printf("delete topic [%s] from NameServer success.\n", a.Get('t').c_str());
  return 0;
}

int CmdTopicStatus(admin::Admin& adm, const Args& a) {
  auto r = adm.TopicStatus(a.Get('t'));
  if (!r.ok()) return Fail(r.status());
  std::printf("%-32s  %-4s  %-20s  %-20s  %s\n", "#Broker Name", "#QID", "#Min Offset",
              "#Max Offset", "#Last Updated");
  for (const auto& q : *r) {
    std::printf("%-32s  %-4d  %-20lld  %-20lld  %s\n", q.queue.broker_name.c_str(),
                q.queue.queue_id, static_cast<long long>(q.min_offset),
                static_cast<long long>(q.max_offset),
                q.last_update_ms ? FormatTime(q.last_update_ms).c_str() : "");
  }
  return 0;
}

int CmdClusterList(admin::Admin& adm, const Args& a) {
  auto info = adm.ClusterInfo();
  if (!info.ok()) return Fail(info.status());
  std::printf("%-22s  %-22s  %-4s  %-22s  %-14s  %-16s  %-16s  %-8s  %s\n", "#Cluster Name",
              "#Broker Name", "#BID", "#Addr", "#Version", "#InTotalToday", "#OutTotalToday",
              "#Timers", "#Behind(bytes/ms)");
  for (const auto& [cluster, names] : info->cluster_addr_table) {
    if (a.Has('c') && cluster != a.Get('c')) continue;
    for (const auto& name : names) {
      auto b = info->broker_addr_table.find(name);
      if (b == info->broker_addr_table.end()) continue;
      std::map<std::string, std::string> master;
      for (const auto& [id, addr] : b->second.broker_addrs) {
        auto rt = adm.BrokerRuntimeInfo(addr);
        std::map<std::string, std::string> t = rt.ok() ? *rt : std::map<std::string, std::string>{};
        if (id == 0) master = t;
        const auto [bytes, ms] = admin::SlaveLag(master, addr);  // a slave: lag behind the master
        std::printf("%-22s  %-22s  %-4lld  %-22s  %-14s  %-16s  %-16s  %-8s  %s\n", cluster.c_str(),
                    name.c_str(), static_cast<long long>(id), addr.c_str(),
                    t["brokerVersionDesc"].c_str(), t["msgPutTotalTodayNow"].c_str(),
                    t["msgGetTotalTodayNow"].c_str(), t["timerPendingCount"].c_str(),
                    id == 0 ? "-" : (std::to_string(bytes) + "/" + std::to_string(ms)).c_str());
      }
    }
  }
  return 0;
}

// Each member of each broker group with its role and replication state (from
// GET_BROKER_RUNTIME_INFO): a master lists its slaves with acknowledged offset and lag in bytes
// and time; a slave says which master it follows and whether it is connected.
int CmdHaStatus(admin::Admin& adm, const Args& a) {
  auto info = adm.ClusterInfo();
  if (!info.ok()) return Fail(info.status());
  std::printf("%-22s  %-4s  %-22s  %-12s  %s\n", "#Broker Name", "#BID", "#Addr", "#Role",
              "#Replication");
  for (const auto& [name, data] : info->broker_addr_table) {
    if (a.Has('c') && data.cluster != a.Get('c')) continue;
    for (const auto& [id, addr] : data.broker_addrs) {
      if (a.Has('b') && addr != a.Get('b')) continue;
      auto rt = adm.BrokerRuntimeInfo(addr);
      if (!rt.ok()) {
        std::printf("%-22s  %-4lld  %-22s  %-12s  unreachable: %s\n", name.c_str(),
                    static_cast<long long>(id), addr.c_str(), "?",
                    std::string(rt.status().message()).c_str());
        continue;
      }
      auto& t = *rt;
      std::string ha;
      if (t.count("haMasterAddress")) {
        ha = "follows " + t["haMasterAddress"] +
             (t["haConnected"] == "true" ? " (connected)" : " (not connected)");
      } else {
        ha = t["haSlaveCount"] + " slave(s)";
        for (int i = 0; t.count("haSlave." + std::to_string(i)); ++i) {
          ha += "\n" + std::string(68, ' ') + t["haSlave." + std::to_string(i)];
        }
      }
      std::printf("%-22s  %-4lld  %-22s  %-12s  %s\n", name.c_str(), static_cast<long long>(id),
                  addr.c_str(), t["brokerRole"].c_str(), ha.c_str());
    }
  }
  return 0;
}

// The group's members with role, term, sync-state set (the master's) and each slave's lag.
int CmdGetSyncStateSet(admin::Admin& adm, const Args& a) {
  auto members = adm.GroupMembers(a.Get('b'));
  if (!members.ok()) return Fail(members.status());
  std::printf("%-4s  %-22s  %-12s  %-10s  %-6s  %-14s  %s\n", "#BID", "#Addr", "#Role", "#Elected",
              "#Term", "#SyncStateSet", "#Behind(bytes/ms)");
  for (const auto& m : *members) {
    std::printf(
        "%-4lld  %-22s  %-12s  %-10s  %-6lld  %-14s  %s\n", static_cast<long long>(m.route_id),
        m.addr.c_str(), m.role.c_str(), m.controller_role.empty() ? "-" : m.controller_role.c_str(),
        static_cast<long long>(m.epoch), m.sync_state_set.empty() ? "-" : m.sync_state_set.c_str(),
        m.route_id == 0
            ? "-"
            : (std::to_string(m.behind_bytes) + "/" + std::to_string(m.behind_ms)).c_str());
  }
  return 0;
}

int CmdElectMaster(admin::Admin& adm, const Args& a) {
  Status s = adm.ElectMaster(a.Get('b'), std::atoll(a.Get('i').c_str()));
  if (!s.ok()) return Fail(s);
  std::printf("master switch of %s to member %s requested\n", a.Get('b').c_str(),
              a.Get('i').c_str());
  return 0;
}

int CmdSetWritePerm(admin::Admin& adm, const Args& a, bool wipe) {
  auto r = adm.SetBrokerWritePerm(a.Get('b'), wipe);
  if (!r.ok()) return Fail(r.status());
  for (const auto& [ns, count] : *r) {
    std::printf("%s write perm of broker[%s] in name server[%s] OK, %lld\n", wipe ? "wipe" : "add",
                a.Get('b').c_str(), ns.c_str(), static_cast<long long>(count));
  }
  return 0;
}
int CmdWipeWritePerm(admin::Admin& adm, const Args& a) { return CmdSetWritePerm(adm, a, true); }
int CmdAddWritePerm(admin::Admin& adm, const Args& a) { return CmdSetWritePerm(adm, a, false); }

int CmdBrokerStatus(admin::Admin& adm, const Args& a) {
  auto r = adm.BrokerRuntimeInfo(a.Get('b'));
  if (!r.ok()) return Fail(r.status());
  for (const auto& [k, v] : *r) std::printf("%-32s: %s\n", k.c_str(), v.c_str());
  return 0;
}

int CmdGetBrokerConfig(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  const std::vector<std::string>& addrs = *targets;
  for (const auto& addr : addrs) {
    auto r = adm.BrokerConfig(addr);
    if (!r.ok()) return Fail(r.status());
    PrintProperties(addr, *r);
  }
  return 0;
}

int CmdUpdateBrokerConfig(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    auto r = adm.UpdateBrokerConfig(addr, a.Get('k'), a.Get('v'));
    if (!r.ok()) return Fail(r.status());
    std::printf("update broker config success, %s%s%s\n", addr.c_str(), r->empty() ? "" : " (",
                r->empty() ? "" : (*r + ")").c_str());
  }
  return 0;
}

int CmdConsumerProgress(admin::Admin& adm, const Args& a) {
  auto r = adm.ConsumerProgress(a.Get('g'), a.Get('t'));
  if (!r.ok()) return Fail(r.status());
  std::printf("%-32s  %-32s  %-4s  %-20s  %-20s  %s\n", "#Topic", "#Broker Name", "#QID",
              "#Broker Offset", "#Consumer Offset", "#Diff");
  int64_t total = 0;
  for (const auto& row : *r) {
    int64_t diff = row.broker_offset - std::max<int64_t>(row.consumer_offset, 0);
    total += diff;
    std::printf("%-32s  %-32s  %-4d  %-20lld  %-20lld  %lld\n", row.queue.topic.c_str(),
                row.queue.broker_name.c_str(), row.queue.queue_id,
                static_cast<long long>(row.broker_offset),
                static_cast<long long>(row.consumer_offset), static_cast<long long>(diff));
  }
  std::printf("\nDiff Total: %lld\n", static_cast<long long>(total));
  return 0;
}

int CmdConsumerConnection(admin::Admin& adm, const Args& a) {
  auto r = adm.ConsumerConnection(a.Get('g'));
  if (!r.ok()) return Fail(r.status());
  std::printf("%-3s  %-40s  %-10s  %-24s  %s\n", "#Id", "#ClientId", "#Version", "#ClientAddr",
              "#Language");
  int i = 1;
  for (auto& c : r->connections) {
    std::printf("%-3d  %-40s  %-10s  %-24s  %s\n", i++, c["clientId"].c_str(), c["version"].c_str(),
                c["clientAddr"].c_str(), c["language"].c_str());
  }
  std::printf("\nBelow is subscription:\n%-3s  %-48s  %s\n", "#Id", "#Topic", "#SubExpression");
  i = 1;
  for (const auto& [topic, expr] : r->subscriptions) {
    std::printf("%-3d  %-48s  %s\n", i++, topic.c_str(), expr.c_str());
  }
  std::printf("\nConsumeType: %s\nMessageModel: %s\nConsumeFromWhere: %s\n",
              r->consume_type.c_str(), r->message_model.c_str(), r->consume_from_where.c_str());
  return 0;
}

int CmdQueryMsgById(admin::Admin& adm, const Args& a) {
  auto r = adm.ViewMessageByOffsetId(a.Get('i'));
  if (!r.ok()) return Fail(r.status());
  PrintMessage(*r);
  return 0;
}

int CmdQueryMsgByKey(admin::Admin& adm, const Args& a) {
  const std::string& s = a.sub;
  bool uniq = s == "queryMsgByUniqueKey";
  auto r = adm.QueryByKey(a.Get('t'), uniq ? a.Get('i') : a.Get('k'), uniq, 64);
  if (!r.ok()) return Fail(r.status());
  if (uniq) {
    for (const auto& m : *r) PrintMessage(m);
  } else {
    std::printf("%-50s %4s %40s\n", "#Message ID", "#QID", "#Offset");
    for (const auto& m : *r) {
      std::printf("%-50s %4d %40lld\n", m.msg_id.c_str(), m.queue_id,
                  static_cast<long long>(m.queue_offset));
    }
  }
  return 0;
}

// mqadmin queryMsgTraceById: the trace records of a message (its Pub, SubBefore and SubAfter,
// EndTransaction, Recall records), found in the trace topic by the message id.
int CmdQueryMsgTraceById(admin::Admin& adm, const Args& a) {
  const std::string id = a.Get('i');
  const std::string topic = a.Has('t') ? a.Get('t') : "RMQ_SYS_TRACE_TOPIC";
  auto r = adm.QueryMsgTrace(id, topic);
  if (!r.ok()) return Fail(r.status());
  const auto& records = *r;
  if (records.empty()) {
    std::fprintf(stderr, "no trace of message %s in %s\n", id.c_str(), topic.c_str());
    return 1;
  }
  std::printf("%-15s %-40s %-22s %-24s %8s %-8s\n", "#Type", "#Group", "#Host", "#Time", "#CostMs",
              "#Status");
  for (const auto& t : records) {
    const std::string host = !t.client_host.empty() ? t.client_host : t.store_host;
    std::string when = "-";
    if (t.timestamp > 0) {
      std::time_t secs = static_cast<std::time_t>(t.timestamp / 1000);
      char buf[32];
      std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::localtime(&secs));
      when = std::string(buf) + "." + std::to_string(1000 + t.timestamp % 1000).substr(1);
    }
    const char* status = t.type == "SubBefore" ? "-" : t.success ? "success" : "failed";
    std::printf("%-15s %-40s %-22s %-24s %8d %-8s\n", t.type.c_str(),
                t.group.empty() ? "-" : t.group.c_str(), host.empty() ? "-" : host.c_str(),
                when.c_str(), t.cost_ms, status);
  }
  return 0;
}

int CmdQueryMsgByOffset(admin::Admin& adm, const Args& a) {
  client::MessageQueue mq{a.Get('t'), a.Get('b'), std::atoi(a.Get('i').c_str())};
  auto r = adm.MessageAtOffset(mq, std::atoll(a.Get('o').c_str()));
  if (!r.ok()) return Fail(r.status());
  PrintMessage(*r);
  return 0;
}

int CmdPrintMsg(admin::Admin& adm, const Args& a) {
  auto st = adm.TopicStatus(a.Get('t'));
  if (!st.ok()) return Fail(st.status());
  int64_t limit = a.Has('c') ? std::atoll(a.Get('c').c_str()) : INT64_MAX;
  int64_t printed = 0;
  for (const auto& q : *st) {
    if (a.Has('b') && q.queue.broker_name != a.Get('b')) continue;
    if (a.Has('i') && q.queue.queue_id != std::atoi(a.Get('i').c_str())) continue;
    int64_t from = a.Has('o') ? std::atoll(a.Get('o').c_str()) : q.min_offset;
    std::printf("MessageQueue [topic=%s, brokerName=%s, queueId=%d] offsets [%lld, %lld)\n",
                q.queue.topic.c_str(), q.queue.broker_name.c_str(), q.queue.queue_id,
                static_cast<long long>(from), static_cast<long long>(q.max_offset));
    for (int64_t off = from; off < q.max_offset && printed < limit; ++off) {
      auto m = adm.MessageAtOffset(q.queue, off);
      if (!m.ok()) {
        if (m.status().code() == StatusCode::kNotFound) continue;  // a hole (cleaned or filtered)
        return Fail(m.status());
      }
      std::printf("MSGID: %s %s BODY: %s\n", m->msg_id.c_str(), m->topic.c_str(), m->body.c_str());
      ++printed;
    }
  }
  std::printf("Consumed %lld messages\n", static_cast<long long>(printed));
  return 0;
}

int CmdResetOffsetByTime(admin::Admin& adm, const Args& a) {
  const std::string& s = a.sub;
  int64_t ts = -1;
  if (s == "resetOffsetByTime") {
    std::string v = a.Get('s');
    ts = v == "now" ? NowMillis() : std::atoll(v.c_str());
  }
  auto r = adm.ResetOffsetByTime(a.Get('g'), a.Get('t'), ts, a.Get('f', "true") == "true");
  if (!r.ok()) return Fail(r.status());
  std::printf("%-40s  %-40s  %s\n", "#brokerName", "#queueId", "#offset");
  for (const auto& [q, off] : *r) {
    std::printf("%-40s  %-40d  %lld\n", "", q, static_cast<long long>(off));
  }
  return 0;
}

int CmdSendMessage(admin::Admin& /*adm*/, const Args& a) {
  client::ClientConfig cc;
  cc.namesrv_addr = a.Get('n', "127.0.0.1:9876");
  cc.credentials = CredentialsFromEnv();
  cc.tls = TlsFromEnv();
  client::Producer p("TOOLS_PRODUCER", cc);
  if (Status st = p.Start(); !st.ok()) return Fail(st);
  client::Message m(a.Get('t'), a.Get('c'), a.Get('p'));
  if (a.Has('k')) m.keys = SplitList(a.Get('k'), ' ');
  auto r =
      a.Has('b') && a.Has('i')
          ? p.Send(m, client::MessageQueue{a.Get('t'), a.Get('b'), std::atoi(a.Get('i').c_str())})
          : p.Send(m);
  p.Shutdown();
  if (!r.ok()) return Fail(r.status());
  std::printf("%-32s  %-4s  %-20s  %s\n", "#Broker Name", "#QID", "#Send Result", "#MsgId");
  std::printf("%-32s  %-4d  %-20s  %s\n", r->queue.broker_name.c_str(), r->queue.queue_id,
              client::SendStatusName(r->status).data(), r->msg_id.c_str());
  return 0;
}

int CmdUpdateKvConfig(admin::Admin& adm, const Args& a) {
  if (Status st = adm.PutKvConfig(a.Get('s'), a.Get('k'), a.Get('v')); !st.ok()) return Fail(st);
  std::printf("create or update kv config to namespace success.\n");
  return 0;
}

int CmdDeleteKvConfig(admin::Admin& adm, const Args& a) {
  if (Status st = adm.DeleteKvConfig(a.Get('s'), a.Get('k')); !st.ok()) return Fail(st);
  std::printf("delete kv config from namespace success.\n");
  return 0;
}

int CmdGetNamesrvConfig(admin::Admin& adm, const Args& /*a*/) {
  auto r = adm.NamesrvConfig();
  if (!r.ok()) return Fail(r.status());
  for (const auto& [addr, text] : *r) PrintProperties(addr, text);
  return 0;
}

int CmdUpdateSubGroup(admin::Admin& adm, const Args& a) {
  const std::string& s = a.sub;
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  const std::vector<std::string>& addrs = *targets;
  for (const auto& addr : addrs) {
    Status st;
    if (s == "updateSubGroup") {
      std::string json =
          "{\"groupName\":\"" + a.Get('g') + "\"" + ",\"consumeEnable\":" + a.Get('s', "true") +
          ",\"consumeFromMinEnable\":" + a.Get('m', "true") +
          ",\"consumeBroadcastEnable\":" + a.Get('d', "true") +
          ",\"retryQueueNums\":" + a.Get('q', "1") + ",\"retryMaxTimes\":" + a.Get('r', "16") +
          ",\"notifyConsumerIdsChangedEnable\":" + a.Get('a', "true") + "}";
      st = adm.UpdateSubGroup(addr, json);
      if (st.ok()) std::printf("create subscription group to %s success.\n", addr.c_str());
    } else {
      st = adm.DeleteSubGroup(addr, a.Get('g'), a.Get('r', "false") == "true");
      if (st.ok()) {
        std::printf("delete subscription group [%s] from broker [%s] success.\n",
                    a.Get('g').c_str(), addr.c_str());
      }
    }
    if (!st.ok()) return Fail(st);
  }
  return 0;
}

int CmdProducerConnection(admin::Admin& adm, const Args& a) {
  auto route = adm.TopicRoute(a.Get('t'));
  if (!route.ok()) return Fail(route.status());
  int i = 1;
  for (const auto& b : route->broker_datas) {
    auto m = b.broker_addrs.find(0);
    if (m == b.broker_addrs.end()) continue;
    auto r = adm.ProducerConnections(m->second, a.Get('g'));
    if (!r.ok()) return Fail(r.status());
    for (auto& c : *r) {
      std::printf("%04d  %-32s %-22s %-10s %s\n", i++, c["clientId"].c_str(),
                  c["clientAddr"].c_str(), c["language"].c_str(), c["version"].c_str());
    }
  }
  return 0;
}

const Command kCommands[] = {
    {"updateTopic",
     "-t topic (-b brokerAddr | -c cluster) [-r readQueueNums] [-w writeQueueNums] [-p perm] [-o "
     "order]",
     "t", &CmdUpdateTopic},
    {"deleteTopic", "-t topic -c cluster", "tc", &CmdDeleteTopic},
    {"topicList", "", "", &CmdTopicList},
    {"topicRoute", "-t topic", "t", &CmdTopicRoute},
    {"topicStatus", "-t topic", "t", &CmdTopicStatus},
    {"clusterList", "[-c cluster]", "", &CmdClusterList},
    {"brokerStatus", "-b brokerAddr", "b", &CmdBrokerStatus},
    {"haStatus", "[-c cluster] [-b brokerAddr]", "", &CmdHaStatus},
    {"getSyncStateSet", "-b brokerName", "b", &CmdGetSyncStateSet},
    {"electMaster", "-b brokerName -i brokerId", "bi", &CmdElectMaster},
    {"wipeWritePerm", "-b brokerName", "b", &CmdWipeWritePerm},
    {"addWritePerm", "-b brokerName", "b", &CmdAddWritePerm},
    {"getBrokerConfig", "(-b brokerAddr | -c cluster)", "", &CmdGetBrokerConfig},
    {"updateBrokerConfig", "(-b brokerAddr | -c cluster) -k key -v value", "kv",
     &CmdUpdateBrokerConfig},
    {"consumerProgress", "-g group -t topic", "gt", &CmdConsumerProgress},
    {"consumerConnection", "-g group", "g", &CmdConsumerConnection},
    {"queryMsgById", "-i offsetMsgId", "i", &CmdQueryMsgById},
    {"queryMsgByKey", "-t topic -k key", "tk", &CmdQueryMsgByKey},
    {"queryMsgByUniqueKey", "-t topic -i uniqueKey", "ti", &CmdQueryMsgByKey},
    {"queryMsgTraceById", "-i msgId [-t traceTopic]", "i", &CmdQueryMsgTraceById},
    {"queryMsgByOffset", "-t topic -b brokerName -i queueId -o offset", "tbio",
     &CmdQueryMsgByOffset},
    {"printMsg", "-t topic [-s tagExpression]", "t", &CmdPrintMsg},
    {"resetOffsetByTime", "-g group -t topic -s timestamp(ms|now|-1) [-f force(true)]", "gts",
     &CmdResetOffsetByTime},
    {"skipAccumulatedMessage", "-g group -t topic", "gt", &CmdResetOffsetByTime},
    {"sendMessage", "-t topic -p body [-c tags] [-k keys] [-b brokerName -i queueId]", "tp",
     &CmdSendMessage},
    {"consumeMessage", "-t topic [-b brokerName -i queueId] [-o offset] [-c count]", "t",
     &CmdPrintMsg},
    {"updateKvConfig", "-s namespace -k key -v value", "skv", &CmdUpdateKvConfig},
    {"deleteKvConfig", "-s namespace -k key", "sk", &CmdDeleteKvConfig},
    {"getNamesrvConfig", "", "", &CmdGetNamesrvConfig},
    {"updateSubGroup",
     "-g group (-b brokerAddr | -c cluster) [-s consumeEnable] [-m consumeFromMinEnable] [-d "
     "consumeBroadcastEnable] [-q retryQueueNums] [-r retryMaxTimes] [-a notifyConsumerIdsChanged]",
     "g", &CmdUpdateSubGroup},
    {"deleteSubGroup", "-g group (-b brokerAddr | -c cluster) [-r removeOffset]", "g",
     &CmdUpdateSubGroup},
    {"producerConnection", "-g producerGroup -t topic", "gt", &CmdProducerConnection},
    {"updateAclConfig",
     "-a accessKey (-b brokerAddr | -c cluster) [-s secretKey] [-w whiteRemoteAddress] "
     "[-i defaultTopicPerm] [-u defaultGroupPerm] [-t topicPerms] [-g groupPerms] [-m admin]",
     "a", &apps::CmdUpdateAclConfig},
    {"deleteAclConfig", "-a accessKey (-b brokerAddr | -c cluster)", "a",
     &apps::CmdDeleteAclConfig},
    {"updateGlobalWhiteAddr", "-g globalWhiteRemoteAddresses (-b brokerAddr | -c cluster)", "g",
     &apps::CmdUpdateGlobalWhiteAddr},
    {"clusterAclConfigVersion", "(-b brokerAddr | -c cluster)", "",
     &apps::CmdClusterAclConfigVersion},
    {"createUser", "-u username -p password [-t Super|Normal] (-b brokerAddr | -c cluster)", "up",
     &apps::CmdCreateUser},
    {"updateUser",
     "-u username [-p password] [-t userType] [-s enable|disable] (-b brokerAddr | -c cluster)",
     "u", &apps::CmdUpdateUser},
    {"deleteUser", "-u username (-b brokerAddr | -c cluster)", "u", &apps::CmdDeleteUser},
    {"getUser", "-u username (-b brokerAddr | -c cluster)", "u", &apps::CmdGetUser},
    {"listUser", "[-f filter] (-b brokerAddr | -c cluster)", "", &apps::CmdListUser},
    {"createAcl",
     "-s User:name -r resources -a actions -d Allow|Deny [-i sourceIps] (-b brokerAddr | -c "
     "cluster)",
     "srad", &apps::CmdCreateAcl},
    {"updateAcl",
     "-s User:name -r resources -a actions -d Allow|Deny [-i sourceIps] (-b brokerAddr | -c "
     "cluster)",
     "srad", &apps::CmdUpdateAcl},
    {"deleteAcl", "-s User:name [-r resource] (-b brokerAddr | -c cluster)", "s",
     &apps::CmdDeleteAcl},
    {"getAcl", "-s User:name (-b brokerAddr | -c cluster)", "s", &apps::CmdGetAcl},
    {"listAcl", "[-s subjectFilter] [-r resourceFilter] (-b brokerAddr | -c cluster)", "",
     &apps::CmdListAcl},
};

void Help() {
  std::printf("usage: ramjet-admin <subcommand> -n namesrvAddr [options]\n\nsubcommands:\n");
  for (const auto& c : kCommands) std::printf("  %-24s %s\n", c.name, c.usage);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "help" || std::string(argv[1]) == "-h") {
    Help();
    return argc < 2 ? 2 : 0;
  }
  Args a;
  a.sub = argv[1];
  const Command* cmd = nullptr;
  for (const auto& c : kCommands) {
    if (a.sub == c.name) cmd = &c;
  }
  if (!cmd) {
    std::fprintf(stderr, "ERROR: unknown subcommand '%s' (ramjet-admin help lists them)\n",
                 a.sub.c_str());
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    std::string o = argv[i];
    if (o.size() != 2 || o[0] != '-') {
      std::fprintf(stderr, "ERROR: unexpected argument '%s'\nusage: ramjet-admin %s %s\n",
                   o.c_str(), cmd->name, cmd->usage);
      return 2;
    }
    std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (!v.empty() &&
        !(v.size() == 2 && v[0] == '-' && std::isalpha(static_cast<unsigned char>(v[1])))) {
      ++i;
    } else {
      v = "true";  // flag without a value
    }
    if (!Accepts(*cmd, o[1])) {
      std::fprintf(stderr,
                   "ERROR: unknown option '%s' for %s\nusage: ramjet-admin %s -n namesrvAddr %s\n",
                   o.c_str(), cmd->name, cmd->name, cmd->usage);
      return 2;
    }
    a.opt[o[1]] = v;
  }
  for (const char* r = cmd->required; *r; ++r) {
    if (!a.Has(*r)) {
      std::fprintf(stderr, "ERROR: missing option -%c\nusage: ramjet-admin %s %s\n", *r, cmd->name,
                   cmd->usage);
      return 2;
    }
  }
  admin::Admin adm(a.Get('n', "127.0.0.1:9876"), 5000, CredentialsFromEnv(), TlsFromEnv());
  return cmd->run(adm, a);
}
