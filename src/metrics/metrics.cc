#include "ramjet/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ramjet/base/check.h"

namespace ramjet::metrics {

Histogram::Histogram(const std::vector<int64_t>& bounds) : size_(bounds.size()) {
  RJ_CHECK(bounds.size() <= kMaxBounds, "a histogram of %zu bounds", bounds.size());
  std::copy(bounds.begin(), bounds.end(), bounds_.begin());
}

void Histogram::Observe(int64_t value, int64_t times) {
  if (times <= 0) return;
  size_t i = 0;
  while (i < size_ && value > bounds_[i]) ++i;
  counts_[i].fetch_add(static_cast<uint64_t>(times), std::memory_order_relaxed);
  sum_.fetch_add(value * times, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds.assign(bounds_.begin(), bounds_.begin() + static_cast<std::ptrdiff_t>(size_));
  uint64_t running = 0;
  for (size_t i = 0; i <= size_; ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

namespace {

void Escape(std::string_view v, bool label, std::string* out) {
  for (char c : v) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && label) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

void AppendNumber(double v, std::string* out) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    *out += std::to_string(static_cast<int64_t>(v));
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest exact form
    out->append(buf, ec == std::errc() ? end : buf);
  }
}

}  // namespace

void Writer::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  Escape(help, false, &out_);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Writer::WriteLabels(const Labels& labels, std::string_view extra_key,
                         std::string_view extra_value) {
  if (labels.empty() && extra_key.empty()) return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    Escape(v, true, &out_);
    out_ += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_key.empty()) one(extra_key, extra_value);
  out_ += '}';
}

void Writer::Sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  WriteLabels(labels);
  out_ += ' ';
  AppendNumber(value, &out_);
  out_ += '\n';
}

void Writer::WriteHistogram(std::string_view name, const Labels& labels,
                            const Histogram::Snapshot& s, double scale) {
  const std::string bucket = std::string(name) + "_bucket";
  auto bound = [scale](int64_t b) {
    if (scale == 1.0) return std::to_string(b);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(b) * scale);
    return std::string(buf);
  };
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    out_ += bucket;
    WriteLabels(labels, "le", i < s.bounds.size() ? bound(s.bounds[i]) : "+Inf");
    out_ += ' ';
    out_ += std::to_string(s.cumulative[i]);
    out_ += '\n';
  }
  Sample(std::string(name) + "_sum", labels, static_cast<double>(s.sum) * scale);
  Sample(std::string(name) + "_count", labels, static_cast<double>(s.count));
}

void WriteProcessMetrics(Writer* w) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // /proc/self/stat: fields after the command name (which may hold spaces) in parentheses.
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  std::vector<std::string> f;
  if (close != std::string::npos) {
    std::istringstream in(line.substr(close + 2));
    for (std::string x; in >> x;) f.push_back(x);
  }
  // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
  auto field = [&](size_t n) { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };
  w->Family("process_cpu_seconds_total", "counter",
            "Total user and system CPU time spent in seconds.");
  w->Sample("process_cpu_seconds_total", {}, (field(14) + field(15)) / ticks);
  w->Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  w->Sample("process_virtual_memory_bytes", {}, field(23));
  w->Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w->Sample("process_resident_memory_bytes", {}, field(24) * page);
  // Boot time (btime in /proc/stat) + start ticks.
  double btime = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string l; std::getline(proc_stat, l);) {
    if (l.rfind("btime ", 0) == 0) btime = std::stod(l.substr(6));
  }
  w->Family("process_start_time_seconds", "gauge",
            "Start time of the process since unix epoch in seconds.");
  w->Sample("process_start_time_seconds", {}, btime + field(22) / ticks);
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(d);
    --fds;  // the directory stream's own descriptor
  }
  w->Family("process_open_fds", "gauge", "Number of open file descriptors.");
  w->Sample("process_open_fds", {}, fds);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  w->Family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  w->Sample("process_max_fds", {}, static_cast<double>(rl.rlim_cur));
}

}  // namespace ramjet::metrics
