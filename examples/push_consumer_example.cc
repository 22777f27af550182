// Consumes a topic with a clustering push consumer until Ctrl-C (or N messages).
//   push_consumer_example 127.0.0.1:9876 TopicTest [count] [--orderly]
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "ramjet/client/push_consumer.h"

using namespace ramjet::client;

static std::atomic<bool> stop{false};

int main(int argc, char** argv) {
  ConsumerConfig config;
  config.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
  std::string topic = argc > 2 ? argv[2] : "TopicTest";
  long want = argc > 3 ? std::atol(argv[3]) : 0;
  bool orderly = argc > 4 && std::strcmp(argv[4], "--orderly") == 0;
  config.consume_from_where = ConsumeFromWhere::kFirstOffset;
  std::signal(SIGINT, [](int) { stop = true; });
  PushConsumer consumer("ExampleConsumerGroup", config);
  (void)consumer.Subscribe(topic, "*");
  std::atomic<long> n{0};
  auto print = [&](const MessageExt& m) {
    std::printf("%s queue=%d offset=%lld tags=%s body=%s\n", m.msg_id.c_str(), m.queue_id,
                static_cast<long long>(m.queue_offset), m.tags().c_str(), m.body.c_str());
    if (want > 0 && ++n >= want) stop = true;
  };
  if (orderly) {
    consumer.RegisterOrderlyListener([&](const MessageExt& m) {
      print(m);
      return OrderlyStatus::kSuccess;
    });
  } else {
    consumer.RegisterListener([&](const MessageExt& m) {
      print(m);
      return ConsumeStatus::kSuccess;
    });
  }
  if (auto s = consumer.Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
    return 1;
  }
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  consumer.Shutdown();
  return 0;
}
