#include "api.h"

#include "guard.h"
#include "ramjet/base/logging.h"

namespace ramjet::dashboard {

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    default:
      return 502;
  }
}

namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t next = path.find('/', at);
    if (next == std::string::npos) next = path.size();
    if (next > at) out.push_back(path.substr(at, next - at));
    at = next + 1;
  }
  return out;
}

HttpReply JsonReply(int status, const Json& j) {
  HttpReply r;
  r.status = status;
  r.content_type = "application/json";
  // Answers reflect live state: never cached; and never framed by another site.
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  r.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

HttpReply ErrorReply(const Status& s) {
  return JsonReply(HttpStatusOf(s), Json{{"error", std::string(s.message())}});
}

}  // namespace

Api::Api(admin::Admin* admin, client::Producer* producer, History* history, std::string trace_topic,
         std::vector<std::string> allowed_hosts)
    : admin_(admin),
      producer_(producer),
      history_(history),
      trace_topic_(std::move(trace_topic)),
      allowed_hosts_(std::move(allowed_hosts)) {
  Add("GET", "/api/overview", &Api::Overview);
  Add("GET", "/api/cluster", &Api::Cluster);
  Add("GET", "/api/brokers/config", &Api::BrokerConfig);
  Add("GET", "/api/topics", &Api::Topics);
  Add("POST", "/api/topics", &Api::CreateTopic);
  Add("DELETE", "/api/topics/:t", &Api::DeleteTopic);
  Add("GET", "/api/topics/:t/status", &Api::TopicStatus);
  Add("GET", "/api/topics/:t/route", &Api::TopicRoute);
  Add("GET", "/api/topics/:t/consumers", &Api::TopicConsumers);
  Add("POST", "/api/topics/:t/send", &Api::SendMessage);
  Add("GET", "/api/consumers", &Api::Consumers);
  Add("POST", "/api/consumers", &Api::UpdateConsumer);
  Add("GET", "/api/consumers/:g", &Api::Consumer);
  Add("DELETE", "/api/consumers/:g", &Api::DeleteConsumer);
  Add("POST", "/api/consumers/:g/reset-offset", &Api::ResetOffset);
  Add("GET", "/api/producers", &Api::Producers);
  Add("GET", "/api/messages", &Api::Messages);
  Add("GET", "/api/messages/:id", &Api::MessageDetail);
  Add("POST", "/api/messages/:id/resend", &Api::ResendMessage);
  Add("GET", "/api/trace/:id", &Api::Trace);
  Add("GET", "/api/dlq", &Api::Dlq);
  Add("GET", "/api/dlq/export", &Api::DlqExport);
  Add("POST", "/api/dlq/resend", &Api::DlqResend);
}

void Api::Add(std::string method, const std::string& pattern, Handler handler) {
  routes_.push_back({std::move(method), Split(pattern), handler});
}

HttpReply Api::Handle(const HttpRequest& request) const {
  if (Status s = CheckHost(request, allowed_hosts_); !s.ok()) {
    RJ_LOG(kWarn, "dashboard", "%s %s: %s", request.method.c_str(), request.path.c_str(),
           std::string(s.message()).c_str());
    return ErrorReply(s);
  }
  if (IsWrite(request)) {
    if (Status s = CheckWrite(request); !s.ok()) {
      RJ_LOG(kWarn, "dashboard", "%s %s: %s", request.method.c_str(), request.path.c_str(),
             std::string(s.message()).c_str());
      return ErrorReply(s);
    }
  }
  const std::vector<std::string> segments = Split(request.path);
  bool path_known = false;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<std::string> args;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (route.segments[i][0] == ':') {
        args.push_back(segments[i]);
      } else {
        match = route.segments[i] == segments[i];
      }
    }
    if (!match) continue;
    path_known = true;
    const std::string& method = request.method == "HEAD" ? "GET" : request.method;
    if (route.method != method) continue;
    ApiCall call{request, std::move(args)};
    if (IsWrite(request) && !request.body.empty()) {
      call.body = Json::parse(request.body, nullptr, false);
      if (!call.body.is_object()) {
        return ErrorReply(Status::InvalidArgument("the request body is not a JSON object"));
      }
    }
    Result<ApiReply> answer = Status::Internal("unreachable");
    try {
      answer = (this->*route.handler)(call);
    } catch (const Json::exception& e) {  // a field of the wrong JSON type
      answer = Status::InvalidArgument(std::string("bad request body: ") + e.what());
    } catch (const std::exception& e) {  // a defect: still a JSON answer, and logged
      RJ_LOG(kError, "dashboard", "%s %s: %s", request.method.c_str(), request.path.c_str(),
             e.what());
      return JsonReply(500, Json{{"error", "internal error (logged by the broker)"}});
    }
    if (!answer.ok()) return ErrorReply(answer.status());
    HttpReply reply = JsonReply(200, answer->json);
    if (!answer->filename.empty()) {
      reply.headers.emplace_back("Content-Disposition",
                                 "attachment; filename=\"" + answer->filename + "\"");
    }
    return reply;
  }
  if (path_known) {
    return JsonReply(405, Json{{"error", request.method + " is not allowed on " + request.path}});
  }
  return JsonReply(404, Json{{"error", "no API at " + request.path}});
}

}  // namespace ramjet::dashboard
