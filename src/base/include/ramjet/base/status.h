// Status: the outcome of an operation, returned by value. OK costs one null pointer.
// Thread-safety: a Status is a value; distinct objects may be used from distinct threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace ramjet {

enum class StatusCode : int {
  kOk = 0,
  kNotFound = 1,
  kCorruption = 2,
  kInvalidArgument = 3,
  kIOError = 4,
  kNoSpace = 5,      // disk full
  kBusy = 6,         // back-pressure: try again later
  kTimeout = 7,      // e.g. sync flush did not complete in time
  kUnavailable = 8,  // service stopped / store not writable
  kOutOfRange = 9,
  kAlreadyExists = 10,
  kInternal = 11,
  kPermissionDenied = 12,  // refused by a permission (topic, group, broker)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string_view msg);

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view m) { return {StatusCode::kNotFound, m}; }
  static Status Corruption(std::string_view m) { return {StatusCode::kCorruption, m}; }
  static Status InvalidArgument(std::string_view m) { return {StatusCode::kInvalidArgument, m}; }
  static Status IOError(std::string_view m) { return {StatusCode::kIOError, m}; }
  static Status NoSpace(std::string_view m) { return {StatusCode::kNoSpace, m}; }
  static Status Busy(std::string_view m) { return {StatusCode::kBusy, m}; }
  static Status Timeout(std::string_view m) { return {StatusCode::kTimeout, m}; }
  static Status Unavailable(std::string_view m) { return {StatusCode::kUnavailable, m}; }
  static Status OutOfRange(std::string_view m) { return {StatusCode::kOutOfRange, m}; }
  static Status AlreadyExists(std::string_view m) { return {StatusCode::kAlreadyExists, m}; }
  static Status Internal(std::string_view m) { return {StatusCode::kInternal, m}; }
  static Status PermissionDenied(std::string_view m) { return {StatusCode::kPermissionDenied, m}; }
  // An I/O failure described by errno: ENOSPC/EDQUOT become kNoSpace.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  std::string_view message() const { return rep_ ? std::string_view(rep_->msg) : ""; }
  std::string ToString() const;

  // Ignoring a status must be written down.
  void IgnoreError() const {}

 private:
  struct Rep {
    StatusCode code;
    std::string msg;
  };
  std::shared_ptr<const Rep> rep_;
};

}  // namespace ramjet

#define RJ_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::ramjet::Status rj_status__ = (expr);     \
    if (!rj_status__.ok()) return rj_status__; \
  } while (0)

#define RJ_CONCAT_INNER_(a, b) a##b
#define RJ_CONCAT_(a, b) RJ_CONCAT_INNER_(a, b)
#define RJ_ASSIGN_OR_RETURN(lhs, expr) \
  RJ_ASSIGN_OR_RETURN_IMPL_(RJ_CONCAT_(rj_res_, __LINE__), lhs, expr)
// lhs may be a declaration ("auto x") and tmp is a name: neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define RJ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
