// The dashboard's JSON API (docs/dashboard-api.md): a table of routes (method + path pattern)
// to handlers, each a member function in the api_*.cc file of its page. Handlers return a value
// or a Status; the Status is mapped to an HTTP code in one place (HttpStatusOf).
// Threading: Handle may run on several HTTP workers at once; handlers only read the Api's
// members (the admin client and the history are thread-safe).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "history.h"
#include "ramjet/admin/admin.h"
#include "ramjet/base/mutex.h"
#include "ramjet/base/result.h"
#include "ramjet/client/producer.h"
#include "ramjet/metrics/http_server.h"

namespace ramjet::dashboard {

using Json = nlohmann::json;
using HttpRequest = metrics::HttpServer::Request;
using HttpReply = metrics::HttpServer::Reply;

// One call of a route: the request, the values of the pattern's ":name" segments in order, and
// the parsed JSON body of a write (an object; {} for reads).
struct ApiCall {
  const HttpRequest& http;
  std::vector<std::string> args;
  Json body = Json::object();
  std::string Param(const std::string& name) const { return http.Param(name); }
};

// What a handler answers: JSON, sent as a download named `filename` when that is set.
struct ApiReply {
  Json json;
  std::string filename;
  ApiReply(Json j) : json(std::move(j)) {}  // NOLINT(google-explicit-constructor)
  ApiReply(Json j, std::string f) : json(std::move(j)), filename(std::move(f)) {}
};

// HTTP status of an error: kInvalidArgument 400, kPermissionDenied 403, kNotFound 404, any
// other (a broker or name server failed or did not answer) 502.
int HttpStatusOf(const Status& s);

// NORMAL, RETRY (%RETRY%..), DLQ (%DLQ%..) or SYSTEM (the broker's own topics, also those named
// after a cluster or broker of `cluster`).
std::string TopicTypeOf(const std::string& topic, const protocol::ClusterInfo& cluster);

// A consumer group's committed progress over all masters (GET_ALL_CONSUMER_OFFSET).
struct GroupLag {
  std::set<std::string> topics;
  int64_t lag = 0;
  Json queues = Json::array();  // Progress rows
};

class Api {
 public:
  Api(admin::Admin* admin, client::Producer* producer, History* history, std::string trace_topic,
      std::vector<std::string> allowed_hosts);
  // Answers a request under /api.
  HttpReply Handle(const HttpRequest& request) const;

 private:
  using Handler = Result<ApiReply> (Api::*)(const ApiCall&) const;
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // ":x" takes any one segment
    Handler handler;
  };
  void Add(std::string method, const std::string& pattern, Handler handler);

  // api_cluster.cc
  Result<ApiReply> Overview(const ApiCall& c) const;
  Result<ApiReply> Cluster(const ApiCall& c) const;
  Result<ApiReply> BrokerConfig(const ApiCall& c) const;
  Result<Json> Brokers() const;
  // api_topics.cc
  Result<ApiReply> Topics(const ApiCall& c) const;
  Result<ApiReply> TopicStatus(const ApiCall& c) const;
  Result<ApiReply> TopicRoute(const ApiCall& c) const;
  Result<ApiReply> TopicConsumers(const ApiCall& c) const;
  Result<ApiReply> CreateTopic(const ApiCall& c) const;
  Result<ApiReply> DeleteTopic(const ApiCall& c) const;
  Result<ApiReply> SendMessage(const ApiCall& c) const;
  Result<std::vector<std::string>> AllMasters() const;
  // api_consumers.cc
  Result<ApiReply> Consumers(const ApiCall& c) const;
  Result<ApiReply> Consumer(const ApiCall& c) const;
  Result<ApiReply> UpdateConsumer(const ApiCall& c) const;
  Result<ApiReply> DeleteConsumer(const ApiCall& c) const;
  Result<ApiReply> ResetOffset(const ApiCall& c) const;
  Result<ApiReply> Producers(const ApiCall& c) const;
  // group -> progress; only groups with committed offsets, system groups left out unless asked.
  Result<std::map<std::string, GroupLag>> GroupLags(bool with_system = false) const;
  // api_messages.cc
  Result<ApiReply> Messages(const ApiCall& c) const;
  Result<ApiReply> MessageDetail(const ApiCall& c) const;
  Result<ApiReply> Trace(const ApiCall& c) const;
  Result<ApiReply> ResendMessage(const ApiCall& c) const;
  Result<ApiReply> Dlq(const ApiCall& c) const;
  Result<ApiReply> DlqExport(const ApiCall& c) const;
  Result<ApiReply> DlqResend(const ApiCall& c) const;
  // The newest `max` (query parameter, else default_max) dead letters of the group.
  Result<admin::TimeRangeMessages> DlqMessages(const ApiCall& c, int64_t default_max) const;
  // OK when the offset message id names a broker of the cluster (kInvalidArgument: not an offset
  // id; kNotFound: another host), so that an id cannot make the dashboard connect elsewhere.
  Status CheckStoredInCluster(const std::string& offset_msg_id) const;

  // The producer of test messages, started on first use (a dashboard nobody sends from has no
  // client registered with the brokers).
  Result<client::Producer*> StartedProducer() const RJ_EXCLUDES(producer_mu_);

  admin::Admin* admin_;
  client::Producer* producer_;
  mutable Mutex producer_mu_;
  mutable bool producer_started_ RJ_GUARDED_BY(producer_mu_) = false;
  History* history_;
  std::string trace_topic_;
  std::vector<std::string> allowed_hosts_;  // Host names accepted besides IP literals, localhost
  std::vector<Route> routes_;
};

}  // namespace ramjet::dashboard
