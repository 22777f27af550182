// ExtFields: the extFields of a remoting header, a small map of strings kept sorted by key (as
// fastjson writes them and as ACL signatures read them: Java's TreeMap order, bytewise here).
//
// A flat, sorted vector rather than a node map: a request carries 5-20 fields that arrive
// already sorted, so decoding appends each one (no search, no node allocation) and a lookup is a
// short binary search. The interface is the subset of std::map the code uses.
// Thread-safety: a value; no shared state.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ramjet::protocol {

class ExtFields {
 public:
  using value_type = std::pair<std::string, std::string>;
  using iterator = std::vector<value_type>::iterator;
  using const_iterator = std::vector<value_type>::const_iterator;

  ExtFields() = default;
  ExtFields(std::initializer_list<value_type> init) {
    for (const auto& [k, v] : init) insert_or_assign(k, v);
  }

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void reserve(size_t n) { items_.reserve(n); }
  void clear() { items_.clear(); }

  iterator find(std::string_view key) {
    auto it = LowerBound(key);
    return it != items_.end() && it->first == key ? it : items_.end();
  }
  const_iterator find(std::string_view key) const {
    return const_cast<ExtFields*>(this)->find(key);
  }
  size_t count(std::string_view key) const { return find(key) != end() ? 1 : 0; }
  bool contains(std::string_view key) const { return find(key) != end(); }
  // The value of key, or an empty string when it is absent.
  const std::string& at(std::string_view key) const {
    static const std::string kEmpty;
    auto it = find(key);
    return it != end() ? it->second : kEmpty;
  }

  std::string& operator[](std::string_view key) {
    auto it = LowerBound(key);
    if (it == items_.end() || it->first != key) it = items_.emplace(it, std::string(key), "");
    return it->second;
  }
  // Sets key to value; returns true when the key was new.
  bool insert_or_assign(std::string key, std::string value) {
    auto it = LowerBound(key);
    if (it != items_.end() && it->first == key) {
      it->second = std::move(value);
      return false;
    }
    items_.emplace(it, std::move(key), std::move(value));
    return true;
  }
  // Adds key = value unless key is present (std::map::emplace); returns true when added.
  bool emplace(std::string key, std::string value) {
    auto it = LowerBound(key);
    if (it != items_.end() && it->first == key) return false;
    items_.emplace(it, std::move(key), std::move(value));
    return true;
  }
  size_t erase(std::string_view key) {
    auto it = find(key);
    if (it == items_.end()) return 0;
    items_.erase(it);
    return 1;
  }

  friend bool operator==(const ExtFields& a, const ExtFields& b) { return a.items_ == b.items_; }

 private:
  // Bytewise order. Keys are short and mostly differ in their first byte, so a loop beats a call
  // to memcmp.
  static bool KeyLess(std::string_view a, std::string_view b) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
  }
  // Keys usually arrive in order, so the end is checked before a binary search.
  iterator LowerBound(std::string_view key) {
    if (items_.empty() || KeyLess(items_.back().first, key)) return items_.end();
    return std::lower_bound(
        items_.begin(), items_.end(), key,
        [](const value_type& e, std::string_view k) { return KeyLess(e.first, k); });
  }

  std::vector<value_type> items_;
};

}  // namespace ramjet::protocol
