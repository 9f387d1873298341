#include "dsl/parser.hpp"

#include <algorithm>
#include <map>
#include <type_traits>

#include "dsl/grammar.hpp"
#include "dsl/limits.hpp"
#include "dsl/parser_errors.hpp"
#include "dsl/suggest.hpp"

namespace portcullis::dsl {
namespace {

namespace pegtl = tao::pegtl;
namespace g = grammar;

// ---- pieces: what rules leave on the build stack ------------------------

struct PermanentMarker {
  Span span;
};

// A field of a block, parsed but not yet placed in its owner.
struct Field {
  enum class Kind {
    approve, duration, expiry, renew, remind, escalate, require, bucket, description, owner, grants, manual,
    conflict_roles, conflict_action, scope, every, due, reviewer, undecided,
    // request and action clauses in tests
    clause_for, clause_by, clause_because, clause_ticket,
  };
  Kind kind;
  Span span;
  std::variant<std::monostate, ast::Route, ast::DurationSpec, ast::Expiry, ast::Renewal, ast::DurationLit,
               ast::Escalation, ast::Requirements, ast::Identifier, ast::StringLit, ast::Approver,
               std::vector<ast::Grant>, std::vector<ast::QualifiedName>, std::vector<ast::ReviewScope>>
      payload;
  std::optional<ast::Approver> escalate_to;  // conflict `action: escalate to X`
};

using Piece = std::variant<ast::Identifier, ast::StringLit, ast::IntegerLit, ast::DurationLit, ast::BoolLit,
                           ast::Condition, ast::QualifiedName, ast::SecretRef, ast::ListValue, ast::Value,
                           ast::Setting, ast::Approver, ast::Step, ast::Branch, ast::Route, ast::Grant,
                           ast::DurationSpec, ast::Renewal, PermanentMarker, Field, ast::ReviewScope,
                           ast::Recommendation, ast::Role, ast::TestStatement>;

// The block whose fields are being parsed, for did-you-mean on unknown keys.
enum class Context { none, provider, bucket, app, role, conflict, review, test };

std::vector<std::string> field_names(Context context) {
  static const std::vector<std::string> settings = {"approve", "duration", "expiry", "renew",
                                                    "remind",  "escalate", "require", "description"};
  auto with = [&](std::initializer_list<std::string> extra) {
    std::vector<std::string> names = settings;
    names.insert(names.end(), extra);
    return names;
  };
  switch (context) {
    case Context::bucket: return settings;
    case Context::app: return with({"owner", "bucket"});
    case Context::role: return with({"grants", "bucket"});
    case Context::conflict: return {"roles", "action", "description"};
    case Context::review: return {"scope", "every", "due", "reviewer", "undecided", "description"};
    default: return {};
  }
}

std::string_view context_word(Context context) {
  switch (context) {
    case Context::bucket: return "bucket";
    case Context::app: return "app";
    case Context::role: return "role";
    case Context::conflict: return "conflict";
    case Context::review: return "review";
    default: return "block";
  }
}

// Thrown by actions and by the control's raise(); caught by parse() only.
struct SyntaxError {
  Code code;
  std::string message;
  std::size_t offset;
  std::size_t length;
  std::optional<std::string> help;
};

struct State {
  explicit State(SourceFilePtr f) : file(std::move(f)), base(file->text().data()) {}

  SourceFilePtr file;
  const char* base;
  ast::File ast;
  Diagnostics diagnostics;
  std::vector<Piece> stack;
  std::vector<std::size_t> marks;
  std::vector<Context> contexts;
  std::map<std::uint32_t, ast::Comment> comments;
  std::size_t list_depth = 0;

  Context context() const { return contexts.empty() ? Context::none : contexts.back(); }

  std::size_t offset(const char* p) const { return static_cast<std::size_t>(p - base); }

  // Ends a match before the whitespace and comments that `tok<>` swallowed.
  // Comments are known exactly (the grammar recorded each one), so a `#`
  // inside a string never counts.
  const char* trim(const char* begin, const char* end) const {
    while (true) {
      while (end > begin && std::isspace(static_cast<unsigned char>(end[-1]))) --end;
      if (end == begin || comments.empty()) return end;
      const auto last = static_cast<std::uint32_t>(offset(end) - 1);
      auto it = comments.upper_bound(last);
      if (it == comments.begin()) return end;
      --it;
      const ast::Comment& comment = it->second;
      if (comment.span.end < last + 1 || base + comment.span.begin < begin) return end;
      end = base + comment.span.begin;
    }
  }

  template <typename ActionInput>
  Span span(const ActionInput& in) const {
    return Span::make(file, offset(in.begin()), offset(trim(in.begin(), in.end())));
  }

  // The pieces a builder rule produced, from its mark to the top.
  std::vector<Piece> take() {
    const std::size_t mark = marks.back();
    std::vector<Piece> pieces(std::make_move_iterator(stack.begin() + static_cast<std::ptrdiff_t>(mark)),
                              std::make_move_iterator(stack.end()));
    stack.resize(mark);
    return pieces;
  }

  void check_length(std::size_t count, std::size_t max, const Span& where, std::string_view what) {
    if (count > max) {
      diagnostics.error(Code::list_too_long, where,
                        std::string(what) + " has " + std::to_string(count) + " entries; at most " +
                            std::to_string(max) + " are allowed");
    }
  }

  void reset() {
    stack.clear();
    marks.clear();
    contexts.clear();
    list_depth = 0;
  }
};

template <typename T>
T& as(Piece& piece) {
  return std::get<T>(piece);
}

template <typename T>
std::vector<T> all_of(std::vector<Piece>& pieces) {
  std::vector<T> result;
  for (auto& piece : pieces) {
    if (auto* p = std::get_if<T>(&piece)) result.push_back(std::move(*p));
  }
  return result;
}

template <typename T>
std::optional<T> first_of(std::vector<Piece>& pieces) {
  for (auto& piece : pieces) {
    if (auto* p = std::get_if<T>(&piece)) return std::move(*p);
  }
  return std::nullopt;
}

// ---- string decoding ---------------------------------------------------

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// `raw` is the literal without its quotes; the grammar has validated its
// escape syntax, so only code point ranges are checked here.
std::string decode_string(std::string_view raw, std::size_t offset) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        const std::size_t close = raw.find('}', i);
        const std::string_view hex = raw.substr(i + 2, close - i - 2);
        const auto cp = static_cast<std::uint32_t>(std::stoul(std::string(hex), nullptr, 16));
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          throw SyntaxError{Code::invalid_escape, "`\\u{" + std::string(hex) + "}` is not a Unicode scalar value",
                            offset + i - 1, close - i + 2, std::nullopt};
        }
        append_utf8(out, cp);
        i = close;
        break;
      }
      default: out += e;  // '"' and '\\'
    }
  }
  return out;
}

// ---- actions -----------------------------------------------------------

template <typename Rule>
struct action : pegtl::nothing<Rule> {};

// Builder rules get a mark on the stack when they start; their action takes
// the pieces pushed since. A builder that fails drops its partial pieces,
// so backtracking never leaves debris behind.
template <typename Rule>
inline constexpr bool is_builder = false;

#define PORTCULLIS_BUILDER(rule) \
  template <>                    \
  inline constexpr bool is_builder<g::rule> = true

template <typename Rule>
inline constexpr Context context_of = Context::none;
template <> inline constexpr Context context_of<g::bucket_item> = Context::bucket;
template <> inline constexpr Context context_of<g::app_item> = Context::app;
template <> inline constexpr Context context_of<g::role_block> = Context::role;
template <> inline constexpr Context context_of<g::conflict_item> = Context::conflict;
template <> inline constexpr Context context_of<g::review_item> = Context::review;
template <> inline constexpr Context context_of<g::test_item> = Context::test;
template <> inline constexpr Context context_of<g::provider_item> = Context::provider;

// Leaves --------------------------------------------------------------------

template <>
struct action<g::comment> {
  template <typename In>
  static void apply(const In& in, State& s) {
    const auto begin = static_cast<std::uint32_t>(s.offset(in.begin()));
    if (s.comments.count(begin)) return;
    ast::Comment comment{in.string(), Span::make(s.file, begin, s.offset(in.end())), false};
    // Trailing when code precedes it on the same line.
    const char* p = in.begin();
    while (p > s.base && p[-1] != '\n' && (p[-1] == ' ' || p[-1] == '\t')) --p;
    comment.trailing = p > s.base && p[-1] != '\n';
    s.comments.emplace(begin, std::move(comment));
  }
};

template <>
struct action<g::name> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(ast::Identifier{in.string(), s.span(in)});
  }
};

template <>
struct action<g::string_lit> {
  template <typename In>
  static void apply(const In& in, State& s) {
    const std::string_view raw(in.begin() + 1, in.size() - 2);
    s.stack.emplace_back(ast::StringLit{decode_string(raw, s.offset(in.begin()) + 1), s.span(in)});
  }
};

template <>
struct action<g::integer> {
  template <typename In>
  static void apply(const In& in, State& s) {
    const std::string text = in.string();
    if (text.size() > 15) {
      throw SyntaxError{Code::invalid_number, "number `" + text + "` is too large", s.offset(in.begin()),
                        in.size(), std::nullopt};
    }
    s.stack.emplace_back(ast::IntegerLit{std::stoll(text), s.span(in)});
  }
};

template <>
struct action<g::duration_lit> {
  template <typename In>
  static void apply(const In& in, State& s) {
    const std::string text = in.string();
    // One parser for durations: the same rules as everywhere else.
    const std::optional<std::int64_t> seconds = ast::parse_duration(text);
    const bool overflow = !seconds;
    const long long total = seconds.value_or(0);
    if (overflow) {
      throw SyntaxError{Code::invalid_duration, "duration `" + text + "` is longer than a century",
                        s.offset(in.begin()), in.size(), std::nullopt};
    }
    s.stack.emplace_back(ast::DurationLit{total, s.span(in)});
  }
};

template <>
struct action<g::bool_true> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(ast::BoolLit{true, s.span(in)});
  }
};

template <>
struct action<g::bool_false> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(ast::BoolLit{false, s.span(in)});
  }
};

template <>
struct action<g::condition> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(ast::Condition{in.string(), s.span(in)});
  }
};

ast::Approver keyword_approver(ast::Approver::Kind kind, Span span) {
  ast::Approver approver;
  approver.kind = kind;
  approver.span = std::move(span);
  return approver;
}

template <>
struct action<g::auto_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(keyword_approver(ast::Approver::Kind::automatic, s.span(in)));
  }
};

template <>
struct action<g::manager_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(keyword_approver(ast::Approver::Kind::manager, s.span(in)));
  }
};

template <>
struct action<g::app_owner_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(keyword_approver(ast::Approver::Kind::app_owner, s.span(in)));
  }
};

template <>
struct action<g::permanent_spec> {
  template <typename In>
  static void apply(const In& in, State& s) {
    ast::DurationSpec spec;
    spec.span = s.span(in);
    spec.permanent = spec.span;
    s.stack.emplace_back(std::move(spec));
  }
};

template <>
struct action<g::duration_entry> {
  template <typename In>
  static void apply(const In& in, State& s) {
    // A duration pushed its own literal; `permanent` pushes a marker.
    if (in.begin()[0] == 'p') s.stack.emplace_back(PermanentMarker{s.span(in)});
  }
};

template <>
struct action<g::renew_never> {
  template <typename In>
  static void apply(const In& in, State& s) {
    const Span span = s.span(in);
    s.stack.emplace_back(ast::Renewal{ast::IntegerLit{0, span}, span});
  }
};

template <>
struct action<g::expiry_value> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(ast::Identifier{in.string(), s.span(in)});
  }
};

template <>
struct action<g::conflict_deny> {
  template <typename In>
  static void apply(const In& in, State& s) {
    s.stack.emplace_back(ast::Identifier{"deny", s.span(in)});
  }
};

template <>
struct action<g::action_verb> {
  template <typename In>
  static void apply(const In& in, State& s) {
    const Span span = s.span(in);
    s.stack.emplace_back(ast::Identifier{std::string(span.text()), span});
  }
};

template <>
struct action<g::expect_plain> {
  template <typename In>
  static void apply(const In& in, State& s) {
    ast::Expectation expectation;
    expectation.span = s.span(in);
    expectation.kind = ast::Identifier{std::string(expectation.span.text()), expectation.span};
    s.stack.emplace_back(ast::TestStatement{std::move(expectation)});
  }
};

// Values ----------------------------------------------------------------

PORTCULLIS_BUILDER(qualified);
template <>
struct action<g::qualified> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(
        ast::QualifiedName{as<ast::Identifier>(pieces[0]), as<ast::Identifier>(pieces[1]), s.span(in)});
  }
};

template <ast::SecretRef::Kind kind>
struct secret_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(ast::SecretRef{kind, as<ast::StringLit>(pieces[0]), s.span(in)});
  }
};
PORTCULLIS_BUILDER(env_ref);
template <> struct action<g::env_ref> : secret_action<ast::SecretRef::Kind::env> {};
PORTCULLIS_BUILDER(file_ref);
template <> struct action<g::file_ref> : secret_action<ast::SecretRef::Kind::file> {};

PORTCULLIS_BUILDER(list_value);
template <>
struct action<g::list_value> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::ListValue list{all_of<ast::Value>(pieces), s.span(in)};
    s.check_length(list.items.size(), limits::kMaxListItems, list.span, "this list");
    s.stack.emplace_back(std::move(list));
  }
};

PORTCULLIS_BUILDER(value);
template <>
struct action<g::value> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Value value;
    value.span = s.span(in);
    std::visit(
        [&](auto& piece) {
          using T = std::decay_t<decltype(piece)>;
          if constexpr (std::is_same_v<T, ast::StringLit> || std::is_same_v<T, ast::IntegerLit> ||
                        std::is_same_v<T, ast::DurationLit> || std::is_same_v<T, ast::BoolLit> ||
                        std::is_same_v<T, ast::SecretRef> || std::is_same_v<T, ast::Identifier> ||
                        std::is_same_v<T, ast::ListValue>) {
            value.data = std::move(piece);
          }
        },
        pieces.at(0));
    s.stack.emplace_back(std::move(value));
  }
};

template <typename Rule>
struct setting_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(ast::Setting{as<ast::Identifier>(pieces[0]), as<ast::Value>(pieces[1]), s.span(in)});
  }
};
PORTCULLIS_BUILDER(setting);
template <> struct action<g::setting> : setting_action<g::setting> {};
PORTCULLIS_BUILDER(attribute);
template <> struct action<g::attribute> : setting_action<g::attribute> {};

// Approvers and routes --------------------------------------------------

PORTCULLIS_BUILDER(person_ref);
template <>
struct action<g::person_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Approver approver = keyword_approver(ast::Approver::Kind::person, s.span(in));
    approver.name = as<ast::StringLit>(pieces[0]).value;
    s.stack.emplace_back(std::move(approver));
  }
};

PORTCULLIS_BUILDER(group_ref);
template <>
struct action<g::group_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Approver approver = keyword_approver(ast::Approver::Kind::group, s.span(in));
    approver.name = as<ast::StringLit>(pieces[0]).value;
    s.stack.emplace_back(std::move(approver));
  }
};

PORTCULLIS_BUILDER(people_ref);
template <>
struct action<g::people_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Approver approver = keyword_approver(ast::Approver::Kind::people, s.span(in));
    approver.people = all_of<ast::StringLit>(pieces);
    s.check_length(approver.people.size(), limits::kMaxPeople, approver.span, "this list of people");
    s.stack.emplace_back(std::move(approver));
  }
};

PORTCULLIS_BUILDER(deny_ref);
template <>
struct action<g::deny_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Approver approver = keyword_approver(ast::Approver::Kind::deny, s.span(in));
    if (auto reason = first_of<ast::StringLit>(pieces)) approver.name = reason->value;
    s.stack.emplace_back(std::move(approver));
  }
};

PORTCULLIS_BUILDER(pool_ref);
template <>
struct action<g::pool_ref> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Approver approver = keyword_approver(ast::Approver::Kind::pool, s.span(in));
    approver.name = as<ast::Identifier>(pieces[0]).name;
    s.stack.emplace_back(std::move(approver));
  }
};

PORTCULLIS_BUILDER(quorum_step);
template <>
struct action<g::quorum_step> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(
        ast::Step{as<ast::IntegerLit>(pieces[0]), as<ast::Approver>(pieces[1]), s.span(in)});
  }
};

PORTCULLIS_BUILDER(step);
template <>
struct action<g::step> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    if (auto* step = std::get_if<ast::Step>(&pieces[0])) {
      s.stack.emplace_back(std::move(*step));
    } else {
      s.stack.emplace_back(ast::Step{std::nullopt, as<ast::Approver>(pieces[0]), s.span(in)});
    }
  }
};

PORTCULLIS_BUILDER(branch);
template <>
struct action<g::branch> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Branch branch{all_of<ast::Step>(pieces), first_of<ast::Condition>(pieces), s.span(in)};
    s.check_length(branch.steps.size(), limits::kMaxRouteSteps, branch.span, "this route");
    s.stack.emplace_back(std::move(branch));
  }
};

PORTCULLIS_BUILDER(route);
template <>
struct action<g::route> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Route route{all_of<ast::Branch>(pieces), s.span(in)};
    s.check_length(route.branches.size(), limits::kMaxRouteBranches, route.span, "this route");
    s.stack.emplace_back(std::move(route));
  }
};

// Durations -------------------------------------------------------------

PORTCULLIS_BUILDER(one_of_spec);
template <>
struct action<g::one_of_spec> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::DurationSpec spec;
    spec.span = s.span(in);
    spec.allowed = all_of<ast::DurationLit>(pieces);
    if (auto marker = first_of<PermanentMarker>(pieces)) spec.allowed_permanent = marker->span;
    s.check_length(spec.allowed.size(), limits::kMaxAllowedDurations, spec.span, "this set of durations");
    s.stack.emplace_back(std::move(spec));
  }
};

PORTCULLIS_BUILDER(at_most_spec);
template <>
struct action<g::at_most_spec> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::DurationSpec spec;
    spec.span = s.span(in);
    spec.maximum = as<ast::DurationLit>(pieces[0]);
    s.stack.emplace_back(std::move(spec));
  }
};

PORTCULLIS_BUILDER(duration_spec);
template <>
struct action<g::duration_spec> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::DurationSpec spec = as<ast::DurationSpec>(pieces[0]);
    spec.span = s.span(in);
    if (pieces.size() > 1) spec.default_duration = as<ast::DurationLit>(pieces[1]);
    s.stack.emplace_back(std::move(spec));
  }
};

PORTCULLIS_BUILDER(renew_count);
template <>
struct action<g::renew_count> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(ast::Renewal{as<ast::IntegerLit>(pieces[0]), s.span(in)});
  }
};

// Fields ----------------------------------------------------------------

// A field whose payload is its single child piece of type T.
template <Field::Kind kind, typename T>
struct field_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    Field field{kind, s.span(in), {}, std::nullopt};
    field.payload = as<T>(pieces.at(0));
    s.stack.emplace_back(std::move(field));
  }
};

#define PORTCULLIS_FIELD(rule, kind, type) \
  PORTCULLIS_BUILDER(rule);                \
  template <>                              \
  struct action<g::rule> : field_action<Field::Kind::kind, type> {}

PORTCULLIS_FIELD(approve_field, approve, ast::Route);
PORTCULLIS_FIELD(duration_field, duration, ast::DurationSpec);
PORTCULLIS_FIELD(renew_field, renew, ast::Renewal);
PORTCULLIS_FIELD(remind_field, remind, ast::DurationLit);
PORTCULLIS_FIELD(bucket_field, bucket, ast::Identifier);
PORTCULLIS_FIELD(description_field, description, ast::StringLit);
PORTCULLIS_FIELD(owner_field, owner, ast::Approver);
PORTCULLIS_FIELD(manual_field, manual, ast::StringLit);
PORTCULLIS_FIELD(every_field, every, ast::DurationLit);
PORTCULLIS_FIELD(due_field, due, ast::DurationLit);
PORTCULLIS_FIELD(reviewer_field, reviewer, ast::Approver);
PORTCULLIS_FIELD(undecided_field, undecided, ast::Identifier);
PORTCULLIS_FIELD(clause_for, clause_for, ast::DurationLit);
PORTCULLIS_FIELD(clause_by, clause_by, ast::StringLit);
PORTCULLIS_FIELD(clause_because, clause_because, ast::StringLit);
PORTCULLIS_FIELD(clause_ticket, clause_ticket, ast::StringLit);
#undef PORTCULLIS_FIELD

PORTCULLIS_BUILDER(expiry_field);
template <>
struct action<g::expiry_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    const auto& word = as<ast::Identifier>(pieces[0]);
    Field field{Field::Kind::expiry, s.span(in), ast::Expiry{word.name == "required", word.span}, std::nullopt};
    s.stack.emplace_back(std::move(field));
  }
};

PORTCULLIS_BUILDER(escalate_field);
template <>
struct action<g::escalate_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    const Span span = s.span(in);
    Field field{Field::Kind::escalate, span,
                ast::Escalation{as<ast::DurationLit>(pieces[0]), as<ast::Approver>(pieces[1]), span}, std::nullopt};
    s.stack.emplace_back(std::move(field));
  }
};

PORTCULLIS_BUILDER(require_field);
template <>
struct action<g::require_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    const Span span = s.span(in);
    s.stack.emplace_back(
        Field{Field::Kind::require, span, ast::Requirements{all_of<ast::Identifier>(pieces), span}, std::nullopt});
  }
};

PORTCULLIS_BUILDER(grant);
template <>
struct action<g::grant> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(
        ast::Grant{as<ast::QualifiedName>(pieces[0]), as<ast::StringLit>(pieces[1]), s.span(in)});
  }
};

PORTCULLIS_BUILDER(grants_field);
template <>
struct action<g::grants_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    Field field{Field::Kind::grants, s.span(in), all_of<ast::Grant>(pieces), std::nullopt};
    s.check_length(std::get<std::vector<ast::Grant>>(field.payload).size(), limits::kMaxGrantsPerRole, field.span,
                   "this role's grants");
    s.stack.emplace_back(std::move(field));
  }
};

PORTCULLIS_BUILDER(conflict_roles_field);
template <>
struct action<g::conflict_roles_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(
        Field{Field::Kind::conflict_roles, s.span(in), all_of<ast::QualifiedName>(pieces), std::nullopt});
  }
};

PORTCULLIS_BUILDER(conflict_action_field);
template <>
struct action<g::conflict_action_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    const Span span = s.span(in);
    Field field{Field::Kind::conflict_action, span, {}, std::nullopt};
    if (auto word = first_of<ast::Identifier>(pieces)) {
      field.payload = *word;
    } else {
      const auto at = span.text().find("escalate");
      const Span value_span = Span::make(s.file, span.begin + (at == std::string_view::npos ? 0 : at), span.end);
      field.payload = ast::Identifier{"escalate", value_span};
      field.escalate_to = first_of<ast::Approver>(pieces);
    }
    s.stack.emplace_back(std::move(field));
  }
};

template <ast::ReviewScope::Kind kind>
struct scope_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::ReviewScope scope;
    scope.kind = kind;
    scope.span = s.span(in);
    if constexpr (kind == ast::ReviewScope::Kind::role) {
      scope.role = as<ast::QualifiedName>(pieces[0]);
      scope.name = scope.role->first;
    } else {
      scope.name = as<ast::Identifier>(pieces[0]);
    }
    s.stack.emplace_back(std::move(scope));
  }
};
PORTCULLIS_BUILDER(scope_bucket);
template <> struct action<g::scope_bucket> : scope_action<ast::ReviewScope::Kind::bucket> {};
PORTCULLIS_BUILDER(scope_app);
template <> struct action<g::scope_app> : scope_action<ast::ReviewScope::Kind::app> {};
PORTCULLIS_BUILDER(scope_role);
template <> struct action<g::scope_role> : scope_action<ast::ReviewScope::Kind::role> {};

PORTCULLIS_BUILDER(scope_field);
template <>
struct action<g::scope_field> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(Field{Field::Kind::scope, s.span(in), all_of<ast::ReviewScope>(pieces), std::nullopt});
  }
};

PORTCULLIS_BUILDER(recommendation);
template <>
struct action<g::recommendation> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(
        ast::Recommendation{as<ast::Identifier>(pieces[0]), as<ast::Condition>(pieces[1]), s.span(in)});
  }
};

PORTCULLIS_BUILDER(unknown_field);
template <>
struct action<g::unknown_field> {
  template <typename In>
  static void apply(const In&, State& s) {
    auto pieces = s.take();
    const auto& key = as<ast::Identifier>(pieces[0]);
    const Context context = s.context();
    auto& d = s.diagnostics.error(Code::unknown_field, key.span,
                                  "unknown field `" + key.name + "` in " + std::string(context_word(context)));
    const auto names = field_names(context);
    if (auto best = closest_match(key.name, names)) {
      d.help = "did you mean `" + *best + "`?";
    } else if (!names.empty()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "`" : ", `") + n + "`";
      d.help = "the fields of " + std::string(context_word(context)) + " are " + list;
    }
  }
};

// Blocks ------------------------------------------------------------------

// Places a field into a Settings, reporting a field given twice.
template <typename T>
void place(State& s, std::optional<T>& slot, T value, const Field& field, std::string_view key) {
  if (slot) {
    auto& d = s.diagnostics.error(Code::duplicate_field, field.span, "field `" + std::string(key) + "` is given twice");
    d.notes.push_back({slot->span, "first given here"});
    return;
  }
  slot = std::move(value);
}

std::string_view field_key(Field::Kind kind) {
  switch (kind) {
    case Field::Kind::approve: return "approve";
    case Field::Kind::duration: return "duration";
    case Field::Kind::expiry: return "expiry";
    case Field::Kind::renew: return "renew";
    case Field::Kind::remind: return "remind";
    case Field::Kind::escalate: return "escalate";
    case Field::Kind::require: return "require";
    case Field::Kind::bucket: return "bucket";
    case Field::Kind::description: return "description";
    case Field::Kind::owner: return "owner";
    case Field::Kind::grants: return "grants";
    case Field::Kind::manual: return "manual";
    case Field::Kind::conflict_roles: return "roles";
    case Field::Kind::conflict_action: return "action";
    case Field::Kind::scope: return "scope";
    case Field::Kind::every: return "every";
    case Field::Kind::due: return "due";
    case Field::Kind::reviewer: return "reviewer";
    case Field::Kind::undecided: return "undecided";
    case Field::Kind::clause_for: return "for";
    case Field::Kind::clause_by: return "by";
    case Field::Kind::clause_because: return "because";
    case Field::Kind::clause_ticket: return "ticket";
  }
  return "field";
}

// Returns false when the field is not a shared setting.
bool place_setting(State& s, ast::Settings& settings, Field& field) {
  const auto key = field_key(field.kind);
  switch (field.kind) {
    case Field::Kind::approve: place(s, settings.approve, std::get<ast::Route>(field.payload), field, key); return true;
    case Field::Kind::duration:
      place(s, settings.duration, std::get<ast::DurationSpec>(field.payload), field, key);
      return true;
    case Field::Kind::expiry: place(s, settings.expiry, std::get<ast::Expiry>(field.payload), field, key); return true;
    case Field::Kind::renew: place(s, settings.renew, std::get<ast::Renewal>(field.payload), field, key); return true;
    case Field::Kind::remind: place(s, settings.remind, std::get<ast::DurationLit>(field.payload), field, key); return true;
    case Field::Kind::escalate:
      place(s, settings.escalate, std::get<ast::Escalation>(field.payload), field, key);
      return true;
    case Field::Kind::require:
      place(s, settings.require, std::get<ast::Requirements>(field.payload), field, key);
      return true;
    case Field::Kind::bucket: place(s, settings.bucket, std::get<ast::Identifier>(field.payload), field, key); return true;
    case Field::Kind::description:
      place(s, settings.description, std::get<ast::StringLit>(field.payload), field, key);
      return true;
    default: return false;
  }
}

PORTCULLIS_BUILDER(bucket_item);
template <>
struct action<g::bucket_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Bucket bucket;
    bucket.name = as<ast::Identifier>(pieces[0]);
    bucket.span = s.span(in);
    for (auto& field : all_of<Field>(pieces)) place_setting(s, bucket.settings, field);
    s.ast.items.emplace_back(std::move(bucket));
  }
};

PORTCULLIS_BUILDER(role_block);
template <>
struct action<g::role_block> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Role role;
    role.name = as<ast::Identifier>(pieces[0]);
    role.span = s.span(in);
    for (auto& field : all_of<Field>(pieces)) {
      if (place_setting(s, role.settings, field)) continue;
      if (field.kind == Field::Kind::grants) {
        if (role.grants_span.valid()) {
          auto& d = s.diagnostics.error(Code::duplicate_field, field.span, "field `grants` is given twice");
          d.notes.push_back({role.grants_span, "first given here"});
          d.help = "list every group in one `grants:` field, separated by commas";
          continue;
        }
        role.grants = std::get<std::vector<ast::Grant>>(field.payload);
        role.grants_span = field.span;
      } else if (field.kind == Field::Kind::manual) {
        if (role.manual) {
          auto& d = s.diagnostics.error(Code::duplicate_field, field.span, "`manual` is given twice");
          d.notes.push_back({role.manual->span, "first given here"});
          continue;
        }
        role.manual = std::get<ast::StringLit>(field.payload);
      }
    }
    s.stack.emplace_back(std::move(role));
  }
};

PORTCULLIS_BUILDER(app_item);
template <>
struct action<g::app_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::App app;
    app.name = as<ast::Identifier>(pieces[0]);
    app.span = s.span(in);
    if (pieces.size() > 1) {
      if (auto* title = std::get_if<ast::StringLit>(&pieces[1])) app.title = *title;
    }
    for (auto& piece : pieces) {
      if (auto* role = std::get_if<ast::Role>(&piece)) {
        app.roles.push_back(std::move(*role));
      } else if (auto* field = std::get_if<Field>(&piece)) {
        if (place_setting(s, app.settings, *field)) continue;
        if (field->kind == Field::Kind::owner) {
          if (app.owner) {
            auto& d = s.diagnostics.error(Code::duplicate_field, field->span, "field `owner` is given twice");
            d.notes.push_back({app.owner->span, "first given here"});
            continue;
          }
          app.owner = std::get<ast::Approver>(field->payload);
        }
      }
    }
    s.check_length(app.roles.size(), limits::kMaxRolesPerApp, app.name.span, "this app's role list");
    s.ast.items.emplace_back(std::move(app));
  }
};

PORTCULLIS_BUILDER(provider_item);
template <>
struct action<g::provider_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Provider provider;
    provider.kind = as<ast::Identifier>(pieces[0]);
    provider.name = as<ast::StringLit>(pieces[1]);
    provider.settings = all_of<ast::Setting>(pieces);
    provider.span = s.span(in);
    s.ast.items.emplace_back(std::move(provider));
  }
};

template <ast::Integration::Role role>
struct integration_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Integration integration;
    integration.role = role;
    integration.kind = as<ast::Identifier>(pieces[0]);
    integration.settings = all_of<ast::Setting>(pieces);
    integration.span = s.span(in);
    s.ast.items.emplace_back(std::move(integration));
  }
};
PORTCULLIS_BUILDER(tracker_item);
template <> struct action<g::tracker_item> : integration_action<ast::Integration::Role::tracker> {};
PORTCULLIS_BUILDER(chat_item);
template <> struct action<g::chat_item> : integration_action<ast::Integration::Role::chat> {};

PORTCULLIS_BUILDER(pool_item);
template <>
struct action<g::pool_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.ast.items.emplace_back(
        ast::Pool{as<ast::Identifier>(pieces[0]), as<ast::Approver>(pieces[1]), s.span(in)});
  }
};

PORTCULLIS_BUILDER(import_item);
template <>
struct action<g::import_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.ast.items.emplace_back(ast::Import{as<ast::StringLit>(pieces[0]), s.span(in)});
  }
};

PORTCULLIS_BUILDER(module_item);
template <>
struct action<g::module_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.ast.items.emplace_back(ast::Module{as<ast::StringLit>(pieces[0]), s.span(in)});
  }
};

PORTCULLIS_BUILDER(conflict_item);
template <>
struct action<g::conflict_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Conflict conflict;
    conflict.name = as<ast::StringLit>(pieces[0]);
    conflict.span = s.span(in);
    for (auto& field : all_of<Field>(pieces)) {
      if (field.kind == Field::Kind::conflict_roles) {
        if (conflict.roles_span.valid()) {
          auto& d = s.diagnostics.error(Code::duplicate_field, field.span, "field `roles` is given twice");
          d.notes.push_back({conflict.roles_span, "first given here"});
          continue;
        }
        conflict.roles = std::get<std::vector<ast::QualifiedName>>(field.payload);
        conflict.roles_span = field.span;
      } else if (field.kind == Field::Kind::conflict_action) {
        if (conflict.action) {
          auto& d = s.diagnostics.error(Code::duplicate_field, field.span, "field `action` is given twice");
          d.notes.push_back({conflict.action_span, "first given here"});
          continue;
        }
        conflict.action = std::get<ast::Identifier>(field.payload);
        conflict.escalate_to = field.escalate_to;
        conflict.action_span = field.span;
      } else if (field.kind == Field::Kind::description) {
        place(s, conflict.description, std::get<ast::StringLit>(field.payload), field, "description");
      }
    }
    s.ast.items.emplace_back(std::move(conflict));
  }
};

PORTCULLIS_BUILDER(review_item);
template <>
struct action<g::review_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Review review;
    review.name = as<ast::Identifier>(pieces[0]);
    review.span = s.span(in);
    review.recommendations = all_of<ast::Recommendation>(pieces);
    for (auto& field : all_of<Field>(pieces)) {
      const auto key = field_key(field.kind);
      switch (field.kind) {
        case Field::Kind::scope:
          if (review.scope_span.valid()) {
            auto& d = s.diagnostics.error(Code::duplicate_field, field.span, "field `scope` is given twice");
            d.notes.push_back({review.scope_span, "first given here"});
            break;
          }
          review.scope = std::get<std::vector<ast::ReviewScope>>(field.payload);
          review.scope_span = field.span;
          break;
        case Field::Kind::every: place(s, review.every, std::get<ast::DurationLit>(field.payload), field, key); break;
        case Field::Kind::due: place(s, review.due, std::get<ast::DurationLit>(field.payload), field, key); break;
        case Field::Kind::reviewer:
          place(s, review.reviewer, std::get<ast::Approver>(field.payload), field, key);
          break;
        case Field::Kind::undecided:
          place(s, review.undecided, std::get<ast::Identifier>(field.payload), field, key);
          break;
        case Field::Kind::description:
          place(s, review.description, std::get<ast::StringLit>(field.payload), field, key);
          break;
        default: break;
      }
    }
    s.ast.items.emplace_back(std::move(review));
  }
};

// Tests -------------------------------------------------------------------

template <bool is_requester>
struct given_person_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::GivenPerson given{is_requester, as<ast::StringLit>(pieces[0]), all_of<ast::Setting>(pieces), s.span(in)};
    s.stack.emplace_back(ast::TestStatement{std::move(given)});
  }
};
PORTCULLIS_BUILDER(given_requester);
template <> struct action<g::given_requester> : given_person_action<true> {};
PORTCULLIS_BUILDER(given_person);
template <> struct action<g::given_person> : given_person_action<false> {};

PORTCULLIS_BUILDER(given_grant);
template <>
struct action<g::given_grant> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(ast::TestStatement{
        ast::GivenGrant{as<ast::QualifiedName>(pieces[0]), as<ast::StringLit>(pieces[1]), s.span(in)}});
  }
};

PORTCULLIS_BUILDER(given_group);
template <>
struct action<g::given_group> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    auto strings = all_of<ast::StringLit>(pieces);
    ast::GivenGroup given{strings.front(), {strings.begin() + 1, strings.end()}, s.span(in)};
    s.stack.emplace_back(ast::TestStatement{std::move(given)});
  }
};

// Sets one optional clause of a test statement, reporting repeats.
template <typename T>
void place_clause(State& s, std::optional<T>& slot, const Field& field) {
  place(s, slot, std::get<T>(field.payload), field, field_key(field.kind));
}

PORTCULLIS_BUILDER(request_stmt);
template <>
struct action<g::request_stmt> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::RequestStmt request;
    request.target = as<ast::QualifiedName>(pieces[0]);
    request.span = s.span(in);
    for (auto& field : all_of<Field>(pieces)) {
      switch (field.kind) {
        case Field::Kind::clause_for: place_clause(s, request.duration, field); break;
        case Field::Kind::clause_by: place_clause(s, request.requester, field); break;
        case Field::Kind::clause_because: place_clause(s, request.reason, field); break;
        case Field::Kind::clause_ticket: place_clause(s, request.ticket, field); break;
        default: break;
      }
    }
    s.stack.emplace_back(ast::TestStatement{std::move(request)});
  }
};

PORTCULLIS_BUILDER(action_stmt);
template <>
struct action<g::action_stmt> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::ActionStmt statement;
    statement.verb = as<ast::Identifier>(pieces[0]);
    statement.span = s.span(in);
    for (auto& field : all_of<Field>(pieces)) {
      switch (field.kind) {
        case Field::Kind::clause_for: place_clause(s, statement.duration, field); break;
        case Field::Kind::clause_by: place_clause(s, statement.actor, field); break;
        case Field::Kind::clause_because: place_clause(s, statement.reason, field); break;
        default: break;
      }
    }
    s.stack.emplace_back(ast::TestStatement{std::move(statement)});
  }
};

PORTCULLIS_BUILDER(wait_stmt);
template <>
struct action<g::wait_stmt> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    s.stack.emplace_back(ast::TestStatement{ast::WaitStmt{as<ast::DurationLit>(pieces[0]), s.span(in)}});
  }
};

// Every non-plain expectation: the first word names it, the pieces fill it.
template <typename Rule>
struct expectation_action {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Expectation expectation;
    expectation.span = s.span(in);
    std::size_t word_end = 0;
    const std::string_view text = expectation.span.text();
    while (word_end < text.size() && (std::isalnum(static_cast<unsigned char>(text[word_end])) || text[word_end] == '_'))
      ++word_end;
    expectation.kind = ast::Identifier{std::string(text.substr(0, word_end)),
                                       Span::make(s.file, expectation.span.begin, expectation.span.begin + word_end)};
    expectation.route = first_of<ast::Route>(pieces);
    expectation.grants = all_of<ast::Grant>(pieces);
    expectation.duration = first_of<ast::DurationLit>(pieces);
    expectation.text = first_of<ast::StringLit>(pieces);
    auto names = all_of<ast::Identifier>(pieces);
    if (expectation.kind.name == "requires") {
      expectation.names = std::move(names);
    } else if (!names.empty()) {
      expectation.name = names.front();
    }
    s.stack.emplace_back(ast::TestStatement{std::move(expectation)});
  }
};
#define PORTCULLIS_EXPECT(rule) \
  PORTCULLIS_BUILDER(rule);     \
  template <>                   \
  struct action<g::rule> : expectation_action<g::rule> {}
PORTCULLIS_EXPECT(expect_route);
PORTCULLIS_EXPECT(expect_grants);
PORTCULLIS_EXPECT(expect_state);
PORTCULLIS_EXPECT(expect_bucket);
PORTCULLIS_EXPECT(expect_expires);
PORTCULLIS_EXPECT(expect_requires);
PORTCULLIS_EXPECT(expect_refused);
#undef PORTCULLIS_EXPECT

PORTCULLIS_BUILDER(test_item);
template <>
struct action<g::test_item> {
  template <typename In>
  static void apply(const In& in, State& s) {
    auto pieces = s.take();
    ast::Test test;
    test.name = as<ast::StringLit>(pieces[0]);
    test.statements = all_of<ast::TestStatement>(pieces);
    test.span = s.span(in);
    s.check_length(test.statements.size(), limits::kMaxTestStatements, test.name.span, "this test");
    s.ast.items.emplace_back(std::move(test));
  }
};

#undef PORTCULLIS_BUILDER

// ---- control -----------------------------------------------------------

std::string describe_found(const char* current, const char* end) {
  if (current >= end) return "end of file";
  const char c = *current;
  if (c == '\n' || c == '\r') return "end of line";
  std::size_t length = 1;
  if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
    while (current + length < end &&
           (std::isalnum(static_cast<unsigned char>(current[length])) || current[length] == '_'))
      ++length;
  } else if (c == '"') {
    while (current + length < end && current[length] != '"' && current[length] != '\n' && length < 40) ++length;
    if (current + length < end && current[length] == '"') ++length;
  }
  return "`" + std::string(current, std::min<std::size_t>(length, 40)) + "`";
}

std::size_t token_length(const char* current, const char* end) {
  if (current >= end || *current == '\n') return 0;
  std::size_t length = 1;
  if (std::isalnum(static_cast<unsigned char>(*current)) || *current == '_') {
    while (current + length < end &&
           (std::isalnum(static_cast<unsigned char>(current[length])) || current[length] == '_'))
      ++length;
  }
  return length;
}

template <typename Rule>
struct control : pegtl::normal<Rule> {
  template <typename ParseInput>
  static void start(const ParseInput& in, State& s) {
    // Every list entry waits on the build stack until its list closes;
    // bounding the stack bounds memory whatever the input.
    if (s.stack.size() > limits::kMaxPendingPieces) {
      throw SyntaxError{Code::list_too_long,
                        "more than " + std::to_string(limits::kMaxPendingPieces) + " entries in one construct",
                        s.offset(in.current()), 1, std::nullopt};
    }
    if constexpr (is_builder<Rule>) s.marks.push_back(s.stack.size());
    if constexpr (context_of<Rule> != Context::none) s.contexts.push_back(context_of<Rule>);
    if constexpr (std::is_same_v<Rule, g::list_value>) {
      if (++s.list_depth > limits::kMaxValueNesting) {
        throw SyntaxError{Code::nesting_too_deep,
                          "lists nest deeper than " + std::to_string(limits::kMaxValueNesting) + " levels",
                          s.offset(in.current()), 1, std::nullopt};
      }
    }
  }

  template <typename ParseInput>
  static void success(const ParseInput& in, State& s) {
    finish(in, s, true);
  }

  template <typename ParseInput>
  static void failure(const ParseInput& in, State& s) {
    finish(in, s, false);
  }

  template <typename ParseInput>
  [[noreturn]] static void raise(const ParseInput& in, State& s) {
    const ErrorInfo info = error_info<Rule>;
    const char* current = in.current();
    const char* end = in.end();
    SyntaxError error{info.code, std::string(info.message), s.offset(current), token_length(current, end),
                      std::nullopt};
    if (info.code == Code::invalid_escape && error.offset > 0) {
      // Point at the whole escape, backslash included.
      error.offset -= 1;
      error.length = 2;
    }
    if constexpr (std::is_same_v<Rule, g::condition_expected>) {
      explain_condition(error, std::string_view(current, static_cast<std::size_t>(end - current)));
      throw error;
    }
    // A digit run glued to letters where a duration belongs: `30x`.
    if (info.code == Code::expected_token && current < end && std::isdigit(static_cast<unsigned char>(*current)) &&
        info.expects_duration) {
      error.code = Code::invalid_duration;
      error.message = "invalid duration " + describe_found(current, end);
      error.help = "write a number followed by a unit: s, m, h, d or w (for example `90d` or `1h30m`)";
      throw error;
    }
    error.message += ", found " + describe_found(current, end);
    if (!info.help.empty()) error.help = std::string(info.help);
    throw error;
  }

 private:
  template <typename ParseInput>
  static void finish(const ParseInput&, State& s, bool succeeded) {
    if constexpr (is_builder<Rule>) {
      if (!succeeded) s.stack.resize(s.marks.back());
      s.marks.pop_back();
    }
    if constexpr (context_of<Rule> != Context::none) s.contexts.pop_back();
    if constexpr (std::is_same_v<Rule, g::list_value>) --s.list_depth;
  }

  static void explain_condition(SyntaxError& error, std::string_view rest) {
    const ConditionExtent extent = scan_condition(rest);
    switch (extent.status) {
      case ConditionExtent::Status::empty: error.message = "expected a condition, found " + describe_found(rest.data(), rest.data() + rest.size()); break;
      case ConditionExtent::Status::incomplete:
        error.message = "condition is incomplete: it ends with an operator";
        error.length = std::min<std::size_t>(rest.find('\n'), rest.size());
        break;
      case ConditionExtent::Status::unbalanced:
        error.message = "condition has an unclosed bracket or string";
        error.length = std::min<std::size_t>(rest.find('\n'), rest.size());
        break;
      case ConditionExtent::Status::too_deep:
        error.code = Code::nesting_too_deep;
        error.message = "condition nests brackets deeper than " + std::to_string(kMaxConditionNesting) + " levels";
        break;
      case ConditionExtent::Status::ok: break;
    }
  }
};

// ---- driver ------------------------------------------------------------

bool starts_top_level_item(std::string_view line) {
  static constexpr std::string_view kWords[] = {"import",   "module", "provider", "tracker",
                                                "chat",     "approvers", "bucket", "app",
                                                "conflict", "review", "test"};
  for (auto word : kWords) {
    if (line.substr(0, word.size()) == word &&
        (line.size() == word.size() || !(std::isalnum(static_cast<unsigned char>(line[word.size()])) ||
                                         line[word.size()] == '_'))) {
      return true;
    }
  }
  return false;
}

// Where to resume after a syntax error in the item that starts at
// `item_start`: the next line that opens a top-level item in the first
// column, or the end of the file. An item missing its closing `}` fails at
// the next item's keyword, so that item is still parsed.
std::size_t recovery_point(std::string_view text, std::size_t item_start) {
  std::size_t pos = text.find('\n', item_start);
  while (pos != std::string_view::npos && pos + 1 < text.size()) {
    if (starts_top_level_item(text.substr(pos + 1))) return pos + 1;
    pos = text.find('\n', pos + 1);
  }
  return text.size();
}

// Reads `keyword name` (or `provider kind "name"`) at the start of an item
// that failed to parse.
ast::Unparsed describe_unparsed(const SourceFilePtr& source, std::size_t start) {
  const std::string& text = source->text();
  auto word_at = [&](std::size_t& pos) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    const std::size_t begin = pos;
    if (pos < text.size() && text[pos] == '"') {
      const std::size_t close = text.find_first_of("\"\n", pos + 1);
      if (close != std::string::npos && text[close] == '"') {
        pos = close + 1;
        return text.substr(begin + 1, close - begin - 1);
      }
      return std::string();
    }
    while (pos < text.size() && (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '_')) ++pos;
    return text.substr(begin, pos - begin);
  };
  std::size_t pos = start;
  ast::Unparsed unparsed;
  unparsed.keyword = word_at(pos);
  unparsed.name = word_at(pos);
  if (unparsed.keyword == "provider") unparsed.name += "." + word_at(pos);
  unparsed.span = Span::make(source, start, pos);
  return unparsed;
}

// Offset of the first byte that is not valid UTF-8, or npos.
std::size_t invalid_utf8_offset(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return i;
    std::size_t extra = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + extra >= text.size() + (extra > 0 ? 0 : 1) && i + extra > text.size() - 1) return i;
    std::uint32_t cp = c & (0x3F >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += extra + 1;
  }
  return std::string_view::npos;
}

}  // namespace

ParseResult parse(const SourceFilePtr& source) {
  State state(source);
  state.ast.source = source;
  const std::string& text = source->text();

  if (text.size() > limits::kMaxFileBytes) {
    state.diagnostics.error(Code::file_too_large, Span::make(source, 0, 0),
                            "file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                std::to_string(limits::kMaxFileBytes));
    return {std::move(state.ast), std::move(state.diagnostics)};
  }
  if (const std::size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    auto& d = state.diagnostics.error(Code::invalid_encoding, Span::make(source, bad, bad + 1),
                                      text[bad] == '\0' ? "file contains a NUL byte" : "file is not valid UTF-8");
    d.help = "policy files are UTF-8 text";
    return {std::move(state.ast), std::move(state.diagnostics)};
  }

  pegtl::memory_input<pegtl::tracking_mode::lazy> in(text.data(), text.data() + text.size(), source->path());
  std::size_t syntax_errors = 0;
  while (true) {
    const std::size_t item_start = static_cast<std::size_t>(in.current() - text.data());
    try {
      pegtl::parse<g::next_item, action, control>(in, state);
      if (in.empty()) break;
    } catch (const SyntaxError& error) {
      state.reset();
      const std::size_t offset = error.offset;
      auto& d = state.diagnostics.error(error.code, Span::make(source, offset, offset + error.length), error.message);
      d.help = error.help;
      if (++syntax_errors >= limits::kMaxDiagnostics) break;
      // Skip leading space so the item starts at its keyword.
      std::size_t start = item_start;
      while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
      if (start < text.size()) state.ast.unparsed.push_back(describe_unparsed(source, start));
      const std::size_t resume = recovery_point(text, start);
      const std::size_t here = static_cast<std::size_t>(in.current() - text.data());
      if (resume <= here) {
        // The input already stands past the resume point; skip one line.
        const std::size_t next = text.find('\n', here);
        in.bump(next == std::string::npos ? text.size() - here : next + 1 - here);
      } else {
        in.bump(resume - here);
      }
      if (in.empty()) break;
    }
  }

  for (auto& [offset, comment] : state.comments) state.ast.comments.push_back(std::move(comment));
  return {std::move(state.ast), std::move(state.diagnostics)};
}

}  // namespace portcullis::dsl
