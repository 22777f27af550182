// Transactional producer: the local transaction decides commit / rollback / unknown, and the
// check listener answers the broker's check-back for the unknown ones.
//   transaction_example 127.0.0.1:9876 TopicTest
#include <cstdio>
#include <thread>

#include "ramjet/client/producer.h"

using namespace ramjet::client;

int main(int argc, char** argv) {
  ClientConfig config;
  config.namesrv_addr = argc > 1 ? argv[1] : "127.0.0.1:9876";
  std::string topic = argc > 2 ? argv[2] : "TopicTest";
  Producer producer("ExampleTransactionGroup", config);
  producer.SetTransactionCheckListener([](const MessageExt& m) {
    std::printf("check-back for %s: commit\n", m.msg_id.c_str());
    return LocalTransactionState::kCommit;
  });
  if (auto s = producer.Start(); !s.ok()) return 1;
  const char* decisions[] = {"commit", "rollback", "unknown"};
  for (const char* d : decisions) {
    auto r = producer.SendInTransaction(
        Message(topic, "Tx", d), [](const Message& m, const SendResult&) {
          if (m.body == "commit") return LocalTransactionState::kCommit;
          if (m.body == "rollback") return LocalTransactionState::kRollback;
          return LocalTransactionState::kUnknown;
        });
    std::printf("%s: %s\n", d, r.ok() ? r->msg_id.c_str() : r.status().ToString().c_str());
  }
  std::printf("waiting for the broker's check-back of the unknown one...\n");
  std::this_thread::sleep_for(std::chrono::seconds(70));
  producer.Shutdown();
  return 0;
}
