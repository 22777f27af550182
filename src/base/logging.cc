#include "ramjet/base/logging.h"

#include <string>
#include <string_view>

#include "ramjet/base/names.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace ramjet {
namespace {

LogLevel InitialLevel() {
  const char* env = std::getenv("RAMJET_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kInfo;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(env, "warn") == 0) return LogLevel::kWarn;
  if (std::strcmp(env, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<LogLevel> g_level{InitialLevel()};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }
LogLevel GetLogLevel() { return g_level.load(std::memory_order_relaxed); }

void LogLine(LogLevel level, const char* module, const char* file, int line, const char* fmt, ...) {
  char buf[2048];
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03d %-5s [%s] %s:%u ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, static_cast<int>(tv.tv_usec / 1000), LevelName(level), module,
                        file, static_cast<unsigned>(line));
  if (n < 0) return;
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof(buf) - 2) len = sizeof(buf) - 2;
  // One event, one line: control characters and bytes that are not well-formed UTF-8 (client
  // names, remarks) are written as \xNN, so no input can split or forge a log line.
  std::string out(buf, static_cast<size_t>(n));
  out.reserve(len + 16);
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string_view msg(buf + n, len - static_cast<size_t>(n));
  for (size_t i = 0; i < msg.size(); ++i) {
    const auto c = static_cast<unsigned char>(msg[i]);
    size_t seq = c >= 0x80 ? Utf8SequenceLength(msg.substr(i)) : (c >= 0x20 && c != 0x7f);
    if (seq == 0) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.append(msg.substr(i, seq));
      i += seq - 1;
    }
  }
  out.push_back('\n');
  ssize_t w = ::write(STDERR_FILENO, out.data(), out.size());
  (void)w;
}

}  // namespace ramjet
