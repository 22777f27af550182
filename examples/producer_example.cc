// Sends messages synchronously, asynchronously, one-way, ordered by key and as a batch.
//   producer_example 127.0.0.1:9876 TopicTest
#include <cstdio>
#include <future>

#include "ramjet/client/producer.h"

using namespace ramjet::client;

int main(int argc, char** argv) {
  ClientConfig config;
  config.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
  std::string topic = argc > 2 ? argv[2] : "TopicTest";
  Producer producer("ExampleProducerGroup", config);
  if (auto s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
    return 1;
  }
  Message msg(topic, "TagA", "Hello Ramjet");
  msg.keys = {"order-1"};
  auto r = producer.Send(msg);
  if (!r.ok()) {
    std::fprintf(stderr, "send: %s\n", r.status().ToString().c_str());
    return 1;
  }
  std::printf("sync  %s msgId=%s queue=%d offset=%lld\n", SendStatusName(r->status).data(),
              r->msg_id.c_str(), r->queue.queue_id, static_cast<long long>(r->queue_offset));
  std::promise<void> done;
  producer.SendAsync(Message(topic, "TagB", "async hello"), [&](ramjet::Result<SendResult> a) {
    std::printf("async %s\n", a.ok() ? a->msg_id.c_str() : a.status().ToString().c_str());
    done.set_value();
  });
  done.get_future().wait();
  (void)producer.SendOneway(Message(topic, "TagC", "oneway hello"));
  for (int i = 0; i < 3; ++i) {
    auto o = producer.Send(Message(topic, "Order", "step " + std::to_string(i)),
                           SelectByKey("order-42"));
    if (o.ok()) std::printf("ordered step %d -> queue %d\n", i, o->queue.queue_id);
  }
  std::vector<Message> batch;
  for (int i = 0; i < 10; ++i) batch.emplace_back(topic, "Batch", "item " + std::to_string(i));
  auto b = producer.SendBatch(batch);
  std::printf("batch %s\n", b.ok() ? "ok" : b.status().ToString().c_str());
  producer.Shutdown();
  return 0;
}
