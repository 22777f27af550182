// A broker context over a real store in a temporary directory, and a way to hand a processor a
// request and read its answer without sockets (RequestContext's Responder seam). For the
// processor unit tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "broker_context.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/protocol/headers.h"

namespace ramjet::broker::testing {

namespace req = protocol::request_code;
namespace rc = protocol::response_code;
using protocol::RemotingCommand;

// A pending answer: Get() waits (bounded) for the processor to respond.
class Answer {
 public:
  Answer() : future_(promise_->get_future()) {}
  remoting::RequestContext::Responder Responder() {
    return [p = promise_](RemotingCommand r) { p->set_value(std::move(r)); };
  }
  // The response, or nullopt when none came within timeout_ms.
  std::optional<RemotingCommand> Get(int timeout_ms = 5000) {
    if (future_.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
      return std::nullopt;
    }
    return future_.get();
  }

 private:
  std::shared_ptr<std::promise<RemotingCommand>> promise_ =
      std::make_shared<std::promise<RemotingCommand>>();
  std::future<RemotingCommand> future_;
};

class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/ramjet-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    BrokerConfig c;
    c.broker_name = "broker-t";
    c.store.root_dir = dir_;
    c.store.commit_log_segment_size = 1 << 20;
    c.store.consume_queue_entries_per_file = 1000;
    Configure(&c);
    bc_ = std::make_unique<BrokerContext>(c);
    ASSERT_TRUE(CreateDirectories(dir_ + "/config").ok());
    ASSERT_TRUE(bc_->LoadMetadata().ok());
    auto store = store::MessageStore::Open(bc_->config().store);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    bc_->store = std::move(store).value();
    bc_->set_on_topics_changed([this] { ++topics_changed_; });
  }
  void TearDown() override {
    if (bc_ && bc_->store) bc_->store->Shutdown().IgnoreError();
    bc_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    int rc = std::system(cmd.c_str());
    (void)rc;
  }
  // Tests may change the configuration before the context is built.
  virtual void Configure(BrokerConfig*) {}

  // Runs handler on request and returns the answer (waiting up to timeout_ms).
  template <typename F>
  std::optional<RemotingCommand> Call(F&& handler, RemotingCommand request, int timeout_ms = 5000) {
    Answer a;
    auto ctx = std::make_shared<remoting::RequestContext>(a.Responder(), std::move(request),
                                                          protocol::kVersionV4_9_8);
    handler(ctx);
    return a.Get(timeout_ms);
  }
  // The answer's code, or -1 when none came.
  template <typename F>
  int32_t CodeOf(F&& handler, RemotingCommand request) {
    auto r = Call(std::forward<F>(handler), std::move(request));
    return r ? r->code : -1;
  }

  void CreateTopic(const std::string& name, int32_t queues, int32_t perm = 6) {
    protocol::TopicConfig t;
    t.topic_name = name;
    t.read_queue_nums = t.write_queue_nums = queues;
    t.perm = perm;
    ASSERT_TRUE(bc_->topics.Update(t).ok());
  }
  // Appends a message directly to the store; returns its commit-log offset.
  int64_t Store(const std::string& topic, int32_t queue_id, const std::string& body,
                const std::string& properties = "") {
    message::MessageInput m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = body;
    m.properties = properties;
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 1);
    auto r = bc_->store->PutMessage(m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return -1;
    // Consume queues are built by the store's dispatcher: wait until this one is visible.
    MaxOffset(topic, queue_id, r->queue_offset.value() + 1);
    return r->physical_offset.value();
  }
  // The queue's max offset once it reaches expect (dispatch is asynchronous), or as it is
  // after 5 s.
  int64_t MaxOffset(const std::string& topic, int32_t queue_id, int64_t expect) {
    int64_t v = 0;
    for (int i = 0; i < 500; ++i) {
      v = bc_->store->GetMaxOffsetInQueue(topic, queue_id).value();
      if (v >= expect) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return v;
  }
  void SetLive(const std::function<void(BrokerConfig*)>& edit) {
    auto next = std::make_shared<BrokerConfig>(*bc_->Live());
    edit(next.get());
    bc_->SetLive(next);
  }

  std::string dir_;
  std::unique_ptr<BrokerContext> bc_;
  int topics_changed_ = 0;
};

}  // namespace ramjet::broker::testing
