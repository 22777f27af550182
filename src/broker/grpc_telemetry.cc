// Telemetry: the bidirectional settings stream of every 5.x client. The client sends its
// Settings; the broker answers with the settings it is to use (RocketMQ's proxy does the same):
// its retry policy, the broker's largest message body for a producer, batch size and polling
// time for a consumer. A VerifyMessage / PrintThreadStackTrace result from the client is read
// and dropped. See grpc_service.h.
#include <deque>
#include <set>
#include <vector>

#include "grpc_service_impl.h"
#include "ramjet/base/logging.h"

namespace ramjet::broker {
namespace {

// RocketMQ's message delay levels from 1 s: a 5.x consumer's retry backoff by default.
constexpr int kConsumerBackoffSeconds[] = {1,   5,   10,  30,  60,  120,  180,  240,  300,
                                           360, 420, 480, 540, 600, 1200, 1800, 3600, 7200};

}  // namespace

class TelemetryCall final
    : public ::grpc::ServerBidiReactor<v2::TelemetryCommand, v2::TelemetryCommand> {
 public:
  TelemetryCall(GrpcService::Impl* svc, GrpcCaller caller,
                GrpcService::Impl::CallCredentials credentials)
      : svc_(*svc), caller_(std::move(caller)), credentials_(std::move(credentials)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      MutexLock l(&mu_);
      reading_done_ = true;
      MaybeFinish();
      return;
    }
    if (in_.has_settings()) {
      // Publishing topics need PUB, a subscription SUB on its group and topics (as Apache's
      // proxy): a session receives transaction checks and messages of what it names.
      if (auto denied = svc_.Authorize(credentials_, ResourcesOf(in_.settings()))) {
        v2::TelemetryCommand refused;
        refused.mutable_status()->set_code(denied->code);
        refused.mutable_status()->set_message(denied->message);
        Send(std::move(refused));
      } else {
        svc_.AddSession(this, SessionOf(in_.settings()));
        Send(Answer(in_.settings()));
      }
    } else if (in_.has_thread_stack_trace()) {
      svc_.OnClientAnswer(in_.thread_stack_trace().nonce(), in_);
    } else if (in_.has_verify_message_result()) {
      svc_.OnClientAnswer(in_.verify_message_result().nonce(), in_);
    }
    in_.Clear();
    StartRead(&in_);
  }
  void OnWriteDone(bool ok) override {
    MutexLock l(&mu_);
    writing_ = false;
    if (!ok) out_.clear();
    if (!out_.empty()) return WriteFront();
    MaybeFinish();
  }
  void OnDone() override {
    svc_.RemoveSession(this);
    delete this;
  }

  // Queues a command to the client (dropped once the stream is finishing).
  void Send(v2::TelemetryCommand cmd) {
    MutexLock l(&mu_);
    if (finished_ || reading_done_) return;
    out_.push_back(std::move(cmd));
    if (!writing_) WriteFront();
  }

 private:
  v2::TelemetryCommand Answer(const v2::Settings& in) const;
  GrpcService::Impl::Session SessionOf(const v2::Settings& in) const;
  static GrpcService::Impl::Resources ResourcesOf(const v2::Settings& in);
  void WriteFront() RJ_REQUIRES(mu_) {
    writing_ = true;
    current_ = std::move(out_.front());
    out_.pop_front();
    StartWrite(&current_);
  }
  void MaybeFinish() RJ_REQUIRES(mu_) {
    if (reading_done_ && !writing_ && !finished_) {
      finished_ = true;
      Finish(::grpc::Status::OK);
    }
  }

  GrpcService::Impl& svc_;
  const GrpcCaller caller_;
  const GrpcService::Impl::CallCredentials credentials_;
  v2::TelemetryCommand in_;
  Mutex mu_;
  std::deque<v2::TelemetryCommand> out_ RJ_GUARDED_BY(mu_);
  v2::TelemetryCommand current_;  // being written
  bool writing_ RJ_GUARDED_BY(mu_) = false;
  bool reading_done_ RJ_GUARDED_BY(mu_) = false;
  bool finished_ RJ_GUARDED_BY(mu_) = false;
};

GrpcService::Impl::Resources TelemetryCall::ResourcesOf(const v2::Settings& in) {
  GrpcService::Impl::Resources r;
  if (in.has_publishing()) {
    for (const auto& t : in.publishing().topics()) r[GrpcService::Impl::T(t)] |= acl::kPub;
  }
  if (in.has_subscription()) {
    const auto& sub = in.subscription();
    if (sub.has_group()) r[GrpcService::Impl::G(sub.group())] |= acl::kSub;
    for (const auto& e : sub.subscriptions()) r[GrpcService::Impl::T(e.topic())] |= acl::kSub;
  }
  return r;
}

GrpcService::Impl::Session TelemetryCall::SessionOf(const v2::Settings& in) const {
  GrpcService::Impl::Session s;
  if (in.has_publishing()) {
    for (const auto& t : in.publishing().topics()) s.topics.insert(grpc_api::WithNamespace(t));
  }
  if (in.has_subscription()) {
    const auto& sub = in.subscription();
    if (sub.has_group()) s.group = grpc_api::WithNamespace(sub.group());
    for (const auto& e : sub.subscriptions()) {
      const std::string topic = grpc_api::WithNamespace(e.topic());
      s.subscriptions[topic] = grpc_api::SubscriptionOf(topic, e.expression());
    }
  }
  s.connection.client_addr = caller_.peer;
  s.connection.client_id = caller_.client_id;
  s.connection.language = grpc_api::LanguageOf(in.user_agent().language());
  s.connection.version = grpc_api::MqVersionOf(in.user_agent().version());
  return s;
}

v2::TelemetryCommand TelemetryCall::Answer(const v2::Settings& in) const {
  v2::TelemetryCommand cmd;
  grpc_api::SetStatus(cmd.mutable_status(), v2::OK, "");
  v2::Settings* s = cmd.mutable_settings();
  *s = in;
  if (in.has_publishing()) {
    auto* b = s->mutable_backoff_policy();
    if (b->max_attempts() <= 0) b->set_max_attempts(3);
    if (!b->has_exponential_backoff() && !b->has_customized_backoff()) {
      auto* e = b->mutable_exponential_backoff();
      e->mutable_initial()->set_nanos(10 * 1000000);
      e->mutable_max()->set_seconds(1);
      e->set_multiplier(2);
    }
    s->mutable_publishing()->set_max_body_size(
        static_cast<int32_t>(svc_.bc().config().store.max_message_size));
    s->mutable_publishing()->set_validate_message_type(false);
  } else if (in.has_subscription()) {
    auto* sub = s->mutable_subscription();
    const std::string group =
        sub->has_group() ? grpc_api::WithNamespace(sub->group()) : std::string();
    auto g = svc_.bc().groups.Find(group);
    const int32_t retries = g ? g->retry_max_times : 16;
    auto* b = s->mutable_backoff_policy();
    b->Clear();
    b->set_max_attempts(retries + 1);
    auto* c = b->mutable_customized_backoff();
    for (int sec : kConsumerBackoffSeconds) c->add_next()->set_seconds(sec);
    sub->set_fifo(g && g->consume_message_orderly);
    if (!sub->has_receive_batch_size()) sub->set_receive_batch_size(32);
    if (!sub->has_long_polling_timeout()) sub->mutable_long_polling_timeout()->set_seconds(20);
    if (in.user_agent().language() == v2::PYTHON) {
      // rocketmq-python-client 5.1.2's PushConsumer registers metric gauges whenever settings
      // arrive and fails on every message when metrics are off (no meter provider). Metrics
      // on, pointing at the access point: the client's periodic OTLP export there is answered
      // UNIMPLEMENTED and dropped by the client; its consumption works.
      s->mutable_metric()->set_on(true);
      *s->mutable_metric()->mutable_endpoints() = in.access_point();
    }
  }
  return cmd;
}

void GrpcService::Impl::AddSession(TelemetryCall* call, Session session) {
  MutexLock l(&sessions_mu_);
  sessions_[call] = std::move(session);
}

void GrpcService::Impl::RemoveSession(TelemetryCall* call) {
  MutexLock l(&sessions_mu_);
  sessions_.erase(call);
}

bool GrpcService::Impl::SendToPublisher(const std::string& topic, const v2::TelemetryCommand& cmd) {
  MutexLock l(&sessions_mu_);  // held while sending: a session leaves only under it
  std::vector<TelemetryCall*> candidates;
  for (const auto& [call, session] : sessions_) {
    if (session.topics.count(topic)) candidates.push_back(call);
  }
  if (candidates.empty()) return false;
  candidates[bc().Random() % candidates.size()]->Send(cmd);
  return true;
}

Result<v2::TelemetryCommand> GrpcService::Impl::CallClient(const std::string& client_id,
                                                           const v2::TelemetryCommand& cmd,
                                                           const std::string& nonce,
                                                           int timeout_ms) {
  auto promise = std::make_shared<std::promise<v2::TelemetryCommand>>();
  auto answer = promise->get_future();
  {
    MutexLock l(&calls_mu_);
    calls_[nonce] = promise;
  }
  bool sent = false;
  {
    MutexLock l(&sessions_mu_);  // held while sending: a session leaves only under it
    for (const auto& [call, session] : sessions_) {
      if (session.connection.client_id == client_id) {
        call->Send(cmd);
        sent = true;
        break;
      }
    }
  }
  const bool answered =
      sent && answer.wait_for(std::chrono::milliseconds(timeout_ms)) == std::future_status::ready;
  {
    MutexLock l(&calls_mu_);
    calls_.erase(nonce);
  }
  if (!sent) return Status::NotFound("no live 5.x client " + client_id);
  if (!answered) return Status::Timeout("client " + client_id + " did not answer in time");
  return answer.get();
}

void GrpcService::Impl::OnClientAnswer(const std::string& nonce,
                                       const v2::TelemetryCommand& answer) {
  MutexLock l(&calls_mu_);
  auto it = calls_.find(nonce);
  if (it == calls_.end()) return;  // late, or not ours
  it->second->set_value(answer);
  calls_.erase(it);
}

std::vector<GrpcService::Impl::Session> GrpcService::Impl::ConsumerSessions(
    const std::string& group) const {
  MutexLock l(&sessions_mu_);
  std::vector<Session> out;
  for (const auto& [call, session] : sessions_) {
    if (!group.empty() && session.group == group) out.push_back(session);
  }
  return out;
}

::grpc::ServerBidiReactor<v2::TelemetryCommand, v2::TelemetryCommand>* GrpcService::Impl::Telemetry(
    ::grpc::CallbackServerContext* ctx) {
  if (auto denied = Authorize(ctx, {})) {
    return new RefusedStream<::grpc::ServerBidiReactor<v2::TelemetryCommand, v2::TelemetryCommand>>(
        denied->message);
  }
  return new TelemetryCall(this, CallerOf(ctx), CredentialsOf(ctx));
}

}  // namespace ramjet::broker
