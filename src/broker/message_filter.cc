#include "message_filter.h"

#include "ramjet/message/record.h"
#include "ramjet/protocol/codes.h"
#include "sql92.h"

namespace ramjet::broker {
namespace {

class TagFilter : public store::MessageFilter {
 public:
  explicit TagFilter(protocol::SubscriptionData sub) : sub_(std::move(sub)) {
    all_ = sub_.sub_string.empty() || sub_.sub_string == "*" || sub_.class_filter_mode;
  }
  bool MatchTagsCode(int64_t code) const override {
    return all_ || sub_.code_set.count(static_cast<int32_t>(code)) > 0;
  }

 private:
  protocol::SubscriptionData sub_;
  bool all_ = false;
};

class SqlFilter : public store::MessageFilter {
 public:
  explicit SqlFilter(std::shared_ptr<const sql92::Expression> e) : expr_(std::move(e)) {}
  bool MatchTagsCode(int64_t) const override { return true; }
  bool MatchRecord(const message::RecordView& r) const override {
    return expr_->Matches([&](std::string_view key) -> std::optional<std::string_view> {
      for (const auto& [k, v] : message::ParseProperties(r.properties)) {
        if (k == key) return v;
      }
      return std::nullopt;
    });
  }

 private:
  std::shared_ptr<const sql92::Expression> expr_;
};

}  // namespace

std::shared_ptr<store::MessageFilter> MakeTagFilter(protocol::SubscriptionData sub) {
  return std::make_shared<TagFilter>(std::move(sub));
}

Result<std::shared_ptr<store::MessageFilter>> MakeSqlFilter(const protocol::SubscriptionData& sub,
                                                            bool property_filter_enabled) {
  if (sub.expression_type != "SQL92") {
    return Status::InvalidArgument("unknown expression type " + sub.expression_type +
                                   " (TAG or SQL92)");
  }
  if (!property_filter_enabled) {
    return Status::Unavailable(
        "The broker does not support consumer to filter message by SQL92 "
        "(enablePropertyFilter=false)");
  }
  auto e = sql92::Compile(sub.sub_string);
  if (!e.ok()) return e.status();
  return std::shared_ptr<store::MessageFilter>(std::make_shared<SqlFilter>(*e));
}

Result<std::shared_ptr<store::MessageFilter>> MakeFilter(const protocol::SubscriptionData& sub,
                                                         bool property_filter_enabled) {
  if (sub.expression_type == "TAG") return MakeTagFilter(sub);
  return MakeSqlFilter(sub, property_filter_enabled);
}

int32_t SubscriptionErrorCode(const Status& s) {
  namespace rc = protocol::response_code;
  return s.code() == StatusCode::kUnavailable ? rc::kSystemError : rc::kSubscriptionParseFailed;
}

}  // namespace ramjet::broker
