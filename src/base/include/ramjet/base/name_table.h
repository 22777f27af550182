// NameTable<V>: an open-addressing hash table from (name, id) to a small value, for lookups made
// per message over thousands of names (topics, topic queues). A std::unordered_map<std::string>
// costs a bucket, a node and the key's characters per lookup: with thousands of keys each is a
// cache miss. Here a slot is one cache line holding the key's hash, the value, the id and, for
// names up to kInline bytes, the characters, so a hit reads one line (two when probing on).
// Longer names are kept out of line and compared there.
//
// Entries are only added, or all dropped at once (Clear); the table is kept at most half full.
// Threading: none; callers lock or own it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "ramjet/base/check.h"

namespace ramjet {

template <typename V>
class NameTable {
  static constexpr uint32_t kFree = UINT32_MAX;
  struct Head {
    uint64_t hash = 0;
    V value{};
    std::unique_ptr<char[]> long_name;  // a name longer than kInline
    int32_t id = 0;
    uint32_t length = kFree;  // kFree: an unused slot
    bool used() const { return length != kFree; }
  };

 public:
  // Names up to this many bytes are kept in the slot (24 for a 16-byte value).
  static constexpr size_t kInline = sizeof(Head) + 16 <= 64 ? 64 - sizeof(Head) : 16;

  // The value of (name, id), or nullptr. Valid until the next Insert or Clear.
  V* Find(std::string_view name, int32_t id = 0) {
    if (slots_.empty()) return nullptr;
    const uint64_t h = Hash(name, id);
    for (size_t i = h & Mask();; i = (i + 1) & Mask()) {
      Slot& s = slots_[i];
      if (!s.used()) return nullptr;
      if (s.hash == h && s.id == id && s.Names(name)) return &s.value;
    }
  }
  const V* Find(std::string_view name, int32_t id = 0) const {
    return const_cast<NameTable*>(this)->Find(name, id);
  }
  // Adds (name, id) with value and returns the stored value.
  // REQUIRES: (name, id) is absent.
  V& Insert(std::string_view name, int32_t id, V value) {
    RJ_CHECK(name.size() < kFree, "NameTable: a name of %zu bytes", name.size());
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Slot s;
    s.hash = Hash(name, id);
    s.value = std::move(value);
    s.length = static_cast<uint32_t>(name.size());
    s.id = id;
    char* chars = s.name;
    if (name.size() > kInline) {
      s.long_name = std::make_unique<char[]>(name.size());
      chars = s.long_name.get();
    }
    if (!name.empty()) std::memcpy(chars, name.data(), name.size());
    ++size_;
    return Place(std::move(s));
  }
  // Drops every entry and keeps the slots: a table rebuilt again and again (an index after each
  // change of what it indexes) allocates nothing more. Reallocating instead left glibc's heap
  // fragmented past its mmap threshold: 1,000 topics created one by one held 58 MB more RSS.
  void Clear() {
    for (Slot& s : slots_) s = Slot();
    size_ = 0;
  }
  // Room for n entries without growing.
  void Reserve(size_t n) {
    while (n * 2 > slots_.size()) Grow();
  }
  size_t size() const { return size_; }
  // f(name, id, value) for every entry, in no particular order.
  template <typename F>
  void ForEach(F&& f) {
    for (Slot& s : slots_) {
      if (s.used()) f(s.Name(), s.id, s.value);
    }
  }

 private:
  struct alignas(64) Slot : Head {
    char name[kInline];
    std::string_view Name() const {
      return {this->long_name ? this->long_name.get() : name, this->length};
    }
    bool Names(std::string_view n) const {
      return n.size() == this->length && std::memcmp(Name().data(), n.data(), n.size()) == 0;
    }
  };

  static uint64_t Hash(std::string_view name, int32_t id) {
    uint64_t h = std::hash<std::string_view>{}(name) +
                 static_cast<uint64_t>(static_cast<uint32_t>(id)) * 0x9E3779B97F4A7C15u;
    h ^= h >> 29;
    return h * 0xBF58476D1CE4E5B9u;
  }
  size_t Mask() const { return slots_.size() - 1; }
  V& Place(Slot s) {
    size_t i = s.hash & Mask();
    while (slots_[i].used()) i = (i + 1) & Mask();
    slots_[i] = std::move(s);
    return slots_[i].value;
  }
  void Grow() {
    std::vector<Slot> old =
        std::exchange(slots_, std::vector<Slot>(std::max<size_t>(64, slots_.size() * 2)));
    for (Slot& s : old) {
      if (s.used()) Place(std::move(s));
    }
  }

  std::vector<Slot> slots_;  // a power of two in size, at most half full
  size_t size_ = 0;
};

}  // namespace ramjet
