// Small POSIX socket helpers for the HA stream (blocking connect with a timeout, listen,
// non-blocking reads and writes). Thread-safety: free functions on caller-owned descriptors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"

namespace ramjet::ha {

// Listens on ip:port (port 0 picks one); returns the descriptor (non-blocking, close-on-exec).
Result<int> Listen(const std::string& ip, int port, int* bound_port);
// Connects to "host:port" within timeout_ms; returns a blocking descriptor with TCP_NODELAY.
// bind_ip (when not empty) is the local address to connect from, if this host has it.
Result<int> Connect(const std::string& address, int timeout_ms, const std::string& bind_ip = "");
// The host part of "host:port" (the whole text when there is no ':').
std::string_view HostOf(std::string_view address);
// "ip:port" of the peer of fd.
std::string PeerAddress(int fd);
// Writes all of data (blocking socket; retries on EINTR). Fails on error or a closed peer.
Status WriteAll(int fd, std::string_view data);
// Waits up to timeout_ms for fd (and wake_fd, when >= 0) to be readable. Returns the poll
// revents of fd (0 on timeout). A readable wake_fd is drained.
int PollRead(int fd, int wake_fd, int timeout_ms);
void SetNonBlocking(int fd);

}  // namespace ramjet::ha
