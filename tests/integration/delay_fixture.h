// The Delay fixture: a Cluster that drains queues by pulling (delay levels, retries, timers,
// transactions).
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cluster_fixture.h"
#include "process_util.h"
#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/message/record.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/protocol/codes.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet {
// Named (not anonymous): gtest requires one fixture type per suite across the test files.
namespace itest {

constexpr int kSubFlag = 0x4;
constexpr int kSuspendFlag = 0x2;

class Delay : public Cluster {
 protected:
  // Pulls a queue from offset until `want` records arrived or the deadline passes.
  // Pulls until `want` records arrived, or (with `until`) until every body in it was seen.
  std::vector<std::pair<message::RecordView, std::string>> Drain(
      const std::string& topic, int qid, size_t want, int timeout_ms, int64_t* offset,
      const std::set<std::string>* until = nullptr) {
    std::vector<std::pair<message::RecordView, std::string>> out;
    auto end = NowMillis() + timeout_ms;
    auto done = [&] {
      if (!until) return out.size() >= want;
      std::set<std::string> seen;
      for (const auto& [r, b] : out) seen.insert(b);
      for (const auto& b : *until) {
        if (!seen.count(b)) return false;
      }
      return true;
    };
    while (!done() && NowMillis() < end) {
      auto p = Pull(topic, qid, *offset, kSubFlag | kSuspendFlag, 500, 5000);
      if (!p.ok()) continue;
      if (p->code == rc::kSuccess) {
        // Keep the bytes alive: the record views point into them.
        keep_.push_back(std::make_unique<std::string>(p->body));
        for (const auto& r : Records(*keep_.back())) {
          out.emplace_back(r, std::string(r.body));
        }
      }
      if (p->code == rc::kSuccess || p->code == rc::kPullOffsetMoved ||
          p->code == rc::kPullRetryImmediately) {
        *offset = p->GetInt64Or("nextBeginOffset", *offset);
      }
    }
    return out;
  }
  std::vector<std::unique_ptr<std::string>> keep_;
};

}  // namespace itest
}  // namespace ramjet
