#include "ramjet/remoting/remoting.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <thread>

#include "ramjet/base/coding.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::remoting {
namespace {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;

class RemotingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EndpointOptions so;
    so.name = "test-server";
    so.io_threads = 2;
    so.max_frame_bytes = 1 << 20;
    server_ = std::make_unique<RemotingServer>(so);
    pool_ = std::make_unique<ThreadPool>("test-pool", 2, 1000);
    server_->RegisterProcessor(
        1000,
        [](const RequestContextPtr& ctx) {
          RemotingCommand r = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
          r.Set("echo", ctx->request().GetString("v").value_or("?"));
          r.body = ctx->request().body;
          ctx->Respond(std::move(r));
        },
        pool_.get());
    server_->RegisterProcessor(
        1001, [this](const RequestContextPtr&) { oneway_count_.fetch_add(1); }, nullptr);
    ASSERT_TRUE(server_->Start({{"127.0.0.1", 0}}).ok());
    addr_ = "127.0.0.1:" + std::to_string(server_->port());
    EndpointOptions co;
    co.name = "test-client";
    client_ = std::make_unique<RemotingClient>(co);
  }
  void TearDown() override {
    client_->Shutdown();
    server_->Shutdown();
  }

  int RawConnect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server_->port()));
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return fd;
  }
  // True if the server closes fd within timeout_ms (reads until EOF).
  static bool ClosedByPeer(int fd, int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) return true;
      }
    }
    return false;
  }

  std::unique_ptr<RemotingServer> server_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<RemotingClient> client_;
  std::string addr_;
  std::atomic<int> oneway_count_{0};
};

TEST_F(RemotingTest, RequestResponseCorrelatedByOpaque) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        RemotingCommand req = RemotingCommand::Request(1000);
        std::string v = std::to_string(t) + "-" + std::to_string(i);
        req.Set("v", v);
        req.body = std::string(static_cast<size_t>(i * 37), 'b');
        auto r = client_->InvokeSync(addr_, req, 3000);
        if (r.ok() && r->code == rc::kSuccess && r->GetString("echo").value_or("") == v &&
            r->body.size() == static_cast<size_t>(i * 37) && r->IsResponse()) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
}

TEST_F(RemotingTest, OnewayGetsNoResponse) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client_->InvokeOneway(addr_, RemotingCommand::Request(1001)).ok());
  }
  for (int i = 0; i < 100 && oneway_count_.load() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(oneway_count_.load(), 10);
  // The connection still works.
  EXPECT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000).ok());
}

TEST_F(RemotingTest, CorkedRequestsLeaveWhenTheOutermostCorkEnds) {
  ASSERT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> answered;
  {
    WriteCork cork;
    {
      WriteCork inner;
      for (int i = 0; i < 50; ++i) {
        RemotingCommand req = RemotingCommand::Request(1000);
        req.Set("v", std::to_string(i));
        client_->InvokeAsync(addr_, req, 3000, [&](Result<RemotingCommand> r) {
          std::lock_guard<std::mutex> l(mu);
          answered.push_back(r.ok() ? std::stoi(r->GetString("echo").value_or("-1")) : -2);
          cv.notify_all();
        });
      }
    }  // a nested cork's end writes nothing
    ASSERT_TRUE(client_->InvokeOneway(addr_, RemotingCommand::Request(1001)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(oneway_count_.load(), 0);  // nothing has left yet
    std::lock_guard<std::mutex> l(mu);
    EXPECT_TRUE(answered.empty());
  }
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(3), [&] { return answered.size() == 50; }));
  std::sort(answered.begin(), answered.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(answered[i], i);
  for (int i = 0; i < 100 && oneway_count_.load() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(oneway_count_.load(), 1);
}

TEST_F(RemotingTest, SyncCallUnderACorkWritesTheCorkOutAndIsAnswered) {
  ASSERT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000).ok());
  std::atomic<bool> first_answered{false};
  WriteCork cork;
  RemotingCommand first = RemotingCommand::Request(1000);
  first.Set("v", "first");
  client_->InvokeAsync(addr_, first, 3000, [&](Result<RemotingCommand> r) {
    first_answered = r.ok() && r->GetString("echo").value_or("") == "first";
  });
  RemotingCommand second = RemotingCommand::Request(1000);
  second.Set("v", "second");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client_->InvokeSync(addr_, second, 3000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();  // without the write-out: a timeout
  EXPECT_EQ(r->GetString("echo").value_or(""), "second");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  for (int i = 0; i < 100 && !first_answered.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(first_answered.load());
}

TEST_F(RemotingTest, EachCorkWritesItsOwnSendsOnASharedConnection) {
  ASSERT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000).ok());
  std::promise<void> a_queued;
  std::promise<void> a_release;
  std::atomic<bool> a_answered{false};
  std::thread a([&] {
    WriteCork cork;
    RemotingCommand req = RemotingCommand::Request(1000);
    req.Set("v", "a");
    client_->InvokeAsync(addr_, req, 3000, [&](Result<RemotingCommand> r) {
      a_answered = r.ok() && r->GetString("echo").value_or("") == "a";
    });
    a_queued.set_value();
    a_release.get_future().wait();
  });
  a_queued.get_future().wait();
  {
    // Another thread's cork holds the same connection's queue: this one still writes its own.
    WriteCork cork;
    RemotingCommand req = RemotingCommand::Request(1000);
    req.Set("v", "b");
    auto r = client_->InvokeSync(addr_, req, 3000);
    EXPECT_TRUE(r.ok() && r->GetString("echo").value_or("") == "b");
  }
  a_release.set_value();
  a.join();
  for (int i = 0; i < 100 && !a_answered.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(a_answered.load());
}

TEST_F(RemotingTest, ALongCorkIsWrittenInPieces) {
  ASSERT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000).ok());
  std::atomic<int> answered{0};
  {
    WriteCork cork;
    for (int i = 0; i < 4; ++i) {
      RemotingCommand req = RemotingCommand::Request(1000);
      req.body = std::string(100 << 10, 'x');
      client_->InvokeAsync(addr_, req, 3000, [&](Result<RemotingCommand> r) {
        if (r.ok() && r->body.size() == (100u << 10)) answered.fetch_add(1);
      });
    }
    // Past 256 KiB the queue was written: at least the first three are answered before the
    // cork ends (the loop may take the fourth with them once the socket was full).
    for (int i = 0; i < 300 && answered.load() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(answered.load(), 3);
  }
  for (int i = 0; i < 300 && answered.load() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(answered.load(), 4);
}

TEST_F(RemotingTest, UnknownCodeIsNotSupported) {
  auto r = client_->InvokeSync(addr_, RemotingCommand::Request(4242), 3000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kRequestCodeNotSupported);
  EXPECT_NE(r->remark.value_or("").find("4242"), std::string::npos);
}

TEST_F(RemotingTest, OversizedAndGarbageFramesCloseOnlyThatConnection) {
  auto good = client_->GetConnection(addr_);
  ASSERT_TRUE(good.ok());
  // Oversized length.
  int fd = RawConnect();
  std::string f;
  PutBE32(&f, (1u << 20) + 1);
  ASSERT_EQ(::send(fd, f.data(), f.size(), 0), 4);
  EXPECT_TRUE(ClosedByPeer(fd, 3000));
  ::close(fd);
  // Invalid JSON header.
  fd = RawConnect();
  f.clear();
  std::string h = "{garbage";
  PutBE32(&f, static_cast<uint32_t>(4 + h.size()));
  PutBE32(&f, static_cast<uint32_t>(h.size()));
  f += h;
  ASSERT_EQ(::send(fd, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  EXPECT_TRUE(ClosedByPeer(fd, 3000));
  ::close(fd);
  // Truncated frame then close: nothing to answer, server just drops it.
  fd = RawConnect();
  f.clear();
  PutBE32(&f, 100);
  f += "abc";
  ASSERT_EQ(::send(fd, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  ::close(fd);
  // The established client connection is unaffected.
  EXPECT_FALSE((*good)->closed());
  auto r = client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, rc::kSuccess);
}

TEST_F(RemotingTest, FullExecutorAnswersSystemBusy) {
  ThreadPool tiny("tiny", 1, 1);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  server_->RegisterProcessor(
      1002,
      [&](const RequestContextPtr& ctx) {
        started.fetch_add(1);
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return release; });
        ctx->RespondCode(rc::kSuccess);
      },
      &tiny);
  std::vector<Result<RemotingCommand>> results;
  std::mutex rmu;
  std::atomic<int> done{0};
  auto cb = [&](Result<RemotingCommand> r) {
    std::lock_guard<std::mutex> l(rmu);
    results.push_back(std::move(r));
    done.fetch_add(1);
  };
  client_->InvokeAsync(addr_, RemotingCommand::Request(1002), 5000, cb);
  for (int i = 0; i < 300 && started.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(started.load(), 1);  // the worker is busy; the queue (capacity 1) is empty
  for (int i = 0; i < 5; ++i) {
    client_->InvokeAsync(addr_, RemotingCommand::Request(1002), 5000, cb);
  }
  // One runs, one is queued, the rest are refused at once.
  for (int i = 0; i < 200 && done.load() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 300 && done.load() < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(done.load(), 6);
  int busy = 0, success = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok());
    if (r->code == rc::kSystemBusy) ++busy;
    if (r->code == rc::kSuccess) ++success;
  }
  EXPECT_EQ(success, 2);
  EXPECT_EQ(busy, 4);
  tiny.Shutdown();
}

TEST_F(RemotingTest, TimeoutAndLateAnswer) {
  std::shared_ptr<RequestContext> held;
  std::mutex mu;
  server_->RegisterProcessor(
      1003,
      [&](const RequestContextPtr& ctx) {
        std::lock_guard<std::mutex> l(mu);
        held = ctx;
      },
      nullptr);
  auto r = client_->InvokeSync(addr_, RemotingCommand::Request(1003), 200);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_TRUE(held);
    held->RespondCode(rc::kSuccess);  // dropped by the client as unknown opaque
  }
  EXPECT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1000), 3000).ok());
}

TEST_F(RemotingTest, ServerCanCallClientAndSeesClose) {
  std::atomic<int> closes{0};
  ConnectionPtr seen;
  std::mutex mu;
  server_->AddCloseListener([&](const ConnectionPtr&) { closes.fetch_add(1); });
  server_->RegisterProcessor(
      1004,
      [&](const RequestContextPtr& ctx) {
        {
          std::lock_guard<std::mutex> l(mu);
          seen = ctx->connection();
        }
        ctx->RespondCode(rc::kSuccess);
      },
      nullptr);
  std::atomic<int> client_got{0};
  client_->RegisterProcessor(
      40,
      [&](const RequestContextPtr& ctx) {
        client_got.fetch_add(1);
        ctx->RespondCode(rc::kSuccess);
      },
      nullptr);
  ASSERT_TRUE(client_->InvokeSync(addr_, RemotingCommand::Request(1004), 3000).ok());
  ConnectionPtr conn;
  {
    std::lock_guard<std::mutex> l(mu);
    conn = seen;
  }
  ASSERT_TRUE(conn);
  auto r = server_->InvokeSync(conn, RemotingCommand::Request(40), 3000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(client_got.load(), 1);
  client_->CloseConnection(addr_);
  for (int i = 0; i < 200 && closes.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(closes.load(), 1);
  EXPECT_TRUE(conn->closed());
}

TEST(RemotingServerTest, PortInUseIsAClearError) {
  RemotingServer a(EndpointOptions{});
  ASSERT_TRUE(a.Start({{"127.0.0.1", 0}}).ok());
  RemotingServer b(EndpointOptions{});
  Status s = b.Start({{"127.0.0.1", a.port()}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot listen on 127.0.0.1:"), std::string_view::npos);
}

}  // namespace
}  // namespace ramjet::remoting

namespace ramjet::remoting {
namespace {

// before_corked_flush: requests answered inline see in_read_round(); their responses leave only
// after the hook said yes, and a no closes the connection without them.
TEST(CorkedFlushTest, InlineResponsesWaitForTheHookAndAFailedHookWithholdsThem) {
  std::atomic<bool> hook_ok{true};
  std::atomic<int> hook_calls{0};
  std::atomic<int> in_round{0};
  std::atomic<int> pending{0};  // answered inline, hook not run yet
  std::atomic<int> seen_pending_at_hook{0};
  EndpointOptions so;
  so.name = "cork-server";
  so.io_threads = 1;
  so.before_corked_flush = [&] {
    hook_calls.fetch_add(1);
    seen_pending_at_hook.fetch_add(pending.exchange(0));
    return hook_ok.load();
  };
  RemotingServer server(so);
  server.RegisterProcessor(
      1000,
      [&](const RequestContextPtr& ctx) {
        if (ctx->in_read_round()) in_round.fetch_add(1);
        pending.fetch_add(1);
        ctx->Respond(RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess));
      },
      nullptr);  // inline on the I/O thread
  ASSERT_TRUE(server.Start({{"127.0.0.1", 0}}).ok());
  const std::string addr = "127.0.0.1:" + std::to_string(server.port());
  EndpointOptions co;
  co.name = "cork-client";
  RemotingClient client(co);
  for (int i = 0; i < 5; ++i) {
    auto r = client.InvokeSync(addr, RemotingCommand::Request(1000), 3000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(pending.load(), 0);  // the hook ran before the response left
  }
  EXPECT_EQ(in_round.load(), 5);
  EXPECT_EQ(seen_pending_at_hook.load(), 5);  // every answer was still corked at its hook
  EXPECT_GE(hook_calls.load(), 5);

  hook_ok = false;
  auto r = client.InvokeSync(addr, RemotingCommand::Request(1000), 1000);
  EXPECT_FALSE(r.ok());  // closed without the response
  client.Shutdown();
  server.Shutdown();
}

// A server's answers sent from another thread under a WriteCork (the store's group commit) are
// held by the cork and leave together when it ends.
TEST(CorkedFlushTest, AnswersUnderAWriteCorkOnAServerLeaveWhenItEnds) {
  std::mutex mu;
  std::vector<RequestContextPtr> held;
  EndpointOptions so;
  so.name = "cork-server";
  so.io_threads = 1;
  so.before_corked_flush = [] { return true; };
  RemotingServer server(so);
  server.RegisterProcessor(
      1000,
      [&](const RequestContextPtr& ctx) {
        std::lock_guard<std::mutex> l(mu);
        held.push_back(ctx);  // answered later, by the test's thread
      },
      nullptr);
  ASSERT_TRUE(server.Start({{"127.0.0.1", 0}}).ok());
  const std::string addr = "127.0.0.1:" + std::to_string(server.port());
  EndpointOptions co;
  co.name = "cork-client";
  RemotingClient client(co);
  constexpr int kRequests = 3;
  std::atomic<int> answered{0};
  for (int i = 0; i < kRequests; ++i) {
    client.InvokeAsync(addr, RemotingCommand::Request(1000), 5000, [&](Result<RemotingCommand> r) {
      if (r.ok() && r->code == rc::kSuccess) answered.fetch_add(1);
    });
  }
  auto count_held = [&] {
    std::lock_guard<std::mutex> l(mu);
    return held.size();
  };
  for (int i = 0; i < 500 && count_held() < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(count_held(), static_cast<size_t>(kRequests));
  {
    WriteCork cork;
    for (auto& ctx : held) ctx->Respond(RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(answered.load(), 0);  // still held by the cork
  }
  for (int i = 0; i < 500 && answered.load() < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(answered.load(), kRequests);
  client.Shutdown();
  server.Shutdown();
}

// cork_flush_bytes: the answers of a long read round leave in pieces while the round goes on, so
// the client works on the first of them before the server has handled the last request.
TEST(CorkedFlushTest, ALongRoundsAnswersLeaveBeforeItEnds) {
  std::atomic<int> answered{0};
  std::atomic<bool> last_saw_an_answer{false};
  EndpointOptions so;
  so.name = "cork-server";
  so.io_threads = 1;
  so.cork_flush_bytes = 1024;
  so.before_corked_flush = [] { return true; };
  RemotingServer server(so);
  server.RegisterProcessor(
      1000,
      [&](const RequestContextPtr& ctx) {
        if (ctx->request().GetString("v").value_or("") == "last") {
          // Still in the round that read every request: wait for the client to see an answer.
          for (int i = 0; i < 200 && answered.load() == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          last_saw_an_answer = answered.load() > 0;
        }
        RemotingCommand r = RemotingCommand::ResponseTo(ctx->request(), rc::kSuccess);
        r.body = ctx->request().body;
        ctx->Respond(std::move(r));
      },
      nullptr);  // inline on the I/O thread
  ASSERT_TRUE(server.Start({{"127.0.0.1", 0}}).ok());
  const std::string addr = "127.0.0.1:" + std::to_string(server.port());
  EndpointOptions co;
  co.name = "cork-client";
  RemotingClient client(co);
  ASSERT_TRUE(client.InvokeSync(addr, RemotingCommand::Request(1000), 3000).ok());
  constexpr int kRequests = 30;  // about 10 KiB: one send(), read in one round
  {
    WriteCork cork;
    for (int i = 0; i < kRequests; ++i) {
      RemotingCommand req = RemotingCommand::Request(1000);
      req.Set("v", i + 1 == kRequests ? "last" : "n");
      req.body = std::string(200, 'x');
      client.InvokeAsync(addr, req, 5000, [&](Result<RemotingCommand> r) {
        if (r.ok() && r->code == rc::kSuccess) answered.fetch_add(1);
      });
    }
  }
  for (int i = 0; i < 500 && answered.load() < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(answered.load(), kRequests);
  EXPECT_TRUE(last_saw_an_answer.load());
  client.Shutdown();
  server.Shutdown();
}

}  // namespace
}  // namespace ramjet::remoting
