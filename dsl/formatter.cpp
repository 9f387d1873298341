#include "dsl/formatter.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace portcullis::dsl {
namespace {

// ---- text of values ----------------------------------------------------------

// ast::quote_string leaves control characters other than \n \r \t raw; a
// NUL among them would make the output unparsable, so those strings are
// written with \u{...} escapes instead.
std::string fmt_quote(const std::string& text) { return ast::quote_string(text); }

std::string fmt_string(const ast::StringLit& lit) { return fmt_quote(lit.value); }

// Durations keep the author's spelling (`90d`, `1h30m`, `3600s`).
std::string fmt_duration(const ast::DurationLit& lit) {
  if (lit.span.valid() && lit.span.end > lit.span.begin) return std::string(lit.span.text());
  return ast::format_duration(lit.seconds);
}

std::string fmt_condition(const ast::Condition& condition) { return ast::normalize_condition(condition.text); }

std::string fmt_approver(const ast::Approver& approver) {
  using Kind = ast::Approver::Kind;
  switch (approver.kind) {
    case Kind::automatic: return "auto";
    case Kind::manager: return "manager";
    case Kind::app_owner: return "app.owner";
    case Kind::person: return fmt_quote(approver.name);
    case Kind::group: return "group " + fmt_quote(approver.name);
    case Kind::pool: return approver.name;
    case Kind::deny: return approver.name.empty() ? "deny" : "deny " + fmt_quote(approver.name);
    case Kind::people: {
      std::string out = "people ";
      for (std::size_t i = 0; i < approver.people.size(); ++i) {
        if (i > 0) out += ", ";
        out += fmt_string(approver.people[i]);
      }
      return out;
    }
  }
  return {};
}

// The spelling of ast::to_source(Route), conditions normalised.
std::string fmt_route(const ast::Route& route) {
  std::string out;
  for (std::size_t b = 0; b < route.branches.size(); ++b) {
    const ast::Branch& branch = route.branches[b];
    if (b > 0) out += " else ";
    for (std::size_t s = 0; s < branch.steps.size(); ++s) {
      if (s > 0) out += " then ";
      const ast::Step& step = branch.steps[s];
      if (step.quorum) out += std::to_string(step.quorum->value) + " of ";
      out += fmt_approver(step.approver);
    }
    if (branch.when) out += " when " + fmt_condition(*branch.when);
  }
  return out;
}

std::string fmt_value(const ast::Value& value);

std::string fmt_list(const ast::ListValue& list) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    if (i > 0) out += ", ";
    out += fmt_value(list.items[i]);
  }
  return out + "]";
}

std::string fmt_value(const ast::Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ast::StringLit>) {
          return fmt_string(v);
        } else if constexpr (std::is_same_v<T, ast::IntegerLit>) {
          return std::to_string(v.value);
        } else if constexpr (std::is_same_v<T, ast::DurationLit>) {
          return fmt_duration(v);
        } else if constexpr (std::is_same_v<T, ast::BoolLit>) {
          return v.value ? "true" : "false";
        } else if constexpr (std::is_same_v<T, ast::SecretRef>) {
          return std::string(v.kind == ast::SecretRef::Kind::env ? "env(" : "file(") + fmt_string(v.target) + ")";
        } else if constexpr (std::is_same_v<T, ast::Identifier>) {
          return v.name;
        } else {
          return fmt_list(v);
        }
      },
      value.data);
}

std::string fmt_grant(const ast::Grant& grant) {
  return grant.provider.text() + " group " + fmt_string(grant.group);
}

template <typename T, typename F>
std::string join(const std::vector<T>& items, F&& render, std::string_view separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += render(items[i]);
  }
  return out;
}

std::string fmt_grants(const std::vector<ast::Grant>& grants) { return join(grants, fmt_grant); }

std::string fmt_duration_spec(const ast::DurationSpec& spec) {
  std::string out;
  if (spec.permanent) {
    out = "permanent";
  } else if (spec.maximum) {
    out = "at_most " + fmt_duration(*spec.maximum);
  } else {
    // `permanent` keeps its place among the durations.
    std::vector<std::pair<std::uint32_t, std::string>> entries;
    for (const auto& d : spec.allowed) entries.emplace_back(d.span.begin, fmt_duration(d));
    if (spec.allowed_permanent) entries.emplace_back(spec.allowed_permanent->begin, "permanent");
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    out = "one_of(" + join(entries, [](const auto& e) { return e.second; }) + ")";
  }
  if (spec.default_duration) out += " default " + fmt_duration(*spec.default_duration);
  return out;
}

// ---- layout tree -------------------------------------------------------------

// One formatted construct with the source range it came from. A leaf is one
// line; a block is `header {`, its members, `}`.
struct Node {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::string text;  // a leaf's line, or a block's header
  bool block = false;
  std::uint32_t open = 0;   // offset of the block's `{`
  std::uint32_t close = 0;  // offset of the block's `}`
  std::vector<Node> members;
  // A block that may be written on one line: `header { a; b }`.
  std::size_t compact_max = 0;
  std::string_view compact_separator;
  std::size_t compact_width = 0;  // widest compact line, indentation included
};

Node leaf(const Span& span, std::string text) {
  Node node;
  node.begin = span.begin;
  node.end = span.end;
  node.text = std::move(text);
  return node;
}

class Builder {
 public:
  explicit Builder(std::string_view source) : source_(source) {}

  std::vector<Node> items(const ast::File& file) {
    std::vector<Node> nodes;
    for (const auto& item : file.items) {
      nodes.push_back(std::visit([&](const auto& i) { return build(i); }, item));
    }
    sort(nodes);
    return nodes;
  }

 private:
  static void sort(std::vector<Node>& nodes) {
    std::stable_sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) { return a.begin < b.begin; });
  }

  // The `{` that opens a block whose header ends at `from`: the first
  // character that is not whitespace or a comment.
  std::uint32_t find_open(std::uint32_t from, std::uint32_t limit) const {
    std::size_t i = from;
    const std::size_t end = std::min<std::size_t>(limit, source_.size());
    while (i < end) {
      const char c = source_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++i;
      } else if (c == '#') {
        while (i < end && source_[i] != '\n') ++i;
      } else {
        return c == '{' ? static_cast<std::uint32_t>(i) : limit;
      }
    }
    return limit;
  }

  // The `}` matching the `{` at `open`, skipping strings (the language's
  // and CEL's, triple-quoted ones included) and comments; `limit` if none.
  std::uint32_t find_close(std::uint32_t open, std::uint32_t limit) const {
    std::size_t depth = 0;
    std::size_t i = open;
    const std::size_t end = std::min<std::size_t>(limit, source_.size());
    while (i < end) {
      const char c = source_[i];
      if (c == '#') {
        while (i < end && source_[i] != '\n') ++i;
      } else if (c == '"' || c == '\'') {
        const bool triple = source_.compare(i, 3, std::string(3, c)) == 0;
        i += triple ? 3 : 1;
        while (i < end) {
          if (source_[i] == '\\') {
            i += 2;
          } else if (source_[i] == c && (!triple || source_.compare(i, 3, std::string(3, c)) == 0)) {
            i += triple ? 3 : 1;
            break;
          } else if (!triple && source_[i] == '\n') {
            break;
          } else {
            ++i;
          }
        }
      } else {
        if (c == '{') ++depth;
        if (c == '}' && --depth == 0) return static_cast<std::uint32_t>(i);
        ++i;
      }
    }
    return limit;
  }

  Node block(const Span& span, std::string header, std::uint32_t header_end, std::vector<Node> members) {
    Node node;
    node.block = true;
    node.begin = span.begin;
    node.end = span.end;
    node.text = std::move(header);
    const auto size = static_cast<std::uint32_t>(source_.size());
    node.open = span.valid() ? find_open(header_end, size) : size;
    node.close = node.open < size ? find_close(node.open, size) : size;
    if (node.close >= size) {
      // No source to place comments by (a tree built by hand).
      node.open = span.end;
      node.close = span.end;
    } else {
      // The parser's span can stop short when a CEL string confuses it.
      node.end = std::max(node.end, node.close + 1);
    }
    sort(members);
    node.members = std::move(members);
    return node;
  }

  static void settings(const ast::Settings& s, std::vector<Node>& out) {
    if (s.bucket) out.push_back(leaf(s.bucket->span, "bucket: " + s.bucket->name));
    if (s.approve) out.push_back(leaf(s.approve->span, "approve: " + fmt_route(*s.approve)));
    if (s.duration) out.push_back(leaf(s.duration->span, "duration: " + fmt_duration_spec(*s.duration)));
    if (s.expiry) out.push_back(leaf(s.expiry->span, std::string("expiry: ") + (s.expiry->required ? "required" : "optional")));
    if (s.renew) {
      const bool never = s.renew->span.valid() ? s.renew->span.text() == "never" : s.renew->max_times.value == 0;
      out.push_back(leaf(s.renew->span, never ? "renew: never"
                                              : "renew: at_most " + std::to_string(s.renew->max_times.value) + " times"));
    }
    if (s.remind) out.push_back(leaf(s.remind->span, "remind: after " + fmt_duration(*s.remind)));
    if (s.escalate) {
      out.push_back(leaf(s.escalate->span, "escalate: after " + fmt_duration(s.escalate->after) + " to " +
                                               fmt_approver(s.escalate->to)));
    }
    if (s.require) {
      out.push_back(leaf(s.require->span,
                         "require: " + join(s.require->fields, [](const ast::Identifier& i) { return i.name; })));
    }
    if (s.description) out.push_back(leaf(s.description->span, "description: " + fmt_string(*s.description)));
  }

  static Node setting(const ast::Setting& s) { return leaf(s.span, s.key.name + ": " + fmt_value(s.value)); }

  Node build(const ast::Module& m) { return leaf(m.span, "module " + fmt_string(m.name)); }
  Node build(const ast::Import& i) { return leaf(i.span, "import " + fmt_string(i.path)); }

  Node build(const ast::Provider& p) {
    std::vector<Node> members;
    for (const auto& s : p.settings) members.push_back(setting(s));
    return block(p.span, "provider " + p.kind.name + " " + fmt_string(p.name), p.name.span.end, std::move(members));
  }

  Node build(const ast::Integration& i) {
    std::vector<Node> members;
    for (const auto& s : i.settings) members.push_back(setting(s));
    const char* word = i.role == ast::Integration::Role::tracker ? "tracker " : "chat ";
    return block(i.span, word + i.kind.name, i.kind.span.end, std::move(members));
  }

  Node build(const ast::Pool& p) { return leaf(p.span, "approvers " + p.name.name + " = " + fmt_approver(p.source)); }

  Node build(const ast::Bucket& b) {
    std::vector<Node> members;
    settings(b.settings, members);
    return block(b.span, "bucket " + b.name.name, b.name.span.end, std::move(members));
  }

  Node build(const ast::Role& r) {
    std::vector<Node> members;
    if (r.grants_span.valid() || !r.grants.empty()) {
      members.push_back(leaf(r.grants_span, "grants: " + fmt_grants(r.grants)));
    }
    if (r.manual) members.push_back(leaf(r.manual->span, "manual " + fmt_string(*r.manual)));
    settings(r.settings, members);
    Node node = block(r.span, "role " + r.name.name, r.name.span.end, std::move(members));
    node.compact_max = 2;
    node.compact_separator = "; ";
    node.compact_width = kFormatLineWidth;
    return node;
  }

  Node build(const ast::App& a) {
    std::vector<Node> members;
    if (a.owner) members.push_back(leaf(a.owner->span, "owner: " + fmt_approver(*a.owner)));
    settings(a.settings, members);
    for (const auto& role : a.roles) members.push_back(build(role));
    std::string header = "app " + a.name.name;
    if (a.title) header += " " + fmt_string(*a.title);
    return block(a.span, std::move(header), a.title ? a.title->span.end : a.name.span.end, std::move(members));
  }

  Node build(const ast::Conflict& c) {
    std::vector<Node> members;
    if (c.roles_span.valid() || !c.roles.empty()) {
      members.push_back(
          leaf(c.roles_span, "roles: " + join(c.roles, [](const ast::QualifiedName& q) { return q.text(); })));
    }
    if (c.action) {
      std::string text = "action: " + c.action->name;
      if (c.escalate_to) text += " to " + fmt_approver(*c.escalate_to);
      members.push_back(leaf(c.action_span, std::move(text)));
    }
    Node node = block(c.span, "conflict " + fmt_string(c.name), c.name.span.end, std::move(members));
    recover_descriptions(node);
    return node;
  }

  // The grammar accepts `description: "..."` in a conflict, but ast::Conflict
  // has no place for it and the parser drops it. Copied from the source as
  // written, so that formatting never deletes what the author wrote.
  void recover_descriptions(Node& node) const {
    if (node.close <= node.open || node.close > source_.size()) return;
    std::size_t i = node.open + 1;
    const std::size_t end = node.close;
    auto skip_blank = [&](std::size_t p) {
      while (p < end) {
        const char ch = source_[p];
        if (ch == '#') {
          while (p < end && source_[p] != '\n') ++p;
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == ';') {
          ++p;
        } else {
          break;
        }
      }
      return p;
    };
    auto string_end = [&](std::size_t p) {  // p at the opening quote
      ++p;
      while (p < end && source_[p] != '"' && source_[p] != '\n') p += source_[p] == '\\' ? 2 : 1;
      return std::min(p + 1, end);
    };
    auto is_word = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
    bool added = false;
    while (i < end) {
      i = skip_blank(i);
      if (i >= end) break;
      if (source_[i] == '"') {
        i = string_end(i);
        continue;
      }
      if (!is_word(source_[i]) || (i > 0 && (is_word(source_[i - 1]) || source_[i - 1] == '.'))) {
        ++i;
        continue;
      }
      std::size_t word_end = i;
      while (word_end < end && is_word(source_[word_end])) ++word_end;
      if (source_.substr(i, word_end - i) == "description") {
        const std::size_t colon = skip_blank(word_end);
        if (colon < end && source_[colon] == ':') {
          const std::size_t quote = skip_blank(colon + 1);
          if (quote < end && source_[quote] == '"') {
            const std::size_t close = string_end(quote);
            Node field;
            field.begin = static_cast<std::uint32_t>(i);
            field.end = static_cast<std::uint32_t>(close);
            field.text = "description: " + std::string(source_.substr(quote, close - quote));
            node.members.push_back(std::move(field));
            added = true;
            i = close;
            continue;
          }
        }
      }
      i = word_end;
    }
    if (added) sort(node.members);
  }

  Node build(const ast::Review& r) {
    std::vector<Node> members;
    if (r.scope_span.valid() || !r.scope.empty()) {
      members.push_back(leaf(r.scope_span, "scope: " + join(r.scope, [](const ast::ReviewScope& s) {
                               switch (s.kind) {
                                 case ast::ReviewScope::Kind::bucket: return "bucket " + s.name.name;
                                 case ast::ReviewScope::Kind::app: return "app " + s.name.name;
                                 case ast::ReviewScope::Kind::role:
                                   return "role " + (s.role ? s.role->text() : s.name.name);
                               }
                               return std::string();
                             })));
    }
    if (r.every) members.push_back(leaf(r.every->span, "every: " + fmt_duration(*r.every)));
    if (r.reviewer) members.push_back(leaf(r.reviewer->span, "reviewer: " + fmt_approver(*r.reviewer)));
    if (r.due) members.push_back(leaf(r.due->span, "due: " + fmt_duration(*r.due)));
    if (r.undecided) members.push_back(leaf(r.undecided->span, "undecided: " + r.undecided->name));
    for (const auto& rec : r.recommendations) {
      members.push_back(leaf(rec.span, "recommend " + rec.action.name + " when " + fmt_condition(rec.when)));
    }
    if (r.description) members.push_back(leaf(r.description->span, "description: " + fmt_string(*r.description)));
    return block(r.span, "review " + r.name.name, r.name.span.end, std::move(members));
  }

  Node build(const ast::Test& t) {
    std::vector<Node> members;
    for (const auto& statement : t.statements) {
      members.push_back(std::visit([&](const auto& s) { return statement_node(s); }, statement));
    }
    return block(t.span, "test " + fmt_string(t.name), t.name.span.end, std::move(members));
  }

  // ---- test statements ----

  Node statement_node(const ast::GivenPerson& g) {
    std::string head = std::string("given ") + (g.is_requester ? "requester " : "person ") + fmt_string(g.email);
    if (g.attributes.empty()) return leaf(g.span, std::move(head));
    std::vector<Node> members;
    for (const auto& a : g.attributes) members.push_back(setting(a));
    Node node = block(g.span, std::move(head), g.email.span.end, std::move(members));
    // One line when it fits, like a role; any number of attributes.
    node.compact_max = std::numeric_limits<std::size_t>::max();
    node.compact_separator = ", ";
    node.compact_width = kFormatLineWidth;
    return node;
  }

  static Node statement_node(const ast::GivenGrant& g) {
    return leaf(g.span, "given grant " + g.role.text() + " to " + fmt_string(g.email));
  }

  static Node statement_node(const ast::GivenGroup& g) {
    return leaf(g.span, "given group " + fmt_string(g.group) + " members " + join(g.members, fmt_string));
  }

  static Node statement_node(const ast::RequestStmt& r) {
    std::string text = "request " + r.target.text();
    if (r.duration) text += " for " + fmt_duration(*r.duration);
    if (r.requester) text += " by " + fmt_string(*r.requester);
    if (r.reason) text += " because " + fmt_string(*r.reason);
    if (r.ticket) text += " ticket " + fmt_string(*r.ticket);
    return leaf(r.span, std::move(text));
  }

  static Node statement_node(const ast::ActionStmt& a) {
    std::string text = a.verb.name;
    if (a.actor) text += " by " + fmt_string(*a.actor);
    if (a.reason) text += " because " + fmt_string(*a.reason);
    if (a.duration) text += " for " + fmt_duration(*a.duration);
    return leaf(a.span, std::move(text));
  }

  static Node statement_node(const ast::WaitStmt& w) { return leaf(w.span, "wait " + fmt_duration(w.duration)); }

  static Node statement_node(const ast::Expectation& e) {
    const std::string& kind = e.kind.name;
    std::string text = "expect " + kind;
    if (kind == "route") {
      if (e.route) text += " " + fmt_route(*e.route);
    } else if (kind == "grants") {
      text += " " + fmt_grants(e.grants);
    } else if (kind == "expires_after") {
      if (e.duration) text += " " + fmt_duration(*e.duration);
    } else if (kind == "requires") {
      text += " " + join(e.names, [](const ast::Identifier& i) { return i.name; });
    } else if (kind == "refused") {
      if (e.text) text += " " + fmt_string(*e.text);
    } else if (e.name) {
      text += " " + e.name->name;
    }
    return leaf(e.span, std::move(text));
  }

  std::string_view source_;
};

// ---- printing ----------------------------------------------------------------

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string trim_right(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) --end;
  return std::string(text.substr(0, end));
}

class Printer {
 public:
  Printer(std::string_view source, const std::vector<ast::Comment>& comments) : source_(source) {
    for (const auto& c : comments) comments_.push_back({c.span.begin, c.span.end, trim_right(c.text), false});
    std::stable_sort(comments_.begin(), comments_.end(),
                     [](const CommentAt& a, const CommentAt& b) { return a.begin < b.begin; });
  }

  std::string print(std::vector<Node> items) {
    for (auto& item : items) clip(item);
    container(items, 0, std::numeric_limits<std::uint32_t>::max(), 0, true);
    // Not reached for a tree the parser built; kept so no comment is lost.
    for (auto& c : comments_) own_line(c, 0);
    std::string out;
    for (const auto& line : lines_) {
      out += line;
      out += '\n';
    }
    return out;
  }

 private:
  struct CommentAt {
    std::uint32_t begin;
    std::uint32_t end;
    std::string text;
    bool printed = false;
  };

  // A span that runs into a comment ending the line (the parser can be
  // misled by quotes in a CEL string) ends before that comment: the comment
  // trails the construct, it is not inside it.
  void clip(Node& node) const {
    for (auto& member : node.members) clip(member);
    const auto [first, last] = comments_in(node.begin, node.end);
    for (std::size_t i = first; i < last; ++i) {
      if (comments_[i].end < node.end) continue;
      std::uint32_t end = comments_[i].begin;
      while (end > node.begin && end <= source_.size() &&
             (source_[end - 1] == ' ' || source_[end - 1] == '\t')) {
        --end;
      }
      node.end = end;
      break;
    }
  }

  // Comments whose start lies in [lo, hi), as indices into comments_.
  std::pair<std::size_t, std::size_t> comments_in(std::uint32_t lo, std::uint32_t hi) const {
    auto first = std::lower_bound(comments_.begin(), comments_.end(), lo,
                                  [](const CommentAt& c, std::uint32_t v) { return c.begin < v; });
    auto last = std::lower_bound(first, comments_.end(), hi,
                                 [](const CommentAt& c, std::uint32_t v) { return c.begin < v; });
    return {static_cast<std::size_t>(first - comments_.begin()), static_cast<std::size_t>(last - comments_.begin())};
  }

  bool any_comment_in(std::uint32_t lo, std::uint32_t hi) const {
    const auto [first, last] = comments_in(lo, hi);
    return first < last;
  }

  // Does the source between two offsets contain a newline?
  bool newline_between(std::uint32_t from, std::uint32_t to) const {
    if (from >= to || from >= source_.size()) return false;
    return source_.substr(from, to - from).find('\n') != std::string_view::npos;
  }

  // Does the source between two offsets contain an empty line?
  bool blank_line_between(std::uint32_t from, std::uint32_t to) const {
    if (from >= to || from >= source_.size()) return false;
    const std::string_view gap = source_.substr(from, std::min<std::size_t>(to, source_.size()) - from);
    bool after_newline = false;
    for (char c : gap) {
      if (c == '\n') {
        if (after_newline) return true;
        after_newline = true;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        after_newline = false;
      }
    }
    return false;
  }

  static std::string pad(std::size_t indent) { return std::string(indent, ' '); }

  // Each comment is printed once, wherever the first construct claims it.
  void own_line(CommentAt& c, std::size_t indent) {
    if (c.printed) return;
    c.printed = true;
    lines_.push_back(pad(indent) + c.text);
  }

  void trailing_comment(CommentAt& c) {
    if (c.printed) return;
    c.printed = true;
    if (lines_.empty()) lines_.emplace_back();
    lines_.back() += (lines_.back().empty() ? "" : "  ") + c.text;
  }

  // Prints the members of a block (or the items of the file) and the
  // comments between `lo` and `hi` that lie outside every member.
  void container(const std::vector<Node>& members, std::uint32_t lo, std::uint32_t hi, std::size_t indent,
                 bool top_level) {
    struct Entry {
      std::uint32_t begin;
      std::uint32_t end;
      const Node* node;        // a member, or
      CommentAt* comment;      // an own-line comment
    };
    std::vector<Entry> entries;
    std::vector<std::vector<CommentAt*>> trailing(members.size());
    for (const auto& m : members) entries.push_back({m.begin, m.end, &m, nullptr});

    const auto [first, last] = comments_in(lo, hi);
    std::size_t next_member = 0;  // first member that begins after the comment
    for (std::size_t i = first; i < last; ++i) {
      CommentAt& c = comments_[i];
      if (c.printed) continue;
      while (next_member < members.size() && members[next_member].begin <= c.begin) ++next_member;
      // Inside a member: that member places it.
      if (next_member > 0 && c.begin < members[next_member - 1].end) continue;
      const std::size_t previous = next_member;  // index + 1 of the member before, 0 if none
      if (previous > 0 && !newline_between(members[previous - 1].end, c.begin)) {
        trailing[previous - 1].push_back(&c);
      } else if (previous == 0 && !top_level && !newline_between(lo, c.begin)) {
        trailing_comment(c);  // after the block's `{`
      } else {
        entries.push_back({c.begin, c.end, nullptr, &c});
      }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });

    const Entry* previous = nullptr;
    for (const Entry& entry : entries) {
      if (previous) {
        const bool blank = (top_level && previous->node) || blank_line_between(previous->end, entry.begin);
        if (blank) lines_.emplace_back();
      }
      if (entry.comment) {
        own_line(*entry.comment, indent);
      } else {
        node(*entry.node, indent);
        const auto index = static_cast<std::size_t>(entry.node - members.data());
        for (CommentAt* c : trailing[index]) trailing_comment(*c);
      }
      previous = &entry;
    }
  }

  void hoist(std::uint32_t lo, std::uint32_t hi, std::size_t indent) {
    const auto [first, last] = comments_in(lo, hi);
    for (std::size_t i = first; i < last; ++i) own_line(comments_[i], indent);
  }

  void node(const Node& n, std::size_t indent) {
    if (!n.block) {
      hoist(n.begin, n.end, indent);
      lines_.push_back(pad(indent) + n.text);
      return;
    }
    // Comments between the keyword and `{` go above the block.
    hoist(n.begin, n.open + 1, indent);
    const bool inner_comments = any_comment_in(n.open + 1, n.close);
    if (!inner_comments) {
      if (n.members.empty()) {
        lines_.push_back(pad(indent) + n.text + " {}");
        return;
      }
      if (n.members.size() <= n.compact_max &&
          std::none_of(n.members.begin(), n.members.end(), [](const Node& m) { return m.block; })) {
        std::string line = pad(indent) + n.text + " { ";
        for (std::size_t i = 0; i < n.members.size(); ++i) {
          if (i > 0) line += n.compact_separator;
          line += n.members[i].text;
        }
        line += " }";
        if (display_width(line) <= n.compact_width && line.find('\n') == std::string::npos) {
          lines_.push_back(std::move(line));
          return;
        }
      }
    }
    lines_.push_back(pad(indent) + n.text + " {");
    container(n.members, n.open + 1, n.close, indent + 2, false);
    lines_.push_back(pad(indent) + "}");
  }

  std::string_view source_;
  std::vector<CommentAt> comments_;
  std::vector<std::string> lines_;
};

}  // namespace

std::string format(const ast::File& file) {
  const std::string_view source = file.source ? std::string_view(file.source->text()) : std::string_view();
  Builder builder(source);
  const std::vector<Node> items = builder.items(file);
  Printer printer(source, file.source ? file.comments : std::vector<ast::Comment>{});
  return printer.print(items);
}

}  // namespace portcullis::dsl
