// Connection limits of a server as typed configuration rows, shared by the broker and the name
// server. Thread-safety: plain values, filled during start-up.
#pragma once

#include <cstdint>

#include "ramjet/base/status.h"

namespace ramjet {
class ConfigBinder;
}

namespace ramjet::remoting {

struct EndpointOptions;

// The connection limits of a server as configuration keys (broker and name server alike):
// serverChannelMaxIdleTimeSeconds (RocketMQ's, default 120), serverMaxConnections,
// serverMaxPendingWriteBytes, serverMaxBufferedReadBytes.
struct ConnectionLimits {
  int64_t idle_timeout_seconds = 120;
  int64_t max_connections = 0;
  int64_t max_pending_write_bytes = 64 << 20;
  int64_t max_buffered_read_bytes = 512 << 20;
  void Bind(ConfigBinder* binder);
  Status Check() const;
  void ApplyTo(EndpointOptions* options) const;
};

}  // namespace ramjet::remoting
