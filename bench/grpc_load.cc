// ramjet-grpc-load: send load over the 5.x gRPC API (apache.rocketmq.v2.MessagingService
// SendMessage), the counterpart of `ramjet-load producer --async` for the remoting protocol.
//
//   ramjet-grpc-load -e 127.0.0.1:8081 -t BenchTopic [--size 1024] [--inflight 64]
//        [--duration 12 | --messages N]
//
// Keeps --inflight SendMessage calls outstanding on one channel (gRPC's callback API), one
// message per call as the 5.x clients send, round-robin over the topic's writable queues (from
// QueryRoute, which creates an unknown topic as a 5.x producer's start does); counts only
// OK answers as sent. Prints msg/s, MB/s and send latency p50/p99/p99.9/max. Bounded by
// --duration (default 12 s) or --messages.
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "apache/rocketmq/v2/service.grpc.pb.h"
#include "histogram.h"

namespace v2 = apache::rocketmq::v2;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string endpoint = "127.0.0.1:8081";
  std::string topic = "BenchTopic";
  int size = 1024;
  int inflight = 64;
  double duration_s = 12;
  int64_t messages = 0;
  int queues = 8;
};

int Usage() {
  std::fprintf(stderr,
               "usage: ramjet-grpc-load -e HOST:PORT -t TOPIC [--size B] [--inflight N] "
               "[--duration S | --messages N] [--queues N]\n");
  return 2;
}

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "-e")
      o->endpoint = next();
    else if (a == "-t")
      o->topic = next();
    else if (a == "--size")
      o->size = std::atoi(next().c_str());
    else if (a == "--inflight")
      o->inflight = std::atoi(next().c_str());
    else if (a == "--duration")
      o->duration_s = std::atof(next().c_str());
    else if (a == "--messages")
      o->messages = std::atoll(next().c_str());
    else if (a == "--queues")
      o->queues = std::atoi(next().c_str());
    else
      return false;
  }
  return o->size > 0 && o->inflight > 0 && o->queues > 0 && o->duration_s > 0;
}

class Load {
 public:
  Load(const Options& o, std::shared_ptr<grpc::Channel> ch)
      : o_(o), stub_(v2::MessagingService::NewStub(ch)), body_(static_cast<size_t>(o.size), 'x') {}

  void Run() {
    start_ = Clock::now();
    end_ = start_ + std::chrono::milliseconds(static_cast<int64_t>(o_.duration_s * 1000));
    for (int i = 0; i < o_.inflight; ++i) Issue();
    std::unique_lock<std::mutex> l(mu_);
    done_cv_.wait(l, [&] { return outstanding_ == 0; });
    elapsed_ = std::chrono::duration<double>(Clock::now() - start_).count();
  }

  void Report() const {
    const double rate = static_cast<double>(ok_) / elapsed_;
    std::printf(
        "grpc send: %lld ok, %lld failed in %.2f s: %.0f msg/s, %.1f MB/s; latency us p50 %lld "
        "p99 %lld p99.9 %lld max %lld (size %d, inflight %d)\n",
        static_cast<long long>(ok_), static_cast<long long>(failed_), elapsed_, rate,
        rate * o_.size / 1e6, static_cast<long long>(hist_.Percentile(0.5)),
        static_cast<long long>(hist_.Percentile(0.99)),
        static_cast<long long>(hist_.Percentile(0.999)), static_cast<long long>(hist_.max()),
        o_.size, o_.inflight);
    if (!first_error_.empty()) std::printf("first error: %s\n", first_error_.c_str());
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    v2::SendMessageRequest req;
    v2::SendMessageResponse resp;
    Clock::time_point t0;
  };

  // Starts one more call unless the run is over; REQUIRES: not holding mu_.
  void Issue() {
    int64_t n;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (Clock::now() >= end_ || (o_.messages > 0 && issued_ >= o_.messages)) return;
      n = issued_++;
      ++outstanding_;
    }
    auto* c = new Call;
    c->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    c->ctx.AddMetadata("x-mq-client-id", "ramjet-grpc-load");
    v2::Message* m = c->req.add_messages();
    m->mutable_topic()->set_name(o_.topic);
    m->set_body(body_);
    auto* sp = m->mutable_system_properties();
    sp->set_message_id("RJLOAD" + std::to_string(n));
    sp->set_queue_id(static_cast<int32_t>(n % o_.queues));
    sp->set_message_type(v2::NORMAL);
    sp->set_body_encoding(v2::IDENTITY);
    c->t0 = Clock::now();
    stub_->async()->SendMessage(&c->ctx, &c->req, &c->resp,
                                [this, c](grpc::Status s) { Done(c, s); });
  }

  void Done(Call* c, const grpc::Status& s) {
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - c->t0).count();
    const bool ok = s.ok() && c->resp.status().code() == v2::OK;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (ok) {
        ++ok_;
        hist_.Record(us);
      } else {
        ++failed_;
        if (first_error_.empty()) {
          first_error_ = s.ok() ? c->resp.status().message() : s.error_message();
        }
      }
      --outstanding_;
    }
    delete c;
    Issue();
    std::lock_guard<std::mutex> l(mu_);
    if (outstanding_ == 0) done_cv_.notify_all();
  }

  const Options o_;
  std::unique_ptr<v2::MessagingService::Stub> stub_;
  const std::string body_;
  Clock::time_point start_, end_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  int64_t issued_ = 0, outstanding_ = 0, ok_ = 0, failed_ = 0;
  double elapsed_ = 0;
  std::string first_error_;
  ramjet::bench::Histogram hist_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) return Usage();
  // As the broker does (grpc_service.cc): no abseil lock-graph bookkeeping on every gRPC lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  auto ch = grpc::CreateCustomChannel(o.endpoint, grpc::InsecureChannelCredentials(), args);
  if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    std::fprintf(stderr, "ramjet-grpc-load: cannot connect to %s\n", o.endpoint.c_str());
    return 1;
  }
  {
    // As a 5.x producer starts: the route (which also creates an unknown topic) gives the queues.
    auto stub = v2::MessagingService::NewStub(ch);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v2::QueryRouteRequest req;
    req.mutable_topic()->set_name(o.topic);
    v2::QueryRouteResponse resp;
    grpc::Status s = stub->QueryRoute(&ctx, req, &resp);
    if (!s.ok() || resp.status().code() != v2::OK) {
      std::fprintf(stderr, "ramjet-grpc-load: route of %s: %s\n", o.topic.c_str(),
                   s.ok() ? resp.status().message().c_str() : s.error_message().c_str());
      return 1;
    }
    int writable = 0;
    for (const auto& q : resp.message_queues()) {
      if (q.permission() == v2::WRITE || q.permission() == v2::READ_WRITE) ++writable;
    }
    if (writable > 0) o.queues = writable;
  }
  Load load(o, ch);
  load.Run();
  load.Report();
  return 0;
}
