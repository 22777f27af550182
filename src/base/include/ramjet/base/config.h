// Typed, documented configuration properties in the style of RocketMQ's broker.conf: a
// Java-properties-like text of `key=value` lines (blank lines and lines starting with # or ! are
// comments) plus `--key=value` command-line overrides. Every key is declared with its type,
// default and one line of documentation; unknown keys and values that do not parse are errors
// that name the key.
// Thread-safety: a ConfigBinder is filled and applied by one thread during start-up.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ramjet/base/result.h"

namespace ramjet {

// Parses properties text. Keys and values are trimmed; `key: value` is accepted as Java does.
Result<std::vector<std::pair<std::string, std::string>>> ParseProperties(std::string_view text);

// Splits "a;b; c" into trimmed, non-empty items (name-server address lists).
std::vector<std::string> SplitList(std::string_view text, char separator = ';');

// Rewrites properties text with new values: a line whose key is updated gets the new value (its
// comments and the order of lines are kept); keys not present are appended at the end.
std::string UpdatePropertiesText(std::string_view text,
                                 const std::vector<std::pair<std::string, std::string>>& updates);

// Reads a whole file; kNotFound if it does not exist.
Result<std::string> ReadFileToString(const std::string& path);
// Writes a file safely: <path>.tmp is written and fsynced, then renamed over path, then the
// directory is fsynced. Creates missing parent directories.
// mode: of the new file from its creation (0600 for files holding secrets).
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);
// mkdir -p.
Status CreateDirectories(const std::string& path);

// How a key may change while the process runs (UPDATE_BROKER_CONFIG, UPDATE_NAMESRV_CONFIG).
enum class UpdatePolicy {
  kNextStart,  // accepted and persisted; takes effect at the next start (the default)
  kRuntime,    // takes effect at once (read per request)
  kRefused,    // identity and data location: only the configuration file may change them
};
std::string_view UpdatePolicyName(UpdatePolicy p);

class ConfigBinder {
 private:
  struct Entry;

 public:
  // One row of the configuration table: a key's field, default (its value when bound), doc,
  // and what the chained calls add — bounds and update policy.
  //   b->Bind("listenPort", &listen_port, "port of the remoting server").Range(3, 65535).Refused();
  class Row {
   public:
    Row& Runtime();
    Row& Refused();
    // Dump (GET_BROKER_CONFIG, getBrokerConfig) shows ****** instead of a set value.
    Row& Secret();
    // Integer keys: values outside lo..hi are refused (nothing is written).
    Row& Range(int64_t lo, int64_t hi);

   private:
    friend class ConfigBinder;
    explicit Row(Entry* e) : e_(e) {}
    Entry* e_;
  };

  Row Bind(std::string key, std::string* field, std::string doc);
  Row Bind(std::string key, bool* field, std::string doc);
  Row Bind(std::string key, int32_t* field, std::string doc);
  Row Bind(std::string key, int64_t* field, std::string doc);
  Row Bind(std::string key, double* field, std::string doc);
  // A custom parser; `current` prints the present value.
  Row BindCustom(std::string key, std::function<Status(std::string_view)> set,
                 std::function<std::string()> current, std::string doc);
  // Accepted and ignored (a RocketMQ key with no meaning here); logged at info level.
  void Ignore(std::string key, const std::string& why);

  Status Set(std::string_view key, std::string_view value);
  // Applies every pair; stops at the first error, which names the key and the source.
  Status Apply(const std::vector<std::pair<std::string, std::string>>& pairs,
               std::string_view source);
  Status LoadFile(const std::string& path);
  // Parses argv: `-c FILE` / `--config=FILE` loads a file first, `--key=value` and `-n ADDR`
  // (namesrvAddr, when bound) override it. Sets *help when -h/--help is given.
  Status ParseCommandLine(int argc, char** argv, bool* help);

  // Current values as properties text (key=value per line, sorted by key).
  std::string Dump() const;
  // One entry per key: key, default, bounds, update policy, doc.
  std::string Help() const;
  // The table as Markdown (key | default | bounds | update | doc), for docs/config.md.
  std::string Markdown() const;
  bool Has(std::string_view key) const;
  // The update policy of a bound key (kRefused for unknown keys).
  UpdatePolicy PolicyOf(std::string_view key) const;
  // The file given with -c / --config=, if any (the last one).
  const std::string& config_file() const { return config_file_; }

 private:
  struct Entry {
    std::function<Status(std::string_view)> set;
    std::function<std::string()> get;
    std::string doc;
    std::string default_value;
    bool ignored = false;
    UpdatePolicy policy = UpdatePolicy::kNextStart;
    std::optional<std::pair<int64_t, int64_t>> range;
    bool secret = false;
  };
  static Entry MakeEntry(std::function<Status(std::string_view)> set,
                         std::function<std::string()> get, std::string doc);
  Row Add(std::string key, Entry e);
  std::map<std::string, Entry, std::less<>> entries_;
  std::string config_file_;
};

}  // namespace ramjet
