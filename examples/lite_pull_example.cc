// Reads every queue of a topic from the beginning with a lite pull consumer, then commits.
//   lite_pull_example 127.0.0.1:9876 TopicTest
#include <cstdio>

#include "ramjet/client/lite_pull_consumer.h"

using namespace ramjet::client;

int main(int argc, char** argv) {
  ConsumerConfig config;
  config.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
  std::string topic = argc > 2 ? argv[2] : "TopicTest";
  LitePullConsumer consumer("ExampleLitePullGroup", config, /*auto_commit=*/false);
  if (auto s = consumer.Start(); !s.ok()) return 1;
  auto queues = consumer.FetchMessageQueues(topic);
  if (!queues.ok()) {
    std::fprintf(stderr, "%s\n", queues.status().ToString().c_str());
    return 1;
  }
  consumer.Assign(*queues);
  for (const auto& q : *queues) (void)consumer.SeekToBegin(q);
  size_t total = 0;
  for (;;) {
    auto msgs = consumer.Poll(1000);
    if (msgs.empty()) break;
    for (const auto& m : msgs) {
      std::printf("%s queue=%d offset=%lld body=%s\n", m.msg_id.c_str(), m.queue_id,
                  static_cast<long long>(m.queue_offset), m.body.c_str());
    }
    total += msgs.size();
  }
  (void)consumer.CommitSync();
  std::printf("read %zu messages\n", total);
  consumer.Shutdown();
  return 0;
}
