#include "ramjet/acl/acl_validator.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"

namespace ramjet::acl {

namespace {

int64_t StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return (static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec) ^
         (static_cast<int64_t>(st.st_size) << 1);
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find(',', at);
    if (next == std::string::npos) next = s.size();
    std::string item = s.substr(at, next - at);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    at = next + 1;
  }
  return out;
}

// An account entry's accessKey ("" when the entry is not a map with a scalar key).
std::string KeyOf(const YAML::Node& a) {
  if (!a.IsMap()) return "";
  const YAML::Node k = a["accessKey"];
  return k && k.IsScalar() ? k.Scalar() : "";
}

// Reads the file as a YAML node (an empty file is an empty map).
Result<YAML::Node> LoadNode(const std::string& path) {
  try {
    YAML::Node n = YAML::LoadFile(path);
    if (!n || n.IsNull()) n = YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) return Status::InvalidArgument(path + " is not a YAML mapping");
    return n;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
}

// Checks the new text, then replaces the file with it (temporary file + rename).
Status WriteChecked(const std::string& path, const YAML::Node& root) {
  YAML::Emitter out;
  out << root;
  const std::string text = std::string(out.c_str()) + "\n";
  RJ_RETURN_IF_ERROR(AclConfig::Parse(text).status());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    f.flush();
    if (!f) return Status::IOError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename " + tmp);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<AclValidator>> AclValidator::Open(std::string path) {
  std::unique_ptr<AclValidator> v(new AclValidator(std::move(path)));
  RJ_RETURN_IF_ERROR(v->Reload());
  return v;
}

Status AclValidator::Reload() {
  const int64_t stamp = StampOf(path_);
  std::ifstream in(path_);
  if (stamp < 0 || !in) return Status::NotFound("ACL file " + path_ + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  RJ_ASSIGN_OR_RETURN(AclConfig parsed, AclConfig::Parse(text.str()));
  auto next = std::make_shared<const AclConfig>(std::move(parsed));
  MutexLock l(&mu_);
  const bool first = config_ == nullptr;
  config_ = std::move(next);
  stamp_ = stamp;
  ++loads_;
  loaded_ms_ = NowMillis();
  RJ_LOG(kInfo, "acl", "%s ACL accounts from %s (%zu accounts, %zu global white addresses)",
         first ? "loaded" : "reloaded", path_.c_str(), config_->accounts.size(),
         config_->global_white.size());
  return Status::OK();
}

void AclValidator::MaybeReload() {
  const int64_t now = MonoMillis();
  int64_t next = next_look_ms_.load(std::memory_order_relaxed);
  if (now < next || !next_look_ms_.compare_exchange_strong(next, now + 1000)) return;
  const int64_t stamp = StampOf(path_);
  {
    MutexLock l(&mu_);
    if (stamp == stamp_ || stamp < 0) return;  // unchanged, or gone: keep what we have
  }
  if (Status s = Reload(); !s.ok()) {
    RJ_LOG(kError, "acl", "%s: keeping the previous ACL accounts", s.ToString().c_str());
    MutexLock l(&mu_);
    stamp_ = stamp;  // do not retry the same broken file every second
  }
}

std::shared_ptr<const AclConfig> AclValidator::Current() {
  MutexLock l(&mu_);
  return config_;
}

Status AclValidator::Check(const protocol::RemotingCommand& request,
                           const std::string& remote_address) {
  MaybeReload();
  auto parsed = ParseRequest(request, remote_address);
  Status s = parsed.ok() ? Validate(*Current(), *parsed) : parsed.status();
  if (!s.ok()) {
    RJ_LOG(kWarn, "acl", "request code %d from %s refused: %s", request.code,
           remote_address.c_str(), std::string(s.message()).c_str());
  }
  return s;
}

Status AclValidator::CheckGrpc(std::string_view authorization, std::string_view date_time,
                               const std::string& peer_address,
                               const std::map<std::string, uint8_t>& resources, bool* forbidden) {
  MaybeReload();
  Status s = ValidateGrpc(*Current(), authorization, date_time, IpWithoutPort(peer_address),
                          resources, forbidden);
  if (!s.ok()) {
    RJ_LOG(kWarn, "acl", "gRPC call from %s refused: %s", peer_address.c_str(),
           std::string(s.message()).c_str());
  }
  return s;
}

Status AclValidator::UpsertAccount(const std::map<std::string, std::string>& fields) {
  MutexLock edit(&edit_mu_);
  auto ak = fields.find("accessKey");
  if (ak == fields.end() || ak->second.empty()) {
    return Status::InvalidArgument("accessKey is required");
  }
  RJ_ASSIGN_OR_RETURN(YAML::Node root, LoadNode(path_));
  // The fields given overwrite the account's; the others stay.
  auto apply = [&fields](YAML::Node account) {
    for (const char* key :
         {"accessKey", "secretKey", "whiteRemoteAddress", "defaultTopicPerm", "defaultGroupPerm"}) {
      if (auto it = fields.find(key); it != fields.end()) account[key] = it->second;
    }
    if (auto it = fields.find("admin"); it != fields.end()) account["admin"] = it->second == "true";
    for (const char* key : {"topicPerms", "groupPerms"}) {
      if (auto it = fields.find(key); it != fields.end()) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const auto& item : SplitComma(it->second)) list.push_back(item);
        account[key] = list;
      }
    }
    return account;
  };
  YAML::Node accounts(YAML::NodeType::Sequence);
  bool found = false;
  if (const YAML::Node old = root["accounts"]; old && old.IsSequence()) {
    for (const auto& a : old) {
      const bool match = KeyOf(a) == ak->second;
      accounts.push_back(match ? apply(YAML::Clone(a)) : YAML::Node(a));
      found |= match;
    }
  }
  if (!found) accounts.push_back(apply(YAML::Node(YAML::NodeType::Map)));
  root["accounts"] = accounts;
  RJ_RETURN_IF_ERROR(WriteChecked(path_, root));
  return Reload();
}

Status AclValidator::DeleteAccount(const std::string& access_key) {
  MutexLock edit(&edit_mu_);
  RJ_ASSIGN_OR_RETURN(YAML::Node root, LoadNode(path_));
  YAML::Node kept(YAML::NodeType::Sequence);
  bool found = false;
  if (const YAML::Node accounts = root["accounts"]; accounts && accounts.IsSequence()) {
    for (const auto& a : accounts) {
      if (KeyOf(a) == access_key) {
        found = true;
      } else {
        kept.push_back(a);
      }
    }
  }
  if (!found) return Status::NotFound("no account " + access_key);
  root["accounts"] = kept;
  RJ_RETURN_IF_ERROR(WriteChecked(path_, root));
  return Reload();
}

Status AclValidator::SetGlobalWhiteAddresses(const std::vector<std::string>& addresses) {
  MutexLock edit(&edit_mu_);
  RJ_ASSIGN_OR_RETURN(YAML::Node root, LoadNode(path_));
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& a : addresses) list.push_back(a);
  root["globalWhiteRemoteAddresses"] = list;
  RJ_RETURN_IF_ERROR(WriteChecked(path_, root));
  return Reload();
}

std::string AclValidator::Version() {
  MutexLock l(&mu_);
  return "{\"counter\":" + std::to_string(loads_) + ",\"timestamp\":" + std::to_string(loaded_ms_) +
         "}";
}

}  // namespace ramjet::acl
