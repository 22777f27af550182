// Connection limits of an endpoint: idle timeout, connection cap, unsent-bytes cap per
// connection, and the budget of partial frames of all connections (see EndpointOptions).
#include <sys/resource.h>

#include <algorithm>

#include "ramjet/base/clock.h"
#include "ramjet/base/config.h"
#include "ramjet/base/logging.h"
#include "ramjet/remoting/remoting.h"

namespace ramjet::remoting {
namespace {
constexpr int64_t kRefusalLogIntervalUs = 1000000;  // at most one refusal line a second
}  // namespace

void ConnectionLimits::Bind(ConfigBinder* b) {
  b->Bind("serverChannelMaxIdleTimeSeconds", &idle_timeout_seconds,
          "close client connections without any traffic for this long (0 = never)");
  b->Bind("serverMaxConnections", &max_connections,
          "refuse connections beyond this many (0 = half of the process's descriptor limit)");
  b->Bind("serverMaxPendingWriteBytes", &max_pending_write_bytes,
          "close a connection whose unsent responses exceed this (a peer that does not read)");
  b->Bind("serverMaxBufferedReadBytes", &max_buffered_read_bytes,
          "partial request frames buffered by all connections together; past it the connection "
          "adding to them is closed");
}

Status ConnectionLimits::Check() const {
  if (idle_timeout_seconds < 0)
    return Status::InvalidArgument("serverChannelMaxIdleTimeSeconds must be >= 0");
  if (max_connections < 0) return Status::InvalidArgument("serverMaxConnections must be >= 0");
  if (max_pending_write_bytes < (1 << 20)) {
    return Status::InvalidArgument("serverMaxPendingWriteBytes must be at least 1 MiB");
  }
  if (max_buffered_read_bytes < (1 << 20)) {
    return Status::InvalidArgument("serverMaxBufferedReadBytes must be at least 1 MiB");
  }
  return Status::OK();
}

void ConnectionLimits::ApplyTo(EndpointOptions* o) const {
  o->idle_timeout_ms = idle_timeout_seconds * 1000;
  o->max_connections = static_cast<size_t>(max_connections);
  o->max_pending_out_bytes = static_cast<size_t>(max_pending_write_bytes);
  o->max_buffered_in_bytes = static_cast<size_t>(max_buffered_read_bytes);
}

void Endpoint::ResolveConnectionLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  const size_t fds = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<size_t>(rl.rlim_cur);
  const size_t derived = std::clamp<size_t>(fds / 2, 16, 1u << 16);
  if (options_.max_connections == 0) {
    options_.max_connections = derived;
  } else if (options_.max_connections > fds - std::min(fds, size_t{64})) {
    RJ_LOG(kWarn, "remoting",
           "%s: serverMaxConnections=%zu leaves fewer than 64 of the %zu descriptors to the rest "
           "of the process",
           options_.name.c_str(), options_.max_connections, fds);
  }
}

bool Endpoint::AdmitConnection(const std::string& peer) {
  if (options_.max_connections == 0 || connection_count() < options_.max_connections) return true;
  const int64_t now = MonoMicros();
  int64_t last = last_refusal_log_us_.load(std::memory_order_relaxed);
  if (now - last >= kRefusalLogIntervalUs &&
      last_refusal_log_us_.compare_exchange_strong(last, now)) {
    RJ_LOG(kWarn, "remoting",
           "%s: connection limit of %zu reached (serverMaxConnections): refusing %s",
           options_.name.c_str(), options_.max_connections, peer.c_str());
  }
  return false;
}

void Endpoint::ScanIdle() {
  const int64_t now = MonoMicros();
  const int64_t limit_us = options_.idle_timeout_ms * 1000;
  std::vector<ConnectionPtr> idle;
  std::vector<ConnectionPtr> stalled;  // TLS handshakes past kTlsHandshakeTimeoutUs
  {
    std::lock_guard<std::mutex> l(conns_mu_);
    for (auto& [id, w] : conns_) {
      auto c = w.lock();
      if (!c) continue;
      const int64_t since = c->handshake_since_us_.load(std::memory_order_relaxed);
      if (since > 0 && now - since > kTlsHandshakeTimeoutUs) {
        stalled.push_back(std::move(c));
      } else if (limit_us > 0 && now - c->last_io_us_.load(std::memory_order_relaxed) > limit_us) {
        idle.push_back(std::move(c));
      }
    }
  }
  for (auto& c : stalled) {
    RJ_LOG(kWarn, "remoting", "%s: closing %s: TLS handshake not finished in %lld s",
           options_.name.c_str(), c->remote_address().c_str(),
           static_cast<long long>(kTlsHandshakeTimeoutUs / 1000000));
    c->Close("TLS handshake timeout");
  }
  for (auto& c : idle) {
    RJ_LOG(kInfo, "remoting",
           "%s: closing %s: no traffic for %lld s (serverChannelMaxIdleTimeSeconds)",
           options_.name.c_str(), c->remote_address().c_str(),
           static_cast<long long>(options_.idle_timeout_ms / 1000));
    c->Close("idle");
  }
}

bool Connection::AccountBuffered() {
  const size_t now = decoder_.buffered();
  const int64_t delta = static_cast<int64_t>(now) - static_cast<int64_t>(accounted_in_);
  accounted_in_ = now;
  const int64_t total = owner_->buffered_in_.fetch_add(delta) + delta;
  if (delta <= 0 || total <= static_cast<int64_t>(owner_->options().max_buffered_in_bytes)) {
    return true;
  }
  RJ_LOG(kWarn, "remoting",
         "%s: closing %s: partial frames of all connections reached %lld bytes "
         "(serverMaxBufferedReadBytes=%zu)",
         owner_->options().name.c_str(), remote_address_.c_str(), static_cast<long long>(total),
         owner_->options().max_buffered_in_bytes);
  return false;
}

bool Connection::ClosePendingOverflow() {
  RJ_LOG(kWarn, "remoting",
         "%s: closing %s: more than %zu bytes of responses unsent, the peer is not reading "
         "(serverMaxPendingWriteBytes)",
         owner_->options().name.c_str(), remote_address_.c_str(),
         owner_->options().max_pending_out_bytes);
  Close("peer not reading");
  return false;
}

}  // namespace ramjet::remoting
