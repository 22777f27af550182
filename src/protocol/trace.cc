#include "ramjet/protocol/trace.h"

#include <charconv>

namespace ramjet::protocol {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t b = 0;
  for (size_t e; (e = s.find(sep, b)) != std::string_view::npos; b = e + 1) {
    out.push_back(s.substr(b, e - b));
  }
  out.push_back(s.substr(b));
  return out;
}

template <typename T>
bool Num(std::string_view s, T* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool Decode(const std::vector<std::string_view>& f, TraceRecord* r) {
  r->type = std::string(f[0]);
  auto str = [&](size_t i) { return i < f.size() ? std::string(f[i]) : std::string(); };
  if (r->type == "Pub") {
    if (f.size() < 13) return false;
    if (!Num(f[1], &r->timestamp) || !Num(f[9], &r->body_length) || !Num(f[10], &r->cost_ms)) {
      return false;
    }
    r->region = str(2), r->group = str(3), r->topic = str(4), r->msg_id = str(5);
    r->tags = str(6), r->keys = str(7), r->store_host = str(8);
    if (f.size() == 13) {
      r->success = f[12] == "true";
    } else {
      r->offset_msg_id = str(12);
      r->success = f[13] == "true";
      r->client_host = str(14);
    }
    return true;
  }
  if (r->type == "SubBefore") {
    if (f.size() < 8 || !Num(f[1], &r->timestamp) || !Num(f[6], &r->retry_times)) return false;
    r->region = str(2), r->group = str(3), r->request_id = str(4), r->msg_id = str(5);
    r->keys = str(7);
    return true;
  }
  if (r->type == "SubAfter") {
    if (f.size() < 6 || !Num(f[3], &r->cost_ms)) return false;
    r->request_id = str(1), r->msg_id = str(2), r->success = f[4] == "true", r->keys = str(5);
    if (f.size() >= 9) {
      if (!Num(f[7], &r->timestamp)) return false;
      r->group = str(8);
    }
    return true;
  }
  if (r->type == "EndTransaction") {
    if (f.size() < 13 || !Num(f[1], &r->timestamp)) return false;
    r->region = str(2), r->group = str(3), r->topic = str(4), r->msg_id = str(5);
    r->tags = str(6), r->keys = str(7), r->store_host = str(8), r->transaction_id = str(10);
    r->transaction_state = str(11);
    return true;
  }
  if (r->type == "Recall") {
    if (f.size() < 7 || !Num(f[1], &r->timestamp)) return false;
    r->region = str(2), r->group = str(3), r->topic = str(4), r->msg_id = str(5);
    r->success = f[6] == "true";
    return true;
  }
  return false;
}

}  // namespace

std::vector<TraceRecord> DecodeTraceData(std::string_view data) {
  std::vector<TraceRecord> out;
  for (std::string_view rec : Split(data, '\2')) {
    if (rec.empty()) continue;
    TraceRecord r;
    if (Decode(Split(rec, '\1'), &r)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ramjet::protocol
