// Strong integer types for the several easily confused numbers of a RocketMQ store.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace ramjet {

template <typename T, typename Tag>
class StrongInt {
 public:
  using ValueType = T;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr StrongInt operator+(T d) const { return StrongInt(v_ + d); }
  constexpr StrongInt operator-(T d) const { return StrongInt(v_ - d); }
  constexpr T operator-(StrongInt o) const { return v_ - o.v_; }
  constexpr StrongInt& operator+=(T d) {
    v_ += d;
    return *this;
  }

 private:
  T v_{};
};

// Byte position in the CommitLog (RocketMQ "physical offset").
using PhysicalOffset = StrongInt<int64_t, struct PhysicalOffsetTag>;
// Entry index in a ConsumeQueue (RocketMQ "queue offset"/"logical offset").
using QueueOffset = StrongInt<int64_t, struct QueueOffsetTag>;

}  // namespace ramjet

template <typename T, typename Tag>
struct std::hash<ramjet::StrongInt<T, Tag>> {
  size_t operator()(const ramjet::StrongInt<T, Tag>& v) const { return std::hash<T>()(v.value()); }
};
