// libFuzzer target: store recovery over arbitrary CommitLog bytes. The input becomes the first
// CommitLog segment of a store whose abort file says it crashed; opening must never crash, and
// every record the recovered store serves must pass its CRC check.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ramjet/base/logging.h"
#include "ramjet/store/message_store.h"

namespace {
std::string g_dir;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ramjet::store;
  using namespace ramjet::message;
  if (g_dir.empty()) {
    char tmpl[] = "/tmp/ramjet-fuzz-XXXXXX";
    g_dir = mkdtemp(tmpl);
    ramjet::SetLogLevel(ramjet::LogLevel::kError);
  }
  std::string rm = "rm -rf '" + g_dir + "/s'";
  if (std::system(rm.c_str()) != 0) return 0;
  std::string mk = "mkdir -p '" + g_dir + "/s/commitlog'";
  if (std::system(mk.c_str()) != 0) return 0;
  const size_t seg = 64 * 1024;
  if (size > seg) size = seg;
  FILE* f = std::fopen((g_dir + "/s/commitlog/00000000000000000000").c_str(), "w");
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  f = std::fopen((g_dir + "/s/abort").c_str(), "w");
  std::fclose(f);
  StoreConfig c;
  c.root_dir = g_dir + "/s";
  c.commit_log_segment_size = seg;
  c.consume_queue_entries_per_file = 64;
  c.max_hash_slot_num = 16;
  c.max_index_num = 64;
  auto s = MessageStore::Open(c);
  if (!s.ok()) return 0;
  auto& store = *s;
  for (const auto& [topic, q] : store->ListQueues()) {
    auto res =
        store->GetMessages(topic, q, store->GetMinOffsetInQueue(topic, q), 64, 1 << 20, nullptr);
    for (const auto& m : res.messages)
      if (!DecodeRecord(m.data, true).ok()) __builtin_trap();
  }
  (void)store->Shutdown();
  return 0;
}
