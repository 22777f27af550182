#include "ramjet/protocol/remoting_command.h"

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ramjet/base/coding.h"
#include "ramjet/base/names.h"

namespace ramjet::protocol {
namespace {

constexpr std::string_view kLanguageNames[] = {"JAVA",   "CPP",  "DOTNET", "PYTHON", "DELPHI",
                                               "ERLANG", "RUBY", "OTHER",  "HTTP",   "GO",
                                               "PHP",    "OMS",  "RUST",   "NODE_JS"};

// A JSON string. Bytes that are not well-formed UTF-8 (raw client bytes echoed into a remark or
// field) become U+FFFD, so every header we write is valid UTF-8 JSON.
void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    size_t run = i;  // plain ASCII is appended a run at a time
    while (run < s.size() && static_cast<unsigned char>(s[run]) >= 0x20 &&
           static_cast<unsigned char>(s[run]) < 0x7f && s[run] != '"' && s[run] != '\\') {
      ++run;
    }
    if (run > i) {
      out->append(s.data() + i, run - i);
      i = run - 1;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s.substr(i));
      if (n == 0) {
        out->append("\\ufffd");
      } else {
        out->append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

Status Bad(const std::string& msg) { return Status::Corruption(msg); }

// A JSON scalar as the string Java would see after fastjson's HashMap<String,String> parse.
std::optional<std::string> ScalarToString(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      return v.get<std::string>();
    case nlohmann::json::value_t::boolean:
      return std::string(v.get<bool>() ? "true" : "false");
    case nlohmann::json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    default:
      return std::nullopt;
  }
}

Result<int32_t> JsonInt(const nlohmann::json& obj, const char* key, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Bad(std::string("header field '") + key + "' is missing");
    return 0;
  }
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if (v < INT32_MIN || v > INT32_MAX) {
      return Bad(std::string("header field '") + key + "' is out of int32 range");
    }
    return static_cast<int32_t>(v);
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    int32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
  }
  return Bad(std::string("header field '") + key + "' is not an integer");
}

// A fast parser for the flat headers every client sends: an object of integers, strings,
// booleans and null, plus `extFields` as an object of such scalars. Anything else (floats,
// nested values, unusual escapes) returns nullopt and the general parser below decides.
using namespace std::literals;

class FastHeaderParser {
 public:
  explicit FastHeaderParser(std::string_view s) : s_(s) {}

  std::optional<RemotingCommand> Parse() {
    RemotingCommand cmd;
    cmd.serialize_type = SerializeType::kJson;
    cmd.language = LanguageCode::kJava;
    bool have_code = false;
    if (!Consume('{')) return std::nullopt;
    if (Peek() == '}') return std::nullopt;
    for (;;) {
      std::string key;
      if (!String(&key) || !Consume(':')) return std::nullopt;
      if (key == "extFields"sv) {
        if (!ExtFields(&cmd)) return std::nullopt;
      } else {
        Scalar v;
        if (!Value(&v)) return std::nullopt;
        if (key == "code"sv || key == "version"sv || key == "opaque"sv || key == "flag"sv) {
          if (v.kind != Scalar::kInt) return std::nullopt;
          if (v.i < INT32_MIN || v.i > INT32_MAX) return std::nullopt;
          int32_t x = static_cast<int32_t>(v.i);
          if (key == "code"sv) {
            cmd.code = x;
            have_code = true;
          } else if (key == "version"sv) {
            cmd.version = x;
          } else if (key == "opaque"sv) {
            cmd.opaque = x;
          } else {
            cmd.flag = x;
          }
        } else if (key == "language"sv) {
          if (v.kind != Scalar::kString) return std::nullopt;
          cmd.language = LanguageFromName(v.s);
        } else if (key == "remark"sv) {
          if (v.kind == Scalar::kString)
            cmd.remark = std::move(v.s);
          else if (v.kind != Scalar::kNull)
            return std::nullopt;
        }
      }
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return std::nullopt;
    }
    SkipWs();
    if (pos_ != s_.size() || !have_code) return std::nullopt;
    return cmd;
  }

 private:
  struct Scalar {
    enum Kind { kInt, kString, kBool, kNull } kind = kNull;
    int64_t i = 0;
    bool b = false;
    std::string s;
  };
  static bool IsPlain(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
  }
  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  char Peek() {
    SkipWs();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool String(std::string* out) {
    if (Peek() != '"') return false;
    ++pos_;
    while (pos_ < s_.size()) {
      // A run of plain ASCII is appended at once.
      size_t run = pos_;
      while (run < s_.size() && IsPlain(s_[run])) ++run;
      out->append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= s_.size()) return false;
      char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') return false;  // control or non-ASCII (UTF-8): the general parser checks

      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          if (s_.size() - pos_ < 4) return false;
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            char h = s_[pos_++];
            v <<= 4;
            if (h >= '0' && h <= '9')
              v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
              v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              v |= static_cast<unsigned>(h - 'A' + 10);
            else
              return false;
          }
          if (v >= 0x80) return false;  // non-ASCII escapes: general parser
          out->push_back(static_cast<char>(v));
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool Value(Scalar* v) {
    char c = Peek();
    if (c == '"') {
      v->kind = Scalar::kString;
      return String(&v->s);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = pos_;
      if (s_[pos_] == '-') ++pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
        return false;  // floats: general parser
      }
      auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, v->i);
      if (ec != std::errc() || p != s_.data() + pos_) return false;
      v->kind = Scalar::kInt;
      return true;
    }
    auto word = [&](std::string_view w) {
      if (s_.substr(pos_, w.size()) != w) return false;
      pos_ += w.size();
      return true;
    };
    if (word("true")) {
      v->kind = Scalar::kBool;
      v->b = true;
      return true;
    }
    if (word("false")) {
      v->kind = Scalar::kBool;
      return true;
    }
    if (word("null")) {
      v->kind = Scalar::kNull;
      return true;
    }
    return false;
  }
  bool ExtFields(RemotingCommand* cmd) {
    if (Peek() == 'n') {
      Scalar v;
      return Value(&v) && v.kind == Scalar::kNull;
    }
    if (!Consume('{')) return false;
    if (Consume('}')) return true;
    cmd->ext_fields.reserve(16);
    for (;;) {
      std::string k;
      Scalar v;
      if (!String(&k) || !Consume(':') || !Value(&v)) return false;
      switch (v.kind) {
        case Scalar::kString:
          cmd->ext_fields.insert_or_assign(std::move(k), std::move(v.s));
          break;
        case Scalar::kInt:
          cmd->ext_fields.insert_or_assign(std::move(k), std::to_string(v.i));
          break;
        case Scalar::kBool:
          cmd->ext_fields.insert_or_assign(std::move(k), std::string(v.b ? "true" : "false"));
          break;
        case Scalar::kNull:
          break;
      }
      if (Consume(',')) continue;
      return Consume('}');
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Result<RemotingCommand> DecodeJsonHeader(std::string_view header) {
  if (auto fast = FastHeaderParser(header).Parse()) return std::move(*fast);
  nlohmann::json j = nlohmann::json::parse(header.begin(), header.end(), nullptr, false);
  if (j.is_discarded()) return Bad("header is not valid JSON");
  if (!j.is_object()) return Bad("header JSON is not an object");
  RemotingCommand cmd;
  cmd.serialize_type = SerializeType::kJson;
  RJ_ASSIGN_OR_RETURN(cmd.code, JsonInt(j, "code", true));
  RJ_ASSIGN_OR_RETURN(cmd.version, JsonInt(j, "version", false));
  RJ_ASSIGN_OR_RETURN(cmd.opaque, JsonInt(j, "opaque", false));
  RJ_ASSIGN_OR_RETURN(cmd.flag, JsonInt(j, "flag", false));
  if (auto it = j.find("language"); it != j.end()) {
    if (it->is_string()) {
      cmd.language = LanguageFromName(it->get_ref<const std::string&>());
    } else if (it->is_number_integer()) {
      int64_t v = it->get<int64_t>();
      cmd.language = v >= 0 && v <= 13 ? static_cast<LanguageCode>(v) : LanguageCode::kOther;
    } else if (!it->is_null()) {
      return Bad("header field 'language' is not a string");
    }
  } else {
    cmd.language = LanguageCode::kJava;
  }
  if (auto it = j.find("remark"); it != j.end() && !it->is_null()) {
    auto s = ScalarToString(*it);
    if (!s) return Bad("header field 'remark' is not a string");
    cmd.remark = std::move(*s);
  }
  if (auto it = j.find("extFields"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("header field 'extFields' is not an object");
    for (auto& [k, v] : it->items()) {
      if (v.is_null()) continue;
      auto s = ScalarToString(v);
      if (!s) return Bad("extFields['" + k + "'] is not a scalar");
      cmd.ext_fields.emplace(k, std::move(*s));
    }
  }
  return cmd;
}

// ROCKETMQ binary header (RocketMQSerializable).
Result<RemotingCommand> DecodeBinaryHeader(std::string_view h) {
  RemotingCommand cmd;
  cmd.serialize_type = SerializeType::kRocketMq;
  size_t pos = 0;
  auto need = [&](size_t n) { return h.size() - pos >= n; };
  if (!need(2 + 1 + 2 + 4 + 4 + 4)) return Bad("binary header too short");
  cmd.code = static_cast<int16_t>(DecodeBE16(h.data()));
  uint8_t lang = static_cast<uint8_t>(h[2]);
  cmd.language = lang <= 13 ? static_cast<LanguageCode>(lang) : LanguageCode::kOther;
  cmd.version = static_cast<int16_t>(DecodeBE16(h.data() + 3));
  cmd.opaque = static_cast<int32_t>(DecodeBE32(h.data() + 5));
  cmd.flag = static_cast<int32_t>(DecodeBE32(h.data() + 9));
  pos = 13;
  int32_t remark_len = static_cast<int32_t>(DecodeBE32(h.data() + pos));
  pos += 4;
  if (remark_len < 0 || !need(static_cast<size_t>(remark_len))) {
    return Bad("binary header remark length out of range");
  }
  if (remark_len > 0) cmd.remark = std::string(h.substr(pos, remark_len));
  pos += remark_len;
  if (!need(4)) return Bad("binary header truncated before extFields");
  int32_t ext_len = static_cast<int32_t>(DecodeBE32(h.data() + pos));
  pos += 4;
  if (ext_len < 0 || !need(static_cast<size_t>(ext_len))) {
    return Bad("binary header extFields length out of range");
  }
  size_t end = pos + ext_len;
  while (pos < end) {
    if (end - pos < 2) return Bad("binary header extFields key length truncated");
    uint16_t klen = DecodeBE16(h.data() + pos);
    pos += 2;
    if (end - pos < klen) return Bad("binary header extFields key truncated");
    std::string key(h.substr(pos, klen));
    pos += klen;
    if (end - pos < 4) return Bad("binary header extFields value length truncated");
    int32_t vlen = static_cast<int32_t>(DecodeBE32(h.data() + pos));
    pos += 4;
    if (vlen < 0 || end - pos < static_cast<size_t>(vlen)) {
      return Bad("binary header extFields value truncated");
    }
    std::string value(h.substr(pos, vlen));
    pos += vlen;
    if (!key.empty()) cmd.ext_fields.insert_or_assign(std::move(key), std::move(value));
  }
  return cmd;
}

}  // namespace

std::string_view LanguageName(LanguageCode code) {
  auto i = static_cast<size_t>(code);
  return i < std::size(kLanguageNames) ? kLanguageNames[i] : "OTHER";
}

LanguageCode LanguageFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kLanguageNames); ++i) {
    if (kLanguageNames[i] == name) return static_cast<LanguageCode>(i);
  }
  return LanguageCode::kOther;
}

RemotingCommand RemotingCommand::Request(int32_t code) {
  RemotingCommand c;
  c.code = code;
  return c;
}

RemotingCommand RemotingCommand::ResponseTo(const RemotingCommand& request, int32_t code,
                                            std::string remark) {
  RemotingCommand c;
  c.code = code;
  c.opaque = request.opaque;
  c.flag = kFlagResponse;
  c.serialize_type = request.serialize_type;
  if (!remark.empty()) c.remark = std::move(remark);
  return c;
}

std::optional<std::string_view> RemotingCommand::Find(std::string_view key) const {
  auto it = ext_fields.find(key);
  if (it == ext_fields.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<std::string> RemotingCommand::GetString(std::string_view key) const {
  auto v = Find(key);
  if (!v) return Status::InvalidArgument("the custom field <" + std::string(key) + "> is null");
  return std::string(*v);
}

Result<std::string> RemotingCommand::GetTopic(std::string_view key) const {
  RJ_ASSIGN_OR_RETURN(std::string topic, GetString(key));
  RJ_RETURN_IF_ERROR(ValidateTopicName(topic));
  return topic;
}

Result<std::string> RemotingCommand::GetGroup(std::string_view key) const {
  RJ_ASSIGN_OR_RETURN(std::string group, GetString(key));
  RJ_RETURN_IF_ERROR(ValidateGroupName(group));
  return group;
}

namespace {
template <typename T>
Result<T> ParseIntField(std::optional<std::string_view> v, std::string_view key) {
  if (!v) return Status::InvalidArgument("the custom field <" + std::string(key) + "> is null");
  std::string_view s = *v;
  T x{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument("the custom field <" + std::string(key) +
                                   "> is not a number: '" + std::string(s) + "'");
  }
  return x;
}
}  // namespace

Result<int32_t> RemotingCommand::GetInt32(std::string_view key) const {
  return ParseIntField<int32_t>(Find(key), key);
}
Result<int64_t> RemotingCommand::GetInt64(std::string_view key) const {
  return ParseIntField<int64_t>(Find(key), key);
}
int32_t RemotingCommand::GetInt32Or(std::string_view key, int32_t def) const {
  auto r = GetInt32(key);
  return r.ok() ? *r : def;
}
int64_t RemotingCommand::GetInt64Or(std::string_view key, int64_t def) const {
  auto r = GetInt64(key);
  return r.ok() ? *r : def;
}
bool RemotingCommand::GetBool(std::string_view key) const {
  auto v = Find(key);
  if (!v || v->size() != 4) return false;
  std::string s(*v);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "true";
}

namespace {
void AppendInt(int64_t v, std::string* out) {
  char b[24];
  auto [end, ec] = std::to_chars(b, b + sizeof(b), v);
  out->append(b, static_cast<size_t>(end - b));
}
}  // namespace

std::string EncodeJsonHeader(const RemotingCommand& cmd) {
  std::string out;
  size_t fields = 0;
  for (const auto& [k, v] : cmd.ext_fields) fields += k.size() + v.size() + 6;
  out.reserve(128 + fields + (cmd.remark ? cmd.remark->size() + 12 : 0));
  out.append("{\"code\":");
  AppendInt(cmd.code, &out);
  if (!cmd.ext_fields.empty()) {
    out.append(",\"extFields\":{");
    bool first = true;
    for (const auto& [k, v] : cmd.ext_fields) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(k, &out);
      out.push_back(':');
      AppendJsonString(v, &out);
    }
    out.push_back('}');
  }
  out.append(",\"flag\":");
  AppendInt(cmd.flag, &out);
  out.append(",\"language\":");
  AppendJsonString(LanguageName(cmd.language), &out);
  out.append(",\"opaque\":");
  AppendInt(cmd.opaque, &out);
  if (cmd.remark) {
    out.append(",\"remark\":");
    AppendJsonString(*cmd.remark, &out);
  }
  out.append(",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
  AppendInt(cmd.version, &out);
  out.push_back('}');
  return out;
}

std::string EncodeBinaryHeader(const RemotingCommand& cmd) {
  std::string out;
  char b[8];
  EncodeBE16(b, static_cast<uint16_t>(cmd.code));
  out.append(b, 2);
  out.push_back(static_cast<char>(cmd.language));
  EncodeBE16(b, static_cast<uint16_t>(cmd.version));
  out.append(b, 2);
  EncodeBE32(b, static_cast<uint32_t>(cmd.opaque));
  out.append(b, 4);
  EncodeBE32(b, static_cast<uint32_t>(cmd.flag));
  out.append(b, 4);
  const std::string remark = cmd.remark.value_or("");
  EncodeBE32(b, static_cast<uint32_t>(remark.size()));
  out.append(b, 4);
  out.append(remark);
  std::string ext;
  for (const auto& [k, v] : cmd.ext_fields) {
    EncodeBE16(b, static_cast<uint16_t>(k.size()));
    ext.append(b, 2);
    ext.append(k);
    EncodeBE32(b, static_cast<uint32_t>(v.size()));
    ext.append(b, 4);
    ext.append(v);
  }
  EncodeBE32(b, static_cast<uint32_t>(ext.size()));
  out.append(b, 4);
  out.append(ext);
  return out;
}

void EncodeFrame(const RemotingCommand& cmd, std::string* out) {
  std::string header = cmd.serialize_type == SerializeType::kRocketMq ? EncodeBinaryHeader(cmd)
                                                                      : EncodeJsonHeader(cmd);
  char b[8];
  EncodeBE32(b, static_cast<uint32_t>(4 + header.size() + cmd.body.size()));
  EncodeBE32(b + 4, (static_cast<uint32_t>(cmd.serialize_type) << 24) |
                        (static_cast<uint32_t>(header.size()) & 0xFFFFFF));
  out->reserve(out->size() + 8 + header.size() + cmd.body.size());
  out->append(b, 8);
  out->append(header);
  out->append(cmd.body);
}

std::string EncodeFrame(const RemotingCommand& cmd) {
  std::string out;
  EncodeFrame(cmd, &out);
  return out;
}

Result<RemotingCommand> DecodeFrameBody(std::string_view frame) {
  if (frame.size() < 4) return Bad("frame shorter than its header-length field");
  uint32_t word = DecodeBE32(frame.data());
  uint32_t type = word >> 24;
  size_t header_len = word & 0xFFFFFF;
  if (header_len > frame.size() - 4) {
    return Bad("header length " + std::to_string(header_len) + " exceeds frame length " +
               std::to_string(frame.size()));
  }
  std::string_view header = frame.substr(4, header_len);
  Result<RemotingCommand> cmd = Status::Corruption("unset");
  if (type == 0) {
    cmd = DecodeJsonHeader(header);
  } else if (type == 1) {
    cmd = DecodeBinaryHeader(header);
  } else {
    return Bad("unknown serialize type " + std::to_string(type));
  }
  if (!cmd.ok()) return cmd.status();
  cmd->body.assign(frame.substr(4 + header_len));
  return cmd;
}

Result<std::optional<RemotingCommand>> FrameDecoder::Next() {
  if (buf_.size() - pos_ < 4) {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return std::optional<RemotingCommand>();
  }
  uint32_t len = DecodeBE32(buf_.data() + pos_);
  if (len < 4) return Bad("frame length " + std::to_string(len) + " is below the minimum of 4");
  if (len > max_frame_bytes_) {
    return Bad("frame length " + std::to_string(len) + " exceeds the maximum of " +
               std::to_string(max_frame_bytes_));
  }
  if (buf_.size() - pos_ < 4 + static_cast<size_t>(len)) {
    // Compact so that the buffer does not grow without bound.
    if (pos_ > 0 && pos_ > buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return std::optional<RemotingCommand>();
  }
  auto cmd = DecodeFrameBody(std::string_view(buf_).substr(pos_ + 4, len));
  pos_ += 4 + len;
  if (pos_ == buf_.size()) {
    // A connection that once sent a large frame does not keep its buffer: idle connections
    // hold no memory.
    if (buf_.capacity() > kRetainedBufferBytes) {
      std::string().swap(buf_);
    } else {
      buf_.clear();
    }
    pos_ = 0;
  }
  if (!cmd.ok()) return cmd.status();
  return std::optional<RemotingCommand>(std::move(cmd).value());
}

}  // namespace ramjet::protocol
