// Minimal logging facade: printf-style, one line per call, with level, module and file:line.
// Thread-safe: each line is written with a single write(2) to stderr.
#pragma once

namespace ramjet {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogLine(LogLevel level, const char* module, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));

}  // namespace ramjet

#define RJ_LOG(level, module, ...)                                                           \
  do {                                                                                       \
    if (::ramjet::LogLevel::level >= ::ramjet::GetLogLevel())                                \
      ::ramjet::LogLine(::ramjet::LogLevel::level, module, __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)
