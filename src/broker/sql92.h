// SQL92 property filters (RocketMQ's `expressionType=SQL92` subscriptions): a parser for the
// grammar of RocketMQ's SelectorParser (comparison, BETWEEN, IN, IS [NOT] NULL, AND/OR/NOT,
// TRUE/FALSE/NULL, numeric and string literals) and an evaluator over message properties.
//
// Semantics follow RocketMQ: identifiers are message properties (strings, or null when absent);
// comparing a property with a number converts the property to that number type (no match if it
// is not a number); ordering comparisons between strings only work when both parse as numbers;
// anything involving null, or a non-boolean result, is "no match".
// Thread-safety: a compiled Expression is immutable and may be evaluated concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ramjet/base/result.h"

namespace ramjet::broker::sql92 {

class Expression {
 public:
  virtual ~Expression() = default;
  // Property lookup: nullopt when the message has no such property.
  using Lookup = std::function<std::optional<std::string_view>(std::string_view)>;
  virtual bool Matches(const Lookup& lookup) const = 0;
};

// Compiles an expression; kInvalidArgument with the position and what was expected otherwise.
Result<std::shared_ptr<const Expression>> Compile(std::string_view text);

}  // namespace ramjet::broker::sql92
