#include "etcd_codec.h"

#include <cctype>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

namespace ramjet::controller {
namespace {

using nlohmann::json;

// etcd writes int64 fields as JSON strings ("revision": "3"); accept numbers too.
Result<int64_t> Int64Field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return int64_t{0};
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return Status::Corruption(std::string("etcd answer: field ") + name + " is not an int64");
}

Result<std::string> BytesField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Status::Corruption(std::string("etcd answer: ") + name);
  return Base64Decode(it->get_ref<const std::string&>());
}

Result<json> ParseObject(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("etcd answer is not JSON");
  if (j.contains("error") || (j.contains("code") && !j.contains("header"))) {
    std::string msg = j.value("message", std::string());
    if (msg.empty() && j["error"].is_string()) msg = j["error"].get<std::string>();
    const int code = j.contains("code") && j["code"].is_number_integer() ? j["code"].get<int>() : 2;
    msg = "etcd: " + msg;
    if (code == 5) return Status::NotFound(msg);
    if (code == 3) return Status::InvalidArgument(msg);
    return Status::Unavailable(msg);
  }
  return j;
}

Result<KeyValue> DecodeKv(const json& j) {
  if (!j.is_object()) return Status::Corruption("etcd answer: kv is not an object");
  KeyValue kv;
  RJ_ASSIGN_OR_RETURN(kv.key, BytesField(j, "key"));
  RJ_ASSIGN_OR_RETURN(kv.value, BytesField(j, "value"));
  RJ_ASSIGN_OR_RETURN(kv.create_revision, Int64Field(j, "create_revision"));
  RJ_ASSIGN_OR_RETURN(kv.mod_revision, Int64Field(j, "mod_revision"));
  RJ_ASSIGN_OR_RETURN(kv.lease, Int64Field(j, "lease"));
  return kv;
}

Result<std::vector<KeyValue>> DecodeKvs(const json& j) {
  std::vector<KeyValue> out;
  auto it = j.find("kvs");
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Status::Corruption("etcd answer: kvs is not an array");
  for (const auto& e : *it) {
    RJ_ASSIGN_OR_RETURN(KeyValue kv, DecodeKv(e));
    out.push_back(std::move(kv));
  }
  return out;
}

// The first key after every key starting with prefix (etcd's range_end for a prefix).
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

json OpJson(const Op& op) {
  switch (op.kind) {
    case Op::kPut: {
      json put = {{"key", Base64Encode(op.key)}, {"value", Base64Encode(op.value)}};
      if (op.lease != 0) put["lease"] = std::to_string(op.lease);
      return {{"request_put", put}};
    }
    case Op::kDelete:
      return {{"request_delete_range", {{"key", Base64Encode(op.key)}}}};
    case Op::kRange:
      return {{"request_range", {{"key", Base64Encode(op.key)}}}};
  }
  return json::object();
}

json CompareJson(const Compare& c) {
  json j = {{"key", Base64Encode(c.key)}, {"result", "EQUAL"}};
  switch (c.kind) {
    case Compare::kCreateRevision:
      j["target"] = "CREATE";
      j["create_revision"] = std::to_string(c.revision);
      break;
    case Compare::kModRevision:
      j["target"] = "MOD";
      j["mod_revision"] = std::to_string(c.revision);
      break;
    case Compare::kValue:
      j["target"] = "VALUE";
      j["value"] = Base64Encode(c.value);
      break;
  }
  return j;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Result<std::string> Dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    const size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return Status::Corruption("HTTP: truncated chunk size");
    std::string_view size_text = in.substr(0, eol);
    if (size_t semi = size_text.find(';'); semi != std::string_view::npos)
      size_text = size_text.substr(0, semi);
    size_text = Trim(size_text);
    uint64_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || p != size_text.data() + size_text.size() || size_text.empty())
      return Status::Corruption("HTTP: bad chunk size");
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (size > in.size()) return Status::Corruption("HTTP: truncated chunk");
    out.append(in.substr(0, size));
    in.remove_prefix(size);
    if (in.substr(0, 2) != "\r\n") return Status::Corruption("HTTP: chunk without CRLF");
    in.remove_prefix(2);
  }
}

}  // namespace

Result<HttpResponse> ParseHttpResponse(std::string_view raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return Status::Corruption("HTTP: no end of headers");
  std::string_view head = raw.substr(0, head_end);
  std::string_view body = raw.substr(head_end + 4);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.substr(0, 5) != "HTTP/" || status_line.size() < 12 || status_line[8] != ' ')
    return Status::Corruption("HTTP: bad status line");
  HttpResponse r;
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
  if (ec != std::errc() || p != status_line.data() + 12 || r.status < 100)
    return Status::Corruption("HTTP: bad status code");
  bool chunked = false;
  int64_t length = -1;
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Status::Corruption("HTTP: bad header line");
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (IEquals(name, "Transfer-Encoding")) {
      chunked = IEquals(value, "chunked");
    } else if (IEquals(name, "Content-Length")) {
      auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (e != std::errc() || q != value.data() + value.size() || length < 0)
        return Status::Corruption("HTTP: bad Content-Length");
    }
  }
  if (chunked) {
    RJ_ASSIGN_OR_RETURN(r.body, Dechunk(body));
  } else if (length >= 0) {
    if (static_cast<uint64_t>(length) > body.size())
      return Status::Corruption("HTTP: body shorter than Content-Length");
    r.body.assign(body.substr(0, static_cast<size_t>(length)));
  } else {
    r.body.assign(body);
  }
  return r;
}

std::string EncodeHttpPost(std::string_view host, std::string_view path, std::string_view body) {
  std::string out;
  out.reserve(body.size() + 160);
  out.append("POST ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  out.append(std::to_string(body.size())).append("\r\nConnection: close\r\n\r\n").append(body);
  return out;
}

std::string EncodeRangeRequest(std::string_view key, bool prefix) {
  json j = {{"key", Base64Encode(key)}};
  if (prefix) j["range_end"] = Base64Encode(PrefixEnd(key));
  return j.dump();
}

std::string EncodePutRequest(std::string_view key, std::string_view value, int64_t lease) {
  json j = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) j["lease"] = std::to_string(lease);
  return j.dump();
}

std::string EncodeDeleteRequest(std::string_view key) {
  return json{{"key", Base64Encode(key)}}.dump();
}

std::string EncodeTxnRequest(const std::vector<Compare>& compare, const std::vector<Op>& success,
                             const std::vector<Op>& failure) {
  json j = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compare) j["compare"].push_back(CompareJson(c));
  for (const auto& op : success) j["success"].push_back(OpJson(op));
  for (const auto& op : failure) j["failure"].push_back(OpJson(op));
  return j.dump();
}

std::string EncodeLeaseGrantRequest(int64_t ttl_s) { return json{{"TTL", ttl_s}}.dump(); }

std::string EncodeLeaseIdRequest(int64_t lease) {
  return json{{"ID", std::to_string(lease)}}.dump();
}

Result<std::vector<KeyValue>> DecodeRangeResponse(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body));
  return DecodeKvs(j);
}

Result<TxnResult> DecodeTxnResponse(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body));
  TxnResult r;
  auto s = j.find("succeeded");
  r.succeeded = s != j.end() && s->is_boolean() && s->get<bool>();
  auto responses = j.find("responses");
  if (responses == j.end() || responses->is_null()) return r;
  if (!responses->is_array()) return Status::Corruption("etcd answer: responses");
  for (const auto& resp : *responses) {
    if (!resp.is_object()) return Status::Corruption("etcd answer: response");
    auto range = resp.find("response_range");
    if (range == resp.end()) continue;
    RJ_ASSIGN_OR_RETURN(auto kvs, DecodeKvs(*range));
    r.ranges.push_back(std::move(kvs));
  }
  return r;
}

Result<int64_t> DecodeLeaseGrantResponse(std::string_view body) {
  RJ_ASSIGN_OR_RETURN(json j, ParseObject(body));
  RJ_ASSIGN_OR_RETURN(int64_t id, Int64Field(j, "ID"));
  if (id == 0) return Status::Corruption("etcd answer: no lease id");
  return id;
}

Status DecodeEmptyResponse(std::string_view body) { return ParseObject(body).status(); }

Result<int64_t> DecodeKeepAliveResponse(std::string_view body) {
  // The gateway streams one JSON object per message; the first one is ours.
  const size_t end = body.find('\n');
  RJ_ASSIGN_OR_RETURN(json j,
                      ParseObject(end == std::string_view::npos ? body : body.substr(0, end)));
  auto result = j.find("result");
  if (result == j.end() || !result->is_object())
    return Status::Corruption("etcd answer: keep-alive without result");
  return Int64Field(*result, "TTL");
}

}  // namespace ramjet::controller
