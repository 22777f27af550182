#include "sql92.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>
#include <variant>
#include <vector>

namespace ramjet::broker::sql92 {
namespace {

// ---------------------------------------------------------------------------------------------
// Values

struct Null {};
using Value = std::variant<Null, bool, int64_t, double, std::string>;

std::optional<double> AsDouble(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) {
    const char* b = s->data();
    const char* e = b + s->size();
    while (b < e && std::isspace(static_cast<unsigned char>(*b))) ++b;
    if (b == e) return std::nullopt;
    std::string tmp(b, e);
    char* end = nullptr;
    double d = std::strtod(tmp.c_str(), &end);
    if (end != tmp.c_str() + tmp.size() || !std::isfinite(d)) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

std::optional<int64_t> AsLong(const std::string& s) {
  int64_t v = 0;
  std::string_view t = s;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (!t.empty() && (t.back() == 'L' || t.back() == 'l')) t.remove_suffix(1);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------------------------------------
// AST

struct Node {
  virtual ~Node() = default;
  virtual Value Eval(const Expression::Lookup& lookup) const = 0;
};
using NodePtr = std::unique_ptr<Node>;

struct Literal : Node {
  Value v;
  explicit Literal(Value x) : v(std::move(x)) {}
  Value Eval(const Expression::Lookup&) const override { return v; }
};

struct Property : Node {
  std::string name;
  explicit Property(std::string n) : name(std::move(n)) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    auto v = lookup(name);
    if (!v) return Null{};
    return std::string(*v);
  }
};

enum class Op { kEq, kNe, kGt, kGe, kLt, kLe };

// Compares a and b; nullopt means "unknown" (null, or not comparable).
std::optional<int> Compare(const Value& a, const Value& b, bool equality) {
  if (std::holds_alternative<Null>(a) || std::holds_alternative<Null>(b)) return std::nullopt;
  const bool a_str = std::holds_alternative<std::string>(a);
  const bool b_str = std::holds_alternative<std::string>(b);
  const bool a_bool = std::holds_alternative<bool>(a);
  const bool b_bool = std::holds_alternative<bool>(b);
  if (a_str && b_str) {
    if (equality) return std::get<std::string>(a).compare(std::get<std::string>(b)) == 0 ? 0 : 1;
    auto x = AsDouble(a), y = AsDouble(b);
    if (!x || !y) return std::nullopt;
    return *x < *y ? -1 : (*x > *y ? 1 : 0);
  }
  if (a_bool || b_bool) {
    // Boolean against boolean, or a property string "true"/"false".
    auto to_bool = [](const Value& v) -> std::optional<bool> {
      if (auto* bv = std::get_if<bool>(&v)) return *bv;
      if (auto* s = std::get_if<std::string>(&v)) {
        if (*s == "true" || *s == "TRUE") return true;
        if (*s == "false" || *s == "FALSE") return false;
      }
      return std::nullopt;
    };
    auto x = to_bool(a), y = to_bool(b);
    if (!x || !y || !equality) return std::nullopt;
    return *x == *y ? 0 : 1;
  }
  // At least one side is numeric: convert the other (a property string) to a number.
  auto x = AsDouble(a), y = AsDouble(b);
  if (!x || !y) return std::nullopt;
  // Exact comparison for two integers.
  auto xi = std::get_if<int64_t>(&a);
  auto yi = std::get_if<int64_t>(&b);
  std::optional<int64_t> li, ri;
  if (xi) li = *xi;
  if (yi) ri = *yi;
  if (!li && a_str && std::holds_alternative<int64_t>(b)) li = AsLong(std::get<std::string>(a));
  if (!ri && b_str && std::holds_alternative<int64_t>(a)) ri = AsLong(std::get<std::string>(b));
  if (li && ri) return *li < *ri ? -1 : (*li > *ri ? 1 : 0);
  return *x < *y ? -1 : (*x > *y ? 1 : 0);
}

Value Bool3(std::optional<bool> b) {
  if (!b) return Null{};
  return *b;
}

struct Comparison : Node {
  Op op;
  NodePtr l, r;
  Comparison(Op o, NodePtr a, NodePtr b) : op(o), l(std::move(a)), r(std::move(b)) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    Value a = l->Eval(lookup), b = r->Eval(lookup);
    auto c = Compare(a, b, op == Op::kEq || op == Op::kNe);
    if (!c) return Null{};
    switch (op) {
      case Op::kEq:
        return *c == 0;
      case Op::kNe:
        return *c != 0;
      case Op::kGt:
        return *c > 0;
      case Op::kGe:
        return *c >= 0;
      case Op::kLt:
        return *c < 0;
      case Op::kLe:
        return *c <= 0;
    }
    return Null{};
  }
};

struct Between : Node {
  NodePtr x, lo, hi;
  bool negate;
  Between(NodePtr a, NodePtr b, NodePtr c, bool n)
      : x(std::move(a)), lo(std::move(b)), hi(std::move(c)), negate(n) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    Value v = x->Eval(lookup);
    auto c1 = Compare(v, lo->Eval(lookup), false);
    auto c2 = Compare(v, hi->Eval(lookup), false);
    if (!c1 || !c2) return Null{};
    bool in = *c1 >= 0 && *c2 <= 0;
    return negate ? !in : in;
  }
};

struct In : Node {
  NodePtr x;
  std::set<std::string> set;
  bool negate;
  In(NodePtr a, std::set<std::string> s, bool n) : x(std::move(a)), set(std::move(s)), negate(n) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    Value v = x->Eval(lookup);
    auto* s = std::get_if<std::string>(&v);
    if (!s) return Null{};
    bool in = set.count(*s) > 0;
    return negate ? !in : in;
  }
};

struct IsNull : Node {
  NodePtr x;
  bool negate;
  IsNull(NodePtr a, bool n) : x(std::move(a)), negate(n) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    bool null = std::holds_alternative<Null>(x->Eval(lookup));
    return negate ? !null : null;
  }
};

std::optional<bool> Truth(const Value& v) {
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return std::nullopt;
}

struct Logical : Node {
  bool is_and;
  NodePtr l, r;
  Logical(bool a, NodePtr x, NodePtr y) : is_and(a), l(std::move(x)), r(std::move(y)) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    auto a = Truth(l->Eval(lookup));
    if (is_and) {
      if (a && !*a) return false;
      auto b = Truth(r->Eval(lookup));
      if (b && !*b) return false;
      if (a && b) return true;
      return Null{};
    }
    if (a && *a) return true;
    auto b = Truth(r->Eval(lookup));
    if (b && *b) return true;
    if (a && b) return false;
    return Null{};
  }
};

struct Not : Node {
  NodePtr x;
  explicit Not(NodePtr a) : x(std::move(a)) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    auto a = Truth(x->Eval(lookup));
    return Bool3(a ? std::optional<bool>(!*a) : std::nullopt);
  }
};

struct Negate : Node {
  NodePtr x;
  explicit Negate(NodePtr a) : x(std::move(a)) {}
  Value Eval(const Expression::Lookup& lookup) const override {
    Value v = x->Eval(lookup);
    if (auto* i = std::get_if<int64_t>(&v)) return -*i;
    if (auto d = AsDouble(v)) {
      if (auto* s = std::get_if<std::string>(&v)) {
        if (auto l = AsLong(*s)) return -*l;
      }
      return -*d;
    }
    return Null{};
  }
};

// ---------------------------------------------------------------------------------------------
// Lexer + recursive-descent parser

enum class Tok { kEnd, kIdent, kString, kInt, kFloat, kOp, kLParen, kRParen, kComma };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier (as written), string contents, number text, operator
  size_t pos = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<NodePtr> Parse() {
    RJ_RETURN_IF_ERROR(Lex());
    RJ_ASSIGN_OR_RETURN(NodePtr e, Or());
    if (Peek().kind != Tok::kEnd) return Error("unexpected '" + Peek().text + "'");
    return e;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("SQL92 syntax error at position " + std::to_string(Peek().pos) +
                                   ": " + what + " in \"" + std::string(s_) + "\"");
  }

  Status Lex() {
    size_t i = 0;
    while (i < s_.size()) {
      char c = s_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      Token t;
      t.pos = i;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
        size_t j = i + 1;
        while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_' ||
                                 s_[j] == '$' || s_[j] == '.')) {
          ++j;
        }
        t.kind = Tok::kIdent;
        t.text = std::string(s_.substr(i, j - i));
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && i + 1 < s_.size() &&
                  std::isdigit(static_cast<unsigned char>(s_[i + 1])))) {
        size_t j = i;
        bool is_float = false;
        while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
        if (j < s_.size() && s_[j] == '.') {
          is_float = true;
          ++j;
          while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
        }
        if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
          size_t k = j + 1;
          if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
          if (k < s_.size() && std::isdigit(static_cast<unsigned char>(s_[k]))) {
            is_float = true;
            j = k;
            while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
          }
        }
        t.text = std::string(s_.substr(i, j - i));
        if (!is_float && j < s_.size() && (s_[j] == 'L' || s_[j] == 'l')) ++j;
        if (is_float && j < s_.size() &&
            (s_[j] == 'D' || s_[j] == 'd' || s_[j] == 'F' || s_[j] == 'f'))
          ++j;
        t.kind = is_float ? Tok::kFloat : Tok::kInt;
        i = j;
      } else if (c == '\'') {
        std::string out;
        size_t j = i + 1;
        bool closed = false;
        while (j < s_.size()) {
          if (s_[j] == '\'') {
            if (j + 1 < s_.size() && s_[j + 1] == '\'') {
              out.push_back('\'');
              j += 2;
              continue;
            }
            closed = true;
            ++j;
            break;
          }
          out.push_back(s_[j++]);
        }
        if (!closed) {
          return Status::InvalidArgument("SQL92 syntax error at position " + std::to_string(i) +
                                         ": unterminated string in \"" + std::string(s_) + "\"");
        }
        t.kind = Tok::kString;
        t.text = std::move(out);
        i = j;
      } else if (c == '(') {
        t.kind = Tok::kLParen;
        t.text = "(";
        ++i;
      } else if (c == ')') {
        t.kind = Tok::kRParen;
        t.text = ")";
        ++i;
      } else if (c == ',') {
        t.kind = Tok::kComma;
        t.text = ",";
        ++i;
      } else if (c == '<' || c == '>' || c == '=' || c == '+' || c == '-') {
        t.kind = Tok::kOp;
        if (c == '<' && i + 1 < s_.size() && (s_[i + 1] == '>' || s_[i + 1] == '=')) {
          t.text = std::string(s_.substr(i, 2));
          i += 2;
        } else if (c == '>' && i + 1 < s_.size() && s_[i + 1] == '=') {
          t.text = ">=";
          i += 2;
        } else {
          t.text = std::string(1, c);
          ++i;
        }
      } else {
        return Status::InvalidArgument("SQL92 syntax error at position " + std::to_string(i) +
                                       ": unexpected character '" + std::string(1, c) + "' in \"" +
                                       std::string(s_) + "\"");
      }
      toks_.push_back(std::move(t));
    }
    Token end;
    end.pos = s_.size();
    end.text = "end of expression";
    toks_.push_back(end);
    return Status::OK();
  }

  const Token& Peek() const { return toks_[pos_]; }
  bool IsKeyword(const Token& t, const char* kw) const {
    if (t.kind != Tok::kIdent || t.text.size() != std::strlen(kw)) return false;
    for (size_t i = 0; i < t.text.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
    }
    return true;
  }
  bool AcceptKeyword(const char* kw) {
    if (IsKeyword(Peek(), kw)) {
      ++pos_;
      return true;
    }
    return false;
  }

  Result<NodePtr> Or() {
    RJ_ASSIGN_OR_RETURN(NodePtr l, And());
    while (AcceptKeyword("OR")) {
      RJ_ASSIGN_OR_RETURN(NodePtr r, And());
      l = std::make_unique<Logical>(false, std::move(l), std::move(r));
    }
    return l;
  }
  Result<NodePtr> And() {
    RJ_ASSIGN_OR_RETURN(NodePtr l, NotExpr());
    while (AcceptKeyword("AND")) {
      RJ_ASSIGN_OR_RETURN(NodePtr r, NotExpr());
      l = std::make_unique<Logical>(true, std::move(l), std::move(r));
    }
    return l;
  }
  Result<NodePtr> NotExpr() {
    if (AcceptKeyword("NOT")) {
      DepthGuard nested(&depth_);
      if (depth_ > kMaxDepth) return Error("expression nested too deeply");
      RJ_ASSIGN_OR_RETURN(NodePtr x, NotExpr());
      return NodePtr(std::make_unique<Not>(std::move(x)));
    }
    return Comparison_();
  }
  Result<NodePtr> Comparison_() {
    RJ_ASSIGN_OR_RETURN(NodePtr l, Unary());
    const Token& t = Peek();
    if (t.kind == Tok::kOp && t.text != "+" && t.text != "-") {
      std::string op = t.text;
      ++pos_;
      RJ_ASSIGN_OR_RETURN(NodePtr r, Unary());
      Op o = op == "="    ? Op::kEq
             : op == "<>" ? Op::kNe
             : op == ">"  ? Op::kGt
             : op == ">=" ? Op::kGe
             : op == "<"  ? Op::kLt
                          : Op::kLe;
      return NodePtr(std::make_unique<Comparison>(o, std::move(l), std::move(r)));
    }
    if (AcceptKeyword("IS")) {
      bool neg = AcceptKeyword("NOT");
      if (!AcceptKeyword("NULL")) return Error("expected NULL after IS");
      return NodePtr(std::make_unique<IsNull>(std::move(l), neg));
    }
    bool neg = false;
    if (IsKeyword(Peek(), "NOT") && pos_ + 1 < toks_.size() &&
        (IsKeyword(toks_[pos_ + 1], "BETWEEN") || IsKeyword(toks_[pos_ + 1], "IN"))) {
      ++pos_;
      neg = true;
    }
    if (AcceptKeyword("BETWEEN")) {
      RJ_ASSIGN_OR_RETURN(NodePtr lo, Unary());
      if (!AcceptKeyword("AND")) return Error("expected AND in BETWEEN");
      RJ_ASSIGN_OR_RETURN(NodePtr hi, Unary());
      return NodePtr(std::make_unique<Between>(std::move(l), std::move(lo), std::move(hi), neg));
    }
    if (AcceptKeyword("IN")) {
      if (Peek().kind != Tok::kLParen) return Error("expected ( after IN");
      ++pos_;
      std::set<std::string> set;
      for (;;) {
        if (Peek().kind != Tok::kString) return Error("IN accepts string literals only");
        set.insert(Peek().text);
        ++pos_;
        if (Peek().kind == Tok::kComma) {
          ++pos_;
          continue;
        }
        if (Peek().kind == Tok::kRParen) {
          ++pos_;
          break;
        }
        return Error("expected , or ) in IN list");
      }
      return NodePtr(std::make_unique<In>(std::move(l), std::move(set), neg));
    }
    if (neg) return Error("expected BETWEEN or IN after NOT");
    return l;
  }
  Result<NodePtr> Unary() {
    const Token& t = Peek();
    if (t.kind == Tok::kOp && (t.text == "-" || t.text == "+")) {
      bool minus = t.text == "-";
      ++pos_;
      DepthGuard nested(&depth_);
      if (depth_ > kMaxDepth) return Error("expression nested too deeply");
      RJ_ASSIGN_OR_RETURN(NodePtr x, Unary());
      if (!minus) return x;
      return NodePtr(std::make_unique<Negate>(std::move(x)));
    }
    return Primary();
  }
  Result<NodePtr> Primary() {
    const Token t = Peek();
    switch (t.kind) {
      case Tok::kLParen: {
        ++pos_;
        DepthGuard nested(&depth_);
        if (depth_ > kMaxDepth) return Error("expression nested too deeply");
        RJ_ASSIGN_OR_RETURN(NodePtr e, Or());
        if (Peek().kind != Tok::kRParen) return Error("expected )");
        ++pos_;
        return e;
      }
      case Tok::kString:
        ++pos_;
        return NodePtr(std::make_unique<Literal>(t.text));
      case Tok::kInt: {
        ++pos_;
        int64_t v = 0;
        auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc()) return Error("integer out of range: " + t.text);
        return NodePtr(std::make_unique<Literal>(v));
      }
      case Tok::kFloat:
        ++pos_;
        return NodePtr(std::make_unique<Literal>(std::strtod(t.text.c_str(), nullptr)));
      case Tok::kIdent: {
        if (IsKeyword(t, "TRUE")) {
          ++pos_;
          return NodePtr(std::make_unique<Literal>(true));
        }
        if (IsKeyword(t, "FALSE")) {
          ++pos_;
          return NodePtr(std::make_unique<Literal>(false));
        }
        if (IsKeyword(t, "NULL")) {
          ++pos_;
          return NodePtr(std::make_unique<Literal>(Null{}));
        }
        for (const char* kw : {"AND", "OR", "NOT", "BETWEEN", "IN", "IS"}) {
          if (IsKeyword(t, kw)) return Error("unexpected keyword " + t.text);
        }
        ++pos_;
        return NodePtr(std::make_unique<Property>(t.text));
      }
      default:
        return Error(t.kind == Tok::kEnd ? "unexpected end of expression"
                                         : "unexpected '" + t.text + "'");
    }
  }

  static constexpr int kMaxDepth = 64;
  // Counts one level of nesting (parenthesis, NOT, unary sign) for as long as it is parsed.
  struct DepthGuard {
    explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
    ~DepthGuard() { --*depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    int* depth_;
  };
  std::string_view s_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

class Compiled : public Expression {
 public:
  explicit Compiled(NodePtr root) : root_(std::move(root)) {}
  bool Matches(const Lookup& lookup) const override {
    Value v = root_->Eval(lookup);
    auto* b = std::get_if<bool>(&v);
    return b && *b;
  }

 private:
  NodePtr root_;
};

}  // namespace

Result<std::shared_ptr<const Expression>> Compile(std::string_view text) {
  if (text.size() > 4096) return Status::InvalidArgument("SQL92 expression longer than 4096");
  Parser p(text);
  RJ_ASSIGN_OR_RETURN(NodePtr root, p.Parse());
  return std::shared_ptr<const Expression>(std::make_shared<Compiled>(std::move(root)));
}

}  // namespace ramjet::broker::sql92
