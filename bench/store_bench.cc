// store_bench: append and read throughput of the store, each as a ratio to raw sequential
// write(2)+fdatasync(2) measured on the same machine in the same run.
//
//   store_bench [--dir D] [--messages N] [--size BYTES] [--sync-threads T] [--runs R] [--json F]
//
// Every figure is the median of R runs. Baselines:
//   raw_async: N writes of SIZE bytes to one file, then one fdatasync;
//   raw_sync:  SIZE-byte write + fdatasync per record (no batching), for N/10 records;
//   raw_read:  sequential 1 MiB reads of the raw_async file (page cache).
// Store modes:
//   store_async: one thread appends N messages with ASYNC_FLUSH (8 queues, TAGS), waits until
//                they are dispatched, then Shutdown (fsync + checkpoint);
//   store_sync:  T threads append N/10 messages in total with SYNC_FLUSH; each append is
//                acknowledged after fsync (group commit);
//   store_read:  GetMessages over every message (32 per call), decoding each record.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ramjet/store/message_store.h"

using namespace ramjet;
using namespace ramjet::store;
using namespace ramjet::message;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Opts {
  std::string dir = "/tmp/ramjet-bench";
  int64_t messages = 200000;
  int size = 1024;
  int sync_threads = 16;
  int runs = 5;
  std::string json;
};

void Rm(const std::string& d) {
  std::string cmd = "rm -rf '" + d + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "rm failed\n");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Returns records/s.
double RawAsync(const Opts& o, bool keep_for_read) {
  std::string path = o.dir + "/raw";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  std::string rec(static_cast<size_t>(o.size), 'r');
  double t0 = Now();
  for (int64_t i = 0; i < o.messages; ++i)
    if (::write(fd, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) std::abort();
  ::fdatasync(fd);
  double t = Now() - t0;
  ::close(fd);
  if (!keep_for_read) ::unlink(path.c_str());
  return static_cast<double>(o.messages) / t;
}

double RawRead(const Opts& o) {
  std::string path = o.dir + "/raw";
  int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<char> buf(1 << 20);
  double t0 = Now();
  int64_t total = 0;
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) total += n;
  double t = Now() - t0;
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(total / o.size) / t;
}

double RawSync(const Opts& o) {
  std::string path = o.dir + "/rawsync";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  std::string rec(static_cast<size_t>(o.size), 's');
  const int64_t n = std::max<int64_t>(o.messages / 10, 1000);
  double t0 = Now();
  for (int64_t i = 0; i < n; ++i) {
    if (::write(fd, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) std::abort();
    ::fdatasync(fd);
  }
  double t = Now() - t0;
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(n) / t;
}

std::unique_ptr<MessageStore> OpenStore(const Opts& o, FlushDiskType type) {
  Rm(o.dir + "/store");
  StoreConfig c;
  c.root_dir = o.dir + "/store";
  c.flush_disk_type = type;
  c.max_hash_slot_num = 1000000;
  c.max_index_num = 4000000;
  auto s = MessageStore::Open(c);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

MessageInput Input(const std::string& body, const std::string& props, int q) {
  MessageInput m;
  m.topic = "BenchTopic";
  m.queue_id = q;
  m.body = body;
  m.properties = props;
  m.born_host = HostAddress::V4(127, 0, 0, 1, 40000);
  return m;
}

// Appends N messages with ASYNC_FLUSH; returns msgs/s including the final flush.
double StoreAsync(const Opts& o, std::unique_ptr<MessageStore>* keep) {
  auto store = OpenStore(o, FlushDiskType::kAsyncFlush);
  std::string body(static_cast<size_t>(o.size), 'm');
  std::string props = BuildProperties({{"TAGS", "TagA"}});
  double t0 = Now();
  for (int64_t i = 0; i < o.messages; ++i) {
    auto r = store->PutMessage(Input(body, props, static_cast<int>(i % 8)), false);
    if (!r.ok()) std::abort();
  }
  if (!store->WaitDispatched(60000)) std::abort();
  if (!store->Shutdown().ok()) std::abort();  // fsync + checkpoint, like raw_async's fdatasync
  double t = Now() - t0;
  store.reset();
  StoreConfig c;
  c.root_dir = o.dir + "/store";
  c.max_hash_slot_num = 1000000;
  c.max_index_num = 4000000;
  auto reopened = MessageStore::Open(c);  // clean restart: no verification work
  if (!reopened.ok()) std::abort();
  *keep = std::move(reopened).value();
  return static_cast<double>(o.messages) / t;
}

double StoreRead(const Opts& o, MessageStore* store) {
  double t0 = Now();
  int64_t count = 0;
  for (int q = 0; q < 8; ++q) {
    QueueOffset off(0);
    for (;;) {
      auto res = store->GetMessages("BenchTopic", q, off, 32, 1 << 20, nullptr);
      if (res.status != GetStatus::kFound) break;
      for (const auto& m : res.messages) {
        auto v = DecodeRecord(m.data, false);
        if (!v.ok() || static_cast<int>(v->body.size()) != o.size) std::abort();
        ++count;
      }
      off = res.next_begin_offset;
    }
  }
  double t = Now() - t0;
  if (count != o.messages) std::abort();
  return static_cast<double>(count) / t;
}

double StoreSync(const Opts& o) {
  auto store = OpenStore(o, FlushDiskType::kSyncFlush);
  std::string body(static_cast<size_t>(o.size), 'g');
  std::string props = BuildProperties({{"TAGS", "TagA"}});
  const int64_t total = std::max<int64_t>(o.messages / 10, 1000);
  std::atomic<int64_t> next{0};
  double t0 = Now();
  std::vector<std::thread> ts;
  for (int t = 0; t < o.sync_threads; ++t) {
    ts.emplace_back([&, t] {
      while (next.fetch_add(1) < total) {
        auto r = store->PutMessage(Input(body, props, t % 8), true);
        if (!r.ok()) std::abort();
      }
    });
  }
  for (auto& t : ts) t.join();
  double t = Now() - t0;
  return static_cast<double>(total) / t;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      o.dir = v;
    else if (k == "--messages")
      o.messages = std::stoll(v);
    else if (k == "--size")
      o.size = std::stoi(v);
    else if (k == "--sync-threads")
      o.sync_threads = std::stoi(v);
    else if (k == "--runs")
      o.runs = std::stoi(v);
    else if (k == "--json")
      o.json = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  Rm(o.dir);
  std::string mk = "mkdir -p '" + o.dir + "'";
  if (std::system(mk.c_str()) != 0) return 1;
  std::vector<double> raw_async, raw_sync, raw_read, st_async, st_sync, st_read;
  for (int r = 0; r < o.runs; ++r) {
    raw_async.push_back(RawAsync(o, true));
    raw_read.push_back(RawRead(o));
    raw_sync.push_back(RawSync(o));
    std::unique_ptr<MessageStore> store;
    st_async.push_back(StoreAsync(o, &store));
    st_read.push_back(StoreRead(o, store.get()));
    store.reset();
    st_sync.push_back(StoreSync(o));
    std::fprintf(stderr,
                 "run %d: raw_async %.0f/s store_async %.0f/s raw_sync %.0f/s store_sync %.0f/s "
                 "raw_read %.0f/s store_read %.0f/s\n",
                 r + 1, raw_async.back(), st_async.back(), raw_sync.back(), st_sync.back(),
                 raw_read.back(), st_read.back());
  }
  Rm(o.dir);
  const double mb = o.size / 1048576.0;
  auto line = [&](const char* name, double v, double base) {
    std::printf("%-12s %12.0f msg/s %9.1f MB/s   ratio %.2fx\n", name, v, v * mb, v / base);
  };
  std::printf(
      "store_bench: %d-byte messages, median of %d runs (%lld messages async, %lld sync "
      "with %d threads)\n",
      o.size, o.runs, static_cast<long long>(o.messages),
      static_cast<long long>(std::max<int64_t>(o.messages / 10, 1000)), o.sync_threads);
  double ra = Median(raw_async), rs = Median(raw_sync), rr = Median(raw_read);
  double sa = Median(st_async), ss = Median(st_sync), sr = Median(st_read);
  line("raw_async", ra, ra);
  line("store_async", sa, ra);
  line("raw_sync", rs, rs);
  line("store_sync", ss, rs);
  line("raw_read", rr, rr);
  line("store_read", sr, rr);
  std::printf("store_read vs raw_async write: %.2fx\n", sr / ra);
  if (!o.json.empty()) {
    FILE* f = std::fopen(o.json.c_str(), "w");
    std::fprintf(f,
                 "{\"size\":%d,\"runs\":%d,\"raw_async\":%.0f,\"store_async\":%.0f,"
                 "\"raw_sync\":%.0f,\"store_sync\":%.0f,\"raw_read\":%.0f,\"store_read\":%.0f,"
                 "\"async_ratio\":%.3f,\"sync_ratio\":%.3f,\"read_ratio\":%.3f}\n",
                 o.size, o.runs, ra, sa, rs, ss, rr, sr, sa / ra, ss / rs, sr / rr);
    std::fclose(f);
  }
  return 0;
}
