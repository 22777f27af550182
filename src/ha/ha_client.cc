#include "ramjet/ha/ha_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"
#include "ramjet/ha/ha_codec.h"
#include "ramjet/ha/socket_util.h"

namespace ramjet::ha {
namespace {
constexpr const char* kLog = "ha";
}  // namespace

HaClient::HaClient(HaClientOptions options, store::MessageStore* store)
    : options_(std::move(options)), store_(store) {
  address_ = options_.master_address;
}

void HaClient::Start() {
  thread_.Start([this](ServiceThread& self) { Run(self); });
}

void HaClient::SetMasterAddress(const std::string& address) {
  {
    MutexLock l(&mu_);
    if (address == address_) return;
    RJ_LOG(kInfo, kLog, "master HA address: '%s' (was '%s')", address.c_str(), address_.c_str());
    address_ = address;
  }
  address_version_.fetch_add(1);
  thread_.Wake();
}

std::string HaClient::master_address() const {
  MutexLock l(&mu_);
  return address_;
}

void HaClient::Run(ServiceThread& self) {
  while (!self.stopping()) {
    const std::string address = master_address();
    if (address.empty()) {
      self.WaitFor(options_.reconnect_interval_ms);
      continue;
    }
    auto fd = Connect(address, 3000, options_.bind_ip);
    if (!fd.ok()) {
      RJ_LOG(kWarn, kLog, "cannot reach the master's HA port: %s", fd.status().ToString().c_str());
      self.WaitFor(options_.reconnect_interval_ms);
      continue;
    }
    Session(self, *fd, address);
    close(*fd);
    connected_.store(false);
    // RocketMQ's HAClient waits before it connects again.
    if (!self.stopping()) self.WaitFor(options_.reconnect_interval_ms);
  }
}

void HaClient::Session(ServiceThread& self, int fd, const std::string& address) {
  const uint64_t version = address_version_.load();
  int64_t reported = store_->MaxPhysicalOffset().value();
  if (Status s = WriteAll(fd, EncodeReport(reported)); !s.ok()) {
    RJ_LOG(kWarn, kLog, "master %s: %s", address.c_str(), s.ToString().c_str());
    return;
  }
  connected_.store(true);
  RJ_LOG(kInfo, kLog, "connected to master %s, reporting offset %lld", address.c_str(),
         static_cast<long long>(reported));
  TransferDecoder decoder(options_.max_frame_body);
  int64_t last_read_us = MonoMicros();
  int64_t last_write_us = last_read_us;
  char buf[64 * 1024];
  while (!self.stopping() && address_version_.load() == version) {
    const int revents = PollRead(fd, -1, 1000);
    if (revents != 0) {
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        RJ_LOG(kWarn, kLog, "master %s closed the HA connection", address.c_str());
        return;
      }
      if (n > 0) {
        last_read_us = MonoMicros();
        decoder.Feed(std::string_view(buf, static_cast<size_t>(n)));
      }
    }
    for (;;) {
      auto frame = decoder.Next();
      if (!frame.ok()) {
        RJ_LOG(kError, kLog, "master %s: %s: closing", address.c_str(),
               frame.status().ToString().c_str());
        return;
      }
      if (!*frame) break;
      const int64_t mine = store_->MaxPhysicalOffset().value();
      if (mine != 0 && (*frame)->master_offset != mine) {
        RJ_LOG(kError, kLog, "master %s sends offset %lld but this slave ends at %lld: closing",
               address.c_str(), static_cast<long long>((*frame)->master_offset),
               static_cast<long long>(mine));
        return;
      }
      if ((*frame)->body.empty()) continue;
      if (Status s =
              store_->AppendCommitLog(PhysicalOffset((*frame)->master_offset), (*frame)->body);
          !s.ok()) {
        RJ_LOG(kError, kLog, "appending replicated bytes at %lld failed: %s: closing",
               static_cast<long long>((*frame)->master_offset), s.ToString().c_str());
        return;
      }
    }
    const int64_t now = MonoMicros();
    const int64_t max = store_->MaxPhysicalOffset().value();
    if (max > reported || now - last_write_us >= options_.heartbeat_interval_ms * 1000) {
      if (Status s = WriteAll(fd, EncodeReport(max)); !s.ok()) {
        RJ_LOG(kWarn, kLog, "master %s: %s", address.c_str(), s.ToString().c_str());
        return;
      }
      reported = max;
      last_write_us = now;
    }
    if (now - last_read_us > options_.housekeeping_interval_ms * 1000) {
      RJ_LOG(kWarn, kLog, "master %s silent for %lld ms: closing", address.c_str(),
             static_cast<long long>(options_.housekeeping_interval_ms));
      return;
    }
  }
}

}  // namespace ramjet::ha
