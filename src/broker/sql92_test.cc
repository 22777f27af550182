#include "sql92.h"

#include <gtest/gtest.h>

#include <map>

namespace ramjet::broker::sql92 {
namespace {

bool Eval(std::string_view expr, const std::map<std::string, std::string>& props) {
  auto e = Compile(expr);
  EXPECT_TRUE(e.ok()) << expr << ": " << e.status().ToString();
  if (!e.ok()) return false;
  return (*e)->Matches([&](std::string_view k) -> std::optional<std::string_view> {
    auto it = props.find(std::string(k));
    if (it == props.end()) return std::nullopt;
    return std::string_view(it->second);
  });
}

TEST(Sql92, ComparisonsOnNumbersAndStrings) {
  std::map<std::string, std::string> m{{"a", "7"}, {"b", "x"}, {"c", "2.5"}, {"d", "abc"}};
  EXPECT_TRUE(Eval("a > 5 AND b = 'x'", m));
  EXPECT_FALSE(Eval("a > 7", m));
  EXPECT_TRUE(Eval("a >= 7 AND a <= 7 AND a = 7 AND a <> 8", m));
  EXPECT_TRUE(Eval("c < 3 AND c > 2.4", m));
  EXPECT_TRUE(Eval("b <> 'y'", m));
  EXPECT_FALSE(Eval("d > 1", m)) << "a non-number never compares to a number";
  EXPECT_FALSE(Eval("b > 'a'", m)) << "ordering of non-numeric strings is no match";
  EXPECT_TRUE(Eval("a = 7L", m));
  EXPECT_TRUE(Eval("-a < 0", m));
}

TEST(Sql92, BetweenInNullAndBooleans) {
  std::map<std::string, std::string> m{{"a", "7"}, {"region", "eu"}, {"flag", "true"}};
  EXPECT_TRUE(Eval("a BETWEEN 5 AND 10", m));
  EXPECT_FALSE(Eval("a NOT BETWEEN 5 AND 10", m));
  EXPECT_TRUE(Eval("region IN ('eu', 'us')", m));
  EXPECT_FALSE(Eval("region NOT IN ('eu', 'us')", m));
  EXPECT_TRUE(Eval("missing IS NULL AND region IS NOT NULL", m));
  EXPECT_FALSE(Eval("missing = 1", m));
  EXPECT_FALSE(Eval("NOT (missing = 1)", m)) << "unknown stays unknown under NOT";
  EXPECT_TRUE(Eval("missing = 1 OR a = 7", m));
  EXPECT_TRUE(Eval("TRUE", m));
  EXPECT_FALSE(Eval("FALSE", m));
  EXPECT_TRUE(Eval("flag = TRUE", m));
  EXPECT_TRUE(Eval("(a > 1 OR a < 0) AND NOT region = 'us'", m));
  EXPECT_TRUE(Eval("name = 'it''s'", {{"name", "it's"}}));
  EXPECT_FALSE(Eval("a", m)) << "a non-boolean result is no match";
  EXPECT_TRUE(Eval("a between 1 and 9 and region in ('eu') or false", m)) << "keywords any case";
}

TEST(Sql92, BadExpressionsAreClearErrors) {
  for (const char* bad : {"", "a >", "a > 5 AND", "a IN (1, 2)", "a IN ('x'", "'unterminated",
                          "a ! 3", "(a > 1", "a BETWEEN 1", "a IS 5", "AND a > 1", "a > 1 b"}) {
    auto e = Compile(bad);
    EXPECT_FALSE(e.ok()) << bad;
    if (!e.ok()) {
      EXPECT_NE(e.status().message().find("SQL92"), std::string_view::npos);
    }
  }
  std::string deep(200, '(');
  deep += "a > 1";
  deep += std::string(200, ')');
  EXPECT_FALSE(Compile(deep).ok());
}

// Nesting counts what is open, not what was ever opened: many sibling terms compile; only deep
// nesting is refused (65 sibling (a=1) terms were refused as "nested too deeply").
TEST(Sql92, SiblingTermsAreNotNesting) {
  std::string siblings = "(a = 1)";
  for (int i = 1; i < 200; ++i) siblings += (i % 2 ? " OR (a = 1)" : " AND NOT (a = 1)");
  auto e = Compile(siblings);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  std::string nested_ok(63, '(');
  nested_ok += "a = 1" + std::string(63, ')');
  EXPECT_TRUE(Compile(nested_ok).ok());
  std::string nested_bad(65, '(');
  nested_bad += "a = 1" + std::string(65, ')');
  EXPECT_FALSE(Compile(nested_bad).ok());
}

}  // namespace
}  // namespace ramjet::broker::sql92
