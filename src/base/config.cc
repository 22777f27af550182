#include "ramjet/base/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ramjet/base/logging.h"

namespace ramjet {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

template <typename T>
Status ParseInt(std::string_view v, T* out) {
  v = Trim(v);
  T x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
    return Status::InvalidArgument("not an integer: '" + std::string(v) + "'");
  }
  *out = x;
  return Status::OK();
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseProperties(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    size_t eq = line.find_first_of("=:");
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("line " + std::to_string(line_no) + ": expected key=value: '" +
                                     std::string(line) + "'");
    }
    std::string_view key = Trim(line.substr(0, eq));
    if (key.empty()) {
      return Status::InvalidArgument("line " + std::to_string(line_no) + ": empty key");
    }
    out.emplace_back(std::string(key), std::string(Trim(line.substr(eq + 1))));
  }
  return out;
}

std::string UpdatePropertiesText(std::string_view text,
                                 const std::vector<std::pair<std::string, std::string>>& updates) {
  std::map<std::string, std::string, std::less<>> pending(updates.begin(), updates.end());
  std::string out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::string_view line = Trim(raw);
    size_t eq = line.find_first_of("=:");
    if (!line.empty() && line[0] != '#' && line[0] != '!' && eq != std::string_view::npos) {
      auto it = pending.find(Trim(line.substr(0, eq)));
      if (it != pending.end()) {
        out += it->first + "=" + it->second + "\n";
        pending.erase(it);
        continue;
      }
    }
    out.append(raw);
    out += '\n';
  }
  // Keys appear in the order they were given.
  for (const auto& [k, v] : updates) {
    auto it = pending.find(k);
    if (it == pending.end()) continue;
    out.append(k).append("=").append(v).append("\n");
    pending.erase(it);
  }
  return out;
}

std::vector<std::string> SplitList(std::string_view s, char separator) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t p = s.find(separator);
    std::string_view item = Trim(s.substr(0, p));
    if (!item.empty()) out.emplace_back(item);
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

Result<std::string> ReadFileToString(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::FromErrno(errno, "open " + path);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status CreateDirectories(const std::string& path) {
  if (path.empty()) return Status::OK();
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir " + cur);
    }
    pos = next + 1;
  }
  return Status::OK();
}

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (slash != std::string::npos) RJ_RETURN_IF_ERROR(CreateDirectories(dir));
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a stale (or planted) one is never reused
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "open " + tmp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno(e, "fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename " + tmp);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

ConfigBinder::Entry ConfigBinder::MakeEntry(std::function<Status(std::string_view)> set,
                                            std::function<std::string()> get, std::string doc) {
  Entry e;
  e.set = std::move(set);
  e.get = std::move(get);
  e.doc = std::move(doc);
  return e;
}

std::string_view UpdatePolicyName(UpdatePolicy p) {
  switch (p) {
    case UpdatePolicy::kRuntime:
      return "runtime";
    case UpdatePolicy::kRefused:
      return "file only";
    case UpdatePolicy::kNextStart:
      break;
  }
  return "next start";
}

ConfigBinder::Row& ConfigBinder::Row::Runtime() {
  e_->policy = UpdatePolicy::kRuntime;
  return *this;
}

ConfigBinder::Row& ConfigBinder::Row::Refused() {
  e_->policy = UpdatePolicy::kRefused;
  return *this;
}

ConfigBinder::Row& ConfigBinder::Row::Secret() {
  e_->secret = true;
  return *this;
}

ConfigBinder::Row& ConfigBinder::Row::Range(int64_t lo, int64_t hi) {
  e_->range = std::make_pair(lo, hi);
  return *this;
}

ConfigBinder::Row ConfigBinder::Add(std::string key, Entry e) {
  e.default_value = e.get ? e.get() : "";
  Entry& slot = entries_[std::move(key)];
  slot = std::move(e);
  return Row(&slot);
}

UpdatePolicy ConfigBinder::PolicyOf(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? UpdatePolicy::kRefused : it->second.policy;
}

ConfigBinder::Row ConfigBinder::Bind(std::string key, std::string* field, std::string doc) {
  return Add(std::move(key), MakeEntry(
                                 [field](std::string_view v) {
                                   *field = std::string(v);
                                   return Status::OK();
                                 },
                                 [field] { return *field; }, std::move(doc)));
}

ConfigBinder::Row ConfigBinder::Bind(std::string key, bool* field, std::string doc) {
  return Add(std::move(key),
             MakeEntry(
                 [field](std::string_view v) {
                   std::string s(Trim(v));
                   for (auto& c : s) c = static_cast<char>(std::tolower(c));
                   if (s == "true") {
                     *field = true;
                   } else if (s == "false") {
                     *field = false;
                   } else {
                     return Status::InvalidArgument("not a boolean (true/false): '" +
                                                    std::string(v) + "'");
                   }
                   return Status::OK();
                 },
                 [field] { return std::string(*field ? "true" : "false"); }, std::move(doc)));
}

ConfigBinder::Row ConfigBinder::Bind(std::string key, int32_t* field, std::string doc) {
  return Add(std::move(key), MakeEntry([field](std::string_view v) { return ParseInt(v, field); },
                                       [field] { return std::to_string(*field); }, std::move(doc)));
}

ConfigBinder::Row ConfigBinder::Bind(std::string key, int64_t* field, std::string doc) {
  return Add(std::move(key), MakeEntry([field](std::string_view v) { return ParseInt(v, field); },
                                       [field] { return std::to_string(*field); }, std::move(doc)));
}

ConfigBinder::Row ConfigBinder::Bind(std::string key, double* field, std::string doc) {
  return Add(std::move(key), MakeEntry(
                                 [field](std::string_view v) {
                                   std::string s(Trim(v));
                                   char* end = nullptr;
                                   errno = 0;
                                   double d = std::strtod(s.c_str(), &end);
                                   if (s.empty() || errno != 0 || end != s.c_str() + s.size()) {
                                     return Status::InvalidArgument("not a number: '" + s + "'");
                                   }
                                   *field = d;
                                   return Status::OK();
                                 },
                                 [field] {
                                   std::ostringstream os;
                                   os << *field;
                                   return os.str();
                                 },
                                 std::move(doc)));
}

ConfigBinder::Row ConfigBinder::BindCustom(std::string key,
                                           std::function<Status(std::string_view)> set,
                                           std::function<std::string()> current, std::string doc) {
  return Add(std::move(key), MakeEntry(std::move(set), std::move(current), std::move(doc)));
}

void ConfigBinder::Ignore(std::string key, const std::string& why) {
  Entry e;
  e.set = [](std::string_view) { return Status::OK(); };
  e.doc = "(accepted, ignored) " + why;
  e.ignored = true;
  e.policy = UpdatePolicy::kRefused;  // nothing to change at runtime
  entries_[std::move(key)] = std::move(e);
}

bool ConfigBinder::Has(std::string_view key) const { return entries_.count(key) > 0; }

Status ConfigBinder::Set(std::string_view key, std::string_view value) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return Status::InvalidArgument("unknown configuration key '" + std::string(key) + "'");
  }
  if (it->second.ignored) {
    RJ_LOG(kInfo, "config", "key %.*s is accepted but has no effect here: %s",
           static_cast<int>(key.size()), key.data(), it->second.doc.c_str());
  }
  if (const auto& range = it->second.range) {
    int64_t n = 0;
    if (Status p = ParseInt(value, &n); !p.ok()) {
      return Status::InvalidArgument("invalid value for '" + std::string(key) +
                                     "': " + std::string(p.message()));
    }
    if (n < range->first || n > range->second) {
      return Status::InvalidArgument(
          "invalid value for '" + std::string(key) + "': " + std::string(key) + " must be in " +
          std::to_string(range->first) + ".." + std::to_string(range->second));
    }
  }
  Status s = it->second.set(value);
  if (!s.ok()) {
    return Status::InvalidArgument("invalid value for '" + std::string(key) +
                                   "': " + std::string(s.message()));
  }
  return Status::OK();
}

Status ConfigBinder::Apply(const std::vector<std::pair<std::string, std::string>>& pairs,
                           std::string_view source) {
  for (const auto& [k, v] : pairs) {
    Status s = Set(k, v);
    if (!s.ok())
      return Status::InvalidArgument(std::string(source) + ": " + std::string(s.message()));
  }
  return Status::OK();
}

Status ConfigBinder::LoadFile(const std::string& path) {
  RJ_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  auto pairs = ParseProperties(text);
  if (!pairs.ok())
    return Status::InvalidArgument(path + ": " + std::string(pairs.status().message()));
  return Apply(*pairs, path);
}

Status ConfigBinder::ParseCommandLine(int argc, char** argv, bool* help) {
  *help = false;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto need_value = [&](std::string_view flag) -> Result<std::string> {
      if (i + 1 >= argc) return Status::InvalidArgument(std::string(flag) + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "-h" || a == "--help") {
      *help = true;
    } else if (a == "-c") {
      RJ_ASSIGN_OR_RETURN(std::string f, need_value(a));
      RJ_RETURN_IF_ERROR(LoadFile(f));
      config_file_ = f;
    } else if (a.starts_with("--config=")) {
      config_file_ = std::string(a.substr(9));
      RJ_RETURN_IF_ERROR(LoadFile(config_file_));
    } else if (a == "-n" && Has("namesrvAddr")) {
      RJ_ASSIGN_OR_RETURN(std::string v, need_value(a));
      overrides.emplace_back("namesrvAddr", v);
    } else if (a.starts_with("--")) {
      size_t eq = a.find('=');
      if (eq == std::string_view::npos) {
        RJ_ASSIGN_OR_RETURN(std::string v, need_value(a));
        overrides.emplace_back(std::string(a.substr(2)), v);
      } else {
        overrides.emplace_back(std::string(a.substr(2, eq - 2)), std::string(a.substr(eq + 1)));
      }
    } else {
      return Status::InvalidArgument("unexpected argument '" + std::string(a) +
                                     "' (use -c FILE or --key=value)");
    }
  }
  return Apply(overrides, "command line");
}

std::string ConfigBinder::Dump() const {
  std::string out;
  for (const auto& [k, e] : entries_) {
    if (e.ignored || !e.get) continue;
    const std::string value = e.get();
    out += k + "=" + (e.secret && !value.empty() ? std::string("******") : value) + "\n";
  }
  return out;
}

std::string ConfigBinder::Help() const {
  std::string out;
  for (const auto& [k, e] : entries_) {
    out += "  " + k;
    if (!e.ignored) {
      out += " (default: " + e.default_value;
      if (e.range) {
        out += "; " + std::to_string(e.range->first) + ".." + std::to_string(e.range->second);
      }
      if (e.policy != UpdatePolicy::kNextStart) {
        out += "; " + std::string(UpdatePolicyName(e.policy));
      }
      out += ")";
    }
    out += "\n      " + e.doc + "\n";
  }
  return out;
}

std::string ConfigBinder::Markdown() const {
  auto cell = [](const std::string& v) {
    std::string o;
    for (char c : v) {
      if (c == '|') {
        o += "\\|";
      } else if (c == '\n') {
        o += ' ';
      } else {
        o += c;
      }
    }
    return o;
  };
  std::string out = "| key | default | bounds | update | what it does |\n|---|---|---|---|---|\n";
  for (const auto& [k, e] : entries_) {
    std::string bounds =
        e.range ? std::to_string(e.range->first) + ".." + std::to_string(e.range->second) : "";
    std::string def = e.ignored ? "" : "`" + cell(e.default_value) + "`";
    if (def == "``") def = "(empty)";
    out.append("| `").append(k).append("` | ").append(def).append(" | ").append(bounds);
    out.append(" | ").append(e.ignored ? "ignored" : UpdatePolicyName(e.policy));
    out.append(" | ").append(cell(e.doc)).append(" |\n");
  }
  return out;
}

}  // namespace ramjet
