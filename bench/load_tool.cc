// ramjet-load: a load generator for any RocketMQ-compatible broker (4.x remoting protocol).
//
//   ramjet-load producer -n 127.0.0.1:9876 -t BenchTopic [--size 1024] [--threads 4]
//        [--async --inflight 64] [--batch 32] [--rate 30000] [--tags T] [--keys]
//        [--delay LEVEL] [--messages N | --duration SECONDS] [--interval 5] [--json out.json]
//        [--topics N]   spread the requests over N topics <topic>-0 .. <topic>-(N-1)
//        [--no-cork]    unpaced async: one send() per request instead of one per round of
//                       free in-flight slots (remoting::WriteCork)
//        [--refill-from-main]  unpaced async: the sending thread refills freed slots, woken by
//                       each answer, instead of the answer's callback issuing the next request
//   ramjet-load consumer -n ... -t BenchTopic [-g group] [--duration S | --messages N]
//        [--json out.json]
//   ramjet-load tcp-baseline [--duration 3]     loopback TCP bandwidth on this machine
//   ramjet-load tcp-echo --rate 10000 [--size 1024] [--duration 10]
//        this machine's floor for request latency at a fixed rate: a loopback echo (a sleeping
//        pacer, a blocking echo thread, a receiving thread; no broker), timed from intended send
//
// Every few seconds it prints throughput (msg/s, MB/s) and HDR latency percentiles (p50, p90,
// p99, p99.9, p99.99, max) of the interval; at the end the same for the whole run, plus a JSON
// summary. Send latency is measured per request (a batch counts once per request). With --rate
// the latency of each send is measured from its *intended* send time, so a stalled broker shows
// up as latency instead of silently lowering the offered load (no coordinated omission).
// The consumer measures end-to-end latency from the send time written in the first 8 bytes of
// each body by the producer (same machine clock).
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "histogram.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/client/producer.h"
#include "ramjet/client/push_consumer.h"
#include "ramjet/remoting/remoting.h"

using namespace ramjet;
using bench::Histogram;

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string mode;
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchmarkTest";
  std::string group;
  int size = 1024;
  int threads = 1;
  bool async = false;
  int inflight = 64;
  int batch = 0;
  int topics = 1;  // --topics N: request i goes to <topic>-(i mod N) (N > 1)
  double rate = 0;
  std::string tags;
  bool keys = false;
  bool cork = true;  // --no-cork: one send() per request
  // Unpaced async: an answer's callback (on the client's I/O thread) issues the next request
  // in its slot; --refill-from-main: the sending thread does, woken per answer.
  bool refill_in_callback = true;
  int delay = 0;
  int64_t messages = 0;
  double duration = 0;
  double interval = 5;
  std::string json;
  std::string access_key, secret_key;  // ACL 1.0: sign every request (--access-key, --secret-key)
  bool tls = false;                    // --tls: TLS connections (servers not verified)
};

// The client TLS context of --tls (null without it); exits on failure.
std::shared_ptr<remoting::TlsContext> ClientTls(const Options& o) {
  if (!o.tls) return nullptr;
  auto ctx = remoting::TlsContext::ForClient(remoting::TlsOptions{});
  if (!ctx.ok()) {
    std::fprintf(stderr, "--tls: %s\n", ctx.status().ToString().c_str());
    std::exit(2);
  }
  return *ctx;
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: ramjet-load producer|consumer|tcp-baseline|tcp-echo [-n namesrv] [-t topic] "
      "[-g group] [--size B] [--threads N] [--async] [--inflight N] [--batch N] "
      "[--topics N] [--rate MSG_PER_S] [--tags T] [--keys] [--delay LEVEL] [--messages N] "
      "[--no-cork] [--refill-from-main] "
      "[--duration S] [--interval S] [--json FILE] [--access-key AK --secret-key SK] [--tls]\n");
  return 2;
}

bool Parse(int argc, char** argv, Options* o) {
  if (argc < 2) return false;
  o->mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "-n")
      o->namesrv = next();
    else if (a == "-t")
      o->topic = next();
    else if (a == "-g")
      o->group = next();
    else if (a == "--size")
      o->size = std::atoi(next().c_str());
    else if (a == "--threads")
      o->threads = std::atoi(next().c_str());
    else if (a == "--async")
      o->async = true;
    else if (a == "--inflight")
      o->inflight = std::atoi(next().c_str());
    else if (a == "--batch")
      o->batch = std::atoi(next().c_str());
    else if (a == "--topics")
      o->topics = std::max(1, std::atoi(next().c_str()));
    else if (a == "--rate")
      o->rate = std::atof(next().c_str());
    else if (a == "--tags")
      o->tags = next();
    else if (a == "--keys")
      o->keys = true;
    else if (a == "--no-cork")
      o->cork = false;
    else if (a == "--refill-from-main")
      o->refill_in_callback = false;
    else if (a == "--delay")
      o->delay = std::atoi(next().c_str());
    else if (a == "--messages")
      o->messages = std::atoll(next().c_str());
    else if (a == "--duration")
      o->duration = std::atof(next().c_str());
    else if (a == "--interval")
      o->interval = std::atof(next().c_str());
    else if (a == "--json")
      o->json = next();
    else if (a == "--access-key")
      o->access_key = next();
    else if (a == "--secret-key")
      o->secret_key = next();
    else if (a == "--tls")
      o->tls = true;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (o->size < 8) o->size = 8;
  if (o->messages <= 0 && o->duration <= 0) o->duration = 30;
  return true;
}

struct Stats {
  std::mutex mu;
  Histogram interval, total;
  int64_t ok = 0, errors = 0, bytes = 0;
  int64_t interval_ok = 0, interval_bytes = 0;
  void Record(int64_t latency_us, int64_t msgs, int64_t nbytes) {
    std::lock_guard<std::mutex> l(mu);
    interval.Record(latency_us);
    total.Record(latency_us);
    ok += msgs;
    bytes += nbytes;
    interval_ok += msgs;
    interval_bytes += nbytes;
  }
  void Error() {
    std::lock_guard<std::mutex> l(mu);
    ++errors;
  }
};

std::string Line(const char* what, double secs, int64_t msgs, int64_t bytes, const Histogram& h) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "%s %9.0f msg/s %8.1f MB/s | latency ms p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f "
                "p99.99 %.3f max %.3f",
                what, msgs / secs, bytes / secs / 1e6, h.Percentile(0.5) / 1000.0,
                h.Percentile(0.9) / 1000.0, h.Percentile(0.99) / 1000.0,
                h.Percentile(0.999) / 1000.0, h.Percentile(0.9999) / 1000.0, h.max() / 1000.0);
  return buf;
}

void Reporter(Stats* s, const Options& o, std::atomic<bool>* stop, const char* what) {
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (!stop->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - last).count();
    if (secs < o.interval) continue;
    std::lock_guard<std::mutex> l(s->mu);
    double t = std::chrono::duration<double>(now - start).count();
    std::printf("[%6.1fs] %s | total %lld, errors %lld\n", t,
                Line(what, secs, s->interval_ok, s->interval_bytes, s->interval).c_str(),
                static_cast<long long>(s->ok), static_cast<long long>(s->errors));
    std::fflush(stdout);
    s->interval.Reset();
    s->interval_ok = s->interval_bytes = 0;
    last = now;
  }
}

void Summary(Stats* s, const Options& o, double secs, const char* what, const char* latency_kind) {
  std::lock_guard<std::mutex> l(s->mu);
  std::printf(
      "SUMMARY %s | messages %lld in %.1fs, errors %lld (size %d, threads %d, inflight %d, "
      "batch %d)\n",
      Line(what, secs, s->ok, s->bytes, s->total).c_str(), static_cast<long long>(s->ok), secs,
      static_cast<long long>(s->errors), o.size, o.threads, o.async ? o.inflight : o.threads,
      o.batch);
  if (o.json.empty()) return;
  FILE* f = std::fopen(o.json.c_str(), "w");
  if (!f) return;
  const Histogram& h = s->total;
  std::fprintf(
      f,
      "{\"mode\":\"%s\",\"topic\":\"%s\",\"size\":%d,\"threads\":%d,\"async\":%s,"
      "\"inflight\":%d,\"batch\":%d,\"topics\":%d,\"rate\":%.0f,\"seconds\":%.3f,\"messages\":%lld,"
      "\"errors\":%lld,\"msg_per_s\":%.1f,\"mb_per_s\":%.3f,\"latency\":\"%s\","
      "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,"
      "\"p99.99\":%.3f,\"max\":%.3f}}\n",
      o.mode.c_str(), o.topic.c_str(), o.size, o.threads, o.async ? "true" : "false", o.inflight,
      o.batch, o.topics, o.rate, secs, static_cast<long long>(s->ok),
      static_cast<long long>(s->errors), s->ok / secs, s->bytes / secs / 1e6, latency_kind,
      h.Percentile(0.5) / 1000.0, h.Percentile(0.9) / 1000.0, h.Percentile(0.99) / 1000.0,
      h.Percentile(0.999) / 1000.0, h.Percentile(0.9999) / 1000.0, h.max() / 1000.0);
  std::fclose(f);
}

// The topic of request req_index: o.topic, or with --topics N one of N in turn.
std::string TopicOf(const Options& o, int64_t req_index) {
  if (o.topics <= 1) return o.topic;
  return o.topic + "-" + std::to_string(req_index % o.topics);
}

client::Message MakeMessage(const Options& o, const std::string& topic, int64_t seq,
                            int64_t stamp_us) {
  client::Message m;
  m.topic = topic;
  m.tags = o.tags;
  m.body.assign(static_cast<size_t>(o.size), 'x');
  EncodeBE64(m.body.data(), static_cast<uint64_t>(stamp_us));
  if (o.keys) m.keys = {"k" + std::to_string(seq)};
  m.delay_level = o.delay;
  return m;
}

// A send counts only when the broker stored it as asked: SEND_OK. FLUSH_DISK_TIMEOUT,
// FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE (a SYNC_MASTER without a slave in sync) are errors.
bool Stored(const Result<client::SendResult>& r) {
  return r.ok() && r->status == client::SendStatus::kSendOk;
}

int RunProducer(const Options& o) {
  client::ClientConfig cc;
  cc.namesrv_addr = o.namesrv;
  cc.credentials = {o.access_key, o.secret_key, ""};
  cc.tls = ClientTls(o);
  client::Producer producer(o.group.empty() ? "BENCH_PRODUCER" : o.group, cc);
  if (Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "producer start: %s\n", s.ToString().c_str());
    return 1;
  }
  // Warm the routes (and auto-create the topics if the broker allows it).
  for (int i = 0; i < o.topics; ++i) {
    const std::string topic = TopicOf(o, i);
    if (auto q = producer.FetchPublishQueues(topic); !q.ok()) {
      std::fprintf(stderr, "no route for %s: %s\n", topic.c_str(), q.status().ToString().c_str());
      return 1;
    }
  }
  Stats stats;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> issued{0};
  const int per_req = o.batch > 0 ? o.batch : 1;
  const auto start = std::chrono::steady_clock::now();
  const int64_t start_us = NowMicros();
  auto done = [&] {
    if (o.messages > 0 && issued.load() >= o.messages) return true;
    if (o.duration > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
            o.duration) {
      return true;
    }
    return false;
  };
  // Fixed rate: request i is due at start + i * per_req / rate.
  auto intended_us = [&](int64_t req_index) -> int64_t {
    if (o.rate <= 0) return 0;
    return start_us + static_cast<int64_t>(static_cast<double>(req_index) * per_req * 1e6 / o.rate);
  };
  std::thread reporter(Reporter, &stats, std::cref(o), &stop, "send");
  std::atomic<int64_t> req_counter{0};
  auto pace = [&](int64_t req_index) -> int64_t {
    int64_t due = intended_us(req_index);
    if (due == 0) return NowMicros();
    int64_t now = NowMicros();
    if (due > now) std::this_thread::sleep_for(std::chrono::microseconds(due - now));
    return due;
  };
  if (o.async) {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    // Closed loop: each answer's callback issues the next request in its slot, on the client's
    // I/O thread, so the requests issued while one read round is handled leave together with
    // one send() at its end (a pipelining client; no thread hand-off per answer). A callback
    // run inline by a failing SendAsync (depth > 0) frees its slot instead of recursing.
    const bool refill = o.rate <= 0 && o.cork && o.refill_in_callback;
    static thread_local int issue_depth = 0;
    std::function<void()> issue;
    issue = [&] {
      ++issue_depth;
      int64_t idx = req_counter.fetch_add(1);
      int64_t t0 = pace(idx);
      const std::string topic = TopicOf(o, idx);
      auto on_done = [&, t0](const Result<client::SendResult>& r) {
        if (Stored(r)) {
          stats.Record(NowMicros() - t0, per_req, static_cast<int64_t>(per_req) * o.size);
        } else {
          stats.Error();
        }
        if (refill && issue_depth == 0 && !done()) return issue();
        std::lock_guard<std::mutex> l(mu);
        --in_flight;
        cv.notify_one();
      };
      if (o.batch > 0) {
        std::vector<client::Message> msgs;
        for (int i = 0; i < o.batch; ++i) {
          msgs.push_back(MakeMessage(o, topic, issued.fetch_add(1), NowMicros()));
          msgs.back().delay_level = 0;
        }
        producer.SendBatchAsync(msgs, on_done);
      } else {
        producer.SendAsync(MakeMessage(o, topic, issued.fetch_add(1), NowMicros()), on_done);
      }
      --issue_depth;
    };
    while (!done()) {
      int slots = 1;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return in_flight < o.inflight; });
        // Callbacks refill while this thread waits: the run may have ended meanwhile.
        if (done()) break;
        // Unpaced, every free slot is taken at once and those requests are written together
        // (one send() per round, as a pipelining client does); paced sends go one by one.
        if (o.rate <= 0 && o.cork) slots = o.inflight - in_flight;
        in_flight += slots;
      }
      remoting::WriteCork cork;
      for (int i = 0; i < slots; ++i) {
        if (i > 0 && done()) {
          std::lock_guard<std::mutex> l(mu);
          in_flight -= slots - i;
          break;
        }
        issue();
      }
    }
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(10), [&] { return in_flight == 0; });
  } else {
    std::vector<std::thread> workers;
    for (int t = 0; t < std::max(1, o.threads); ++t) {
      workers.emplace_back([&] {
        while (!done()) {
          int64_t idx = req_counter.fetch_add(1);
          int64_t t0 = pace(idx);
          const std::string topic = TopicOf(o, idx);
          if (o.batch > 0) {
            std::vector<client::Message> msgs;
            for (int i = 0; i < o.batch; ++i) {
              msgs.push_back(MakeMessage(o, topic, issued.fetch_add(1), NowMicros()));
              msgs.back().delay_level = 0;
            }
            auto r = producer.SendBatch(msgs);
            if (Stored(r)) {
              stats.Record(NowMicros() - t0, o.batch, static_cast<int64_t>(o.batch) * o.size);
            } else {
              stats.Error();
            }
          } else {
            auto r = producer.Send(MakeMessage(o, topic, issued.fetch_add(1), NowMicros()));
            if (Stored(r)) {
              stats.Record(NowMicros() - t0, 1, o.size);
            } else {
              stats.Error();
            }
          }
        }
      });
    }
    for (auto& w : workers) w.join();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  reporter.join();
  Summary(&stats, o, secs, "send",
          o.rate > 0 ? "send, from intended send time" : "send, per request");
  producer.Shutdown();
  return stats.errors > 0 && stats.ok == 0 ? 1 : 0;
}

int RunConsumer(const Options& o) {
  client::ConsumerConfig cc;
  cc.credentials = {o.access_key, o.secret_key, ""};
  cc.tls = ClientTls(o);
  cc.namesrv_addr = o.namesrv;
  cc.consume_from_where = client::ConsumeFromWhere::kLastOffset;
  cc.consume_threads = 4;
  client::PushConsumer consumer(o.group.empty() ? "BENCH_CONSUMER" : o.group, cc);
  Stats stats;
  std::atomic<int64_t> received{0};
  if (Status s = consumer.Subscribe(o.topic, o.tags.empty() ? "*" : o.tags); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  consumer.RegisterListener([&](const client::MessageExt& m) {
    if (m.body.size() >= 8) {
      int64_t sent = static_cast<int64_t>(DecodeBE64(m.body.data()));
      stats.Record(NowMicros() - sent, 1, static_cast<int64_t>(m.body.size()));
    }
    received.fetch_add(1);
    return client::ConsumeStatus::kSuccess;
  });
  if (Status s = consumer.Start(); !s.ok()) {
    std::fprintf(stderr, "consumer start: %s\n", s.ToString().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  auto start = std::chrono::steady_clock::now();
  std::thread reporter(Reporter, &stats, std::cref(o), &stop, "consume (end-to-end)");
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.messages > 0 && received.load() >= o.messages) break;
    if (o.duration > 0 && t >= o.duration) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  reporter.join();
  Summary(&stats, o, secs, "consume", "end-to-end, from the producer's send time");
  consumer.Shutdown();
  return 0;
}

// A listening socket on an ephemeral loopback port (its address in *a); -1 after perror.
int ListenOnLoopback(sockaddr_in* a) {
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  *a = sockaddr_in{};
  a->sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(a), sizeof(*a)) != 0 || ::listen(lfd, 1) != 0) {
    std::perror("bind");
    ::close(lfd);
    return -1;
  }
  socklen_t len = sizeof(*a);
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(a), &len);
  return lfd;
}

int RunTcpBaseline(const Options& o) {
  sockaddr_in a{};
  const int lfd = ListenOnLoopback(&a);
  if (lfd < 0) return 1;
  double secs = o.duration > 0 ? o.duration : 3;
  std::atomic<int64_t> got{0};
  std::thread server([&] {
    int fd = ::accept(lfd, nullptr, nullptr);
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      got.fetch_add(n);
    }
    ::close(fd);
  });
  int cfd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(cfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::perror("connect");
    return 1;
  }
  std::vector<char> chunk(1 << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < secs) {
    if (::send(cfd, chunk.data(), chunk.size(), 0) <= 0) break;
  }
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(cfd);
  server.join();
  ::close(lfd);
  std::printf("TCP loopback: %.1f MB/s over %.1fs (1 MiB writes)\n", got.load() / t / 1e6, t);
  if (!o.json.empty()) {
    if (FILE* f = std::fopen(o.json.c_str(), "w")) {
      std::fprintf(f, "{\"mode\":\"tcp-baseline\",\"mb_per_s\":%.3f,\"seconds\":%.3f}\n",
                   got.load() / t / 1e6, t);
      std::fclose(f);
    }
  }
  return 0;
}

// Loopback echo of --size byte requests at --rate from one pacing thread (as the producer paces),
// each timed from its intended send time. The threads sleep between requests as a broker's and a
// client's I/O threads do, so the tail is what this machine's scheduler adds to any request.
int RunTcpEcho(const Options& o) {
  if (o.rate <= 0) {
    std::fprintf(stderr, "tcp-echo needs --rate\n");
    return 2;
  }
  sockaddr_in a{};
  const int lfd = ListenOnLoopback(&a);
  if (lfd < 0) return 1;
  const size_t size = static_cast<size_t>(std::max(o.size, 8));
  auto read_full = [](int fd, char* p, size_t n) {
    for (size_t got = 0; got < n;) {
      ssize_t r = ::recv(fd, p + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  std::thread server([&] {
    int fd = ::accept(lfd, nullptr, nullptr);
    std::vector<char> buf(size);
    while (read_full(fd, buf.data(), size)) {
      if (::send(fd, buf.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) break;
    }
    ::close(fd);
  });
  int cfd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(cfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::perror("connect");
    return 1;
  }
  const double secs = o.duration > 0 ? o.duration : 10;
  const int64_t total = static_cast<int64_t>(secs * o.rate);
  bench::Histogram hist;
  std::thread receiver([&] {
    std::vector<char> buf(size);
    for (int64_t i = 0; i < total && read_full(cfd, buf.data(), size); ++i) {
      int64_t due;
      std::memcpy(&due, buf.data(), sizeof(due));
      hist.Record(NowMicros() - due);
    }
  });
  std::vector<char> req(size, 'x');
  const int64_t start_us = NowMicros();
  for (int64_t i = 0; i < total; ++i) {
    const int64_t due = start_us + static_cast<int64_t>(static_cast<double>(i) * 1e6 / o.rate);
    const int64_t now = NowMicros();
    if (due > now) std::this_thread::sleep_for(std::chrono::microseconds(due - now));
    std::memcpy(req.data(), &due, sizeof(due));
    if (::send(cfd, req.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) break;
  }
  receiver.join();
  ::shutdown(cfd, SHUT_RDWR);
  ::close(cfd);
  server.join();
  ::close(lfd);
  auto ms = [&](double q) { return static_cast<double>(hist.Percentile(q)) / 1000.0; };
  std::printf(
      "ECHO %lld requests of %zu B at %.0f/s | latency ms p50 %.3f p99 %.3f p99.9 %.3f max %.3f\n",
      static_cast<long long>(hist.count()), size, o.rate, ms(0.5), ms(0.99), ms(0.999),
      static_cast<double>(hist.max()) / 1000.0);
  if (!o.json.empty()) {
    if (FILE* f = std::fopen(o.json.c_str(), "w")) {
      std::fprintf(f,
                   "{\"mode\":\"tcp-echo\",\"rate\":%.0f,\"size\":%zu,\"requests\":%lld,"
                   "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
                   o.rate, size, static_cast<long long>(hist.count()), ms(0.5), ms(0.99), ms(0.999),
                   static_cast<double>(hist.max()) / 1000.0);
      std::fclose(f);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Batches are built in buffers of a few hundred KiB: keep them on the heap instead of a fresh
  // mmap (and page faults) per request, so the tool measures the broker rather than itself.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  Options o;
  if (!Parse(argc, argv, &o)) return Usage();
  if (o.mode == "producer") return RunProducer(o);
  if (o.mode == "consumer") return RunConsumer(o);
  if (o.mode == "tcp-baseline") return RunTcpBaseline(o);
  if (o.mode == "tcp-echo") return RunTcpEcho(o);
  return Usage();
}
