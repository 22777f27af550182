#include "ramjet/ha/ha_master.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/base/thread_util.h"
#include "ramjet/ha/ha_codec.h"
#include "ramjet/ha/socket_util.h"

namespace ramjet::ha {
namespace {
constexpr const char* kLog = "ha";
constexpr int kPollMs = 100;
}  // namespace

// One slave: reads its reports and streams CommitLog bytes to it (HAConnection's read and write
// services on one thread).
class HaMaster::Connection {
 public:
  Connection(HaMaster* master, int fd)
      : master_(master),
        fd_(fd),
        wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        address_(PeerAddress(fd)),
        host_(HostOf(address_)) {
    SetNonBlocking(fd_);
  }
  ~Connection() {
    Stop();
    close(fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }
  void Start() {
    thread_ = std::jthread([this](const std::stop_token& st) { Run(st); });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    Signal();
    thread_.join();
  }
  // Wakes the thread if it waits for data (a cheap load otherwise).
  void Wake() {
    if (idle_.load() && idle_.exchange(false)) Signal();
  }
  bool closed() const { return closed_.load(); }
  SlaveState state() const {
    return SlaveState{address_, acked_.load(), last_report_ms_.load(), caught_up_ms_.load()};
  }
  const std::string& address() const { return address_; }
  const std::string& host() const { return host_; }
  int64_t acked() const { return acked_.load(); }

 private:
  void Signal() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(wake_fd_, &one, sizeof(one));
  }
  void Run(const std::stop_token& st);
  bool ReadReports();
  // Refills out_ from the store when it is empty; false when the connection must close.
  bool Fill(int64_t now_us);
  // Writes what it can of out_; false on error.
  bool Flush(int64_t now_us);

  HaMaster* const master_;
  const int fd_;
  const int wake_fd_;
  const std::string address_;
  const std::string host_;  // the IP address of address_ (SetAckers matches it)
  std::atomic<bool> idle_{false};
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> acked_{-1};
  std::atomic<int64_t> last_report_ms_{0};
  std::atomic<int64_t> caught_up_ms_{0};
  // Owned by the connection thread.
  ReportDecoder reports_;
  int64_t next_offset_ = -1;  // the next byte to send; -1 until the slave's first report
  std::string out_;
  size_t out_pos_ = 0;
  int64_t last_read_us_ = 0;
  int64_t last_write_us_ = 0;
  bool warned_ahead_ = false;
  std::jthread thread_;
};

void HaMaster::Connection::Run(const std::stop_token& st) {
  SetCurrentThreadName("ha-conn");
  RJ_LOG(kInfo, kLog, "slave %s connected", address_.c_str());
  last_read_us_ = last_write_us_ = MonoMicros();
  while (!st.stop_requested()) {
    int64_t now = MonoMicros();
    if (!Fill(now) || !Flush(now)) break;
    const bool pending = out_pos_ < out_.size();
    // More to send and the socket took everything: go round again at once.
    const int timeout = (!pending && !idle_.load() && next_offset_ >= 0) ? 0 : kPollMs;
    pollfd p[2] = {{fd_, static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0},
                   {wake_fd_, POLLIN, 0}};
    if (poll(p, 2, timeout) < 0 && errno != EINTR) break;
    if (p[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof(v));
    }
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !ReadReports()) break;
    if (MonoMicros() - last_read_us_ > master_->options_.housekeeping_interval_ms * 1000) {
      RJ_LOG(kWarn, kLog, "slave %s silent for %lld ms: closing", address_.c_str(),
             static_cast<long long>(master_->options_.housekeeping_interval_ms));
      break;
    }
  }
  closed_.store(true);
  shutdown(fd_, SHUT_RDWR);
  RJ_LOG(kInfo, kLog, "slave %s disconnected (acknowledged %lld)", address_.c_str(),
         static_cast<long long>(acked_.load()));
}

bool HaMaster::Connection::ReadReports() {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    last_read_us_ = MonoMicros();
    auto report = reports_.Feed(std::string_view(buf, static_cast<size_t>(n)));
    if (!report.ok()) {
      RJ_LOG(kError, kLog, "slave %s: %s: closing", address_.c_str(),
             report.status().ToString().c_str());
      return false;
    }
    if (!*report) continue;
    const int64_t offset = **report;
    if (next_offset_ < 0) {
      // The first report says where to start; an empty slave gets the last segment.
      const int64_t max = master_->store_->MaxPhysicalOffset().value();
      next_offset_ = offset != 0 ? offset : max - max % master_->options_.segment_size;
      RJ_LOG(kInfo, kLog, "slave %s reports offset %lld: streaming from %lld", address_.c_str(),
             static_cast<long long>(offset), static_cast<long long>(next_offset_));
    }
    acked_.store(offset);
    const int64_t now_ms = NowMillis();
    last_report_ms_.store(now_ms);
    if (offset >= master_->store_->MaxPhysicalOffset().value()) caught_up_ms_.store(now_ms);
    master_->OnAck(offset);
  }
}

bool HaMaster::Connection::Fill(int64_t now_us) {
  if (out_pos_ < out_.size() || next_offset_ < 0) return true;
  out_.clear();
  out_pos_ = 0;
  // Set idle before looking, so that an append after the look wakes the thread: both this and
  // NotifyData read-modify-write some_idle_, so either NotifyData sees it set, or this exchange
  // comes after NotifyData's and sees the append that preceded it.
  idle_.store(true);
  master_->some_idle_.exchange(true);
  const int64_t max = master_->store_->MaxPhysicalOffset().value();
  if (next_offset_ < max) {
    auto range = master_->store_->ReadCommitLog(PhysicalOffset(next_offset_),
                                                master_->options_.transfer_batch_size);
    if (!range.ok()) {
      RJ_LOG(kError, kLog, "slave %s wants offset %lld: %s: closing", address_.c_str(),
             static_cast<long long>(next_offset_), range.status().ToString().c_str());
      return false;
    }
    if (!range->data.empty()) {
      idle_.store(false);
      const auto size = static_cast<int32_t>(range->data.size());
      out_ = EncodeTransferHeader(next_offset_, size);
      out_.append(range->data);
      next_offset_ += size;
      return true;
    }
  } else if (next_offset_ > max && !warned_ahead_) {
    warned_ahead_ = true;
    RJ_LOG(kWarn, kLog, "slave %s is ahead of the master (%lld > %lld): nothing to send",
           address_.c_str(), static_cast<long long>(next_offset_), static_cast<long long>(max));
  }
  if (now_us - last_write_us_ >= master_->options_.heartbeat_interval_ms * 1000) {
    out_ = EncodeTransferHeader(next_offset_, 0);  // heartbeat
  }
  return true;
}

bool HaMaster::Connection::Flush(int64_t now_us) {
  while (out_pos_ < out_.size()) {
    ssize_t n =
        send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) {
      RJ_LOG(kWarn, kLog, "slave %s: write failed: %s", address_.c_str(), std::strerror(errno));
      return false;
    }
    out_pos_ += static_cast<size_t>(n);
    last_write_us_ = now_us;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

HaMaster::HaMaster(HaMasterOptions options, store::MessageStore* store)
    : options_(std::move(options)), store_(store) {}

HaMaster::~HaMaster() { Stop(); }

Status HaMaster::Start() {
  RJ_ASSIGN_OR_RETURN(listen_fd_, Listen(options_.listen_ip, options_.port, &bound_port_));
  accept_thread_.Start([this](ServiceThread& self) { AcceptLoop(self); });
  transfer_thread_.Start([this](ServiceThread& self) { TransferLoop(self); });
  RJ_LOG(kInfo, kLog, "HA service listening on %s:%d", options_.listen_ip.c_str(), bound_port_);
  return Status::OK();
}

void HaMaster::Stop() {
  {
    MutexLock l(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  accept_thread_.Stop();
  transfer_thread_.Stop();
  std::list<std::unique_ptr<Connection>> conns;
  {
    MutexLock l(&mu_);
    conns.swap(connections_);
  }
  conns.clear();  // stops and joins each
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  std::multimap<int64_t, Waiter> rest;
  {
    MutexLock l(&waiters_mu_);
    rest.swap(waiters_);
  }
  for (auto& [end, w] : rest) w.done(Status::Unavailable("HA service stopped"));
}

void HaMaster::AcceptLoop(ServiceThread& self) {
  while (!self.stopping()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) {
      MutexLock l(&mu_);
      ReapClosed();
      continue;
    }
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    auto conn = std::make_unique<Connection>(this, fd);
    MutexLock l(&mu_);
    ReapClosed();
    conn->Start();
    connections_.push_back(std::move(conn));
  }
}

void HaMaster::ReapClosed() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->closed()) {
      it = connections_.erase(it);  // joins a thread that has finished
    } else {
      ++it;
    }
  }
}

void HaMaster::NotifyData(int64_t /*end*/) {
  // On every append: one exchange; the lock only when a connection waits for data.
  if (!some_idle_.exchange(false)) return;
  MutexLock l(&mu_);
  for (auto& c : connections_) c->Wake();
}

void HaMaster::SetAckers(std::vector<std::string> ips) {
  {
    MutexLock l(&mu_);
    ackers_ = std::move(ips);
    any_acker_.store(ackers_.empty());
  }
  OnAck(-1);  // a smaller set may have acknowledged more already
}

int64_t HaMaster::AckedByAll() const {
  MutexLock l(&mu_);
  int64_t all = INT64_MAX;
  for (const auto& ip : ackers_) {
    int64_t best = -1;
    for (const auto& c : connections_) {
      if (!c->closed() && c->host() == ip) best = std::max(best, c->acked());
    }
    all = std::min(all, best);
  }
  return all == INT64_MAX ? -1 : all;
}

void HaMaster::OnAck(int64_t offset) {
  if (!any_acker_.load()) offset = AckedByAll();
  int64_t cur = acked_.load();
  while (offset > cur && !acked_.compare_exchange_weak(cur, offset)) {
  }
  CompleteWaiters();
}

void HaMaster::CompleteWaiters() {
  std::vector<std::function<void(Status)>> done;
  {
    MutexLock l(&waiters_mu_);
    const int64_t acked = acked_.load();
    auto end = waiters_.upper_bound(acked);
    for (auto it = waiters_.begin(); it != end; ++it) done.push_back(std::move(it->second.done));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& d : done) d(Status::OK());
}

bool HaMaster::IsSlaveOk(int64_t master_max) const {
  MutexLock l(&mu_);
  for (const auto& c : connections_) {
    if (c->closed()) continue;
    const int64_t acked = c->state().acked_offset;
    if (acked >= 0 && master_max - acked < options_.slave_fallbehind_max) return true;
  }
  return false;
}

std::vector<SlaveState> HaMaster::Slaves() const {
  MutexLock l(&mu_);
  std::vector<SlaveState> out;
  for (const auto& c : connections_) {
    if (!c->closed()) out.push_back(c->state());
  }
  return out;
}

void HaMaster::WaitReplicated(int64_t end, int64_t timeout_ms, std::function<void(Status)> done) {
  if (acked_.load() >= end) return done(Status::OK());
  if (!IsSlaveOk(store_->MaxPhysicalOffset().value())) {
    return done(Status::Unavailable("no slave in sync"));
  }
  {
    MutexLock l(&waiters_mu_);
    // An acknowledgement between the check above and here is seen under the lock.
    if (acked_.load() < end) {
      waiters_.emplace(end, Waiter{MonoMicros() + timeout_ms * 1000, std::move(done)});
      return;
    }
  }
  done(Status::OK());
}

void HaMaster::TransferLoop(ServiceThread& self) {
  while (self.WaitFor(10)) {
    const int64_t now = MonoMicros();
    std::vector<std::function<void(Status)>> expired;
    {
      MutexLock l(&waiters_mu_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->second.deadline_us <= now) {
          expired.push_back(std::move(it->second.done));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& d : expired) d(Status::Timeout("slave did not acknowledge in time"));
  }
}

}  // namespace ramjet::ha
