#include "random_policy.hpp"

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

namespace portcullis::dsl::testing {
namespace {

using Strings = std::vector<std::string>;

const Strings kApps = {"figma", "aws_prod", "github", "salesforce", "netsuite", "zoom", "notion", "okta_admin"};
const Strings kRoles = {"viewer", "editor", "admin", "read_only", "billing_admin", "payment_creator", "member"};
const Strings kBuckets = {"routine", "sensitive", "privileged", "unknown", "low_risk"};
const Strings kPools = {"it_triage", "security", "platform_leads", "finance", "exec_signoff"};
const Strings kProviderKinds = {"okta", "entra", "google", "sandbox"};
const Strings kProviderNames = {"main", "corp", "demo"};
const Strings kSettingKeys = {"url", "token", "tenant", "client_id", "scopes", "retries", "enabled", "timeout", "mode",
                              "tags", "signing_secret", "project"};
const Strings kIdentValues = {"strict", "eu_west", "none_of_these", "deny_all", "v2"};
const Strings kRequireFields = {"justification", "ticket", "manager_ok", "incident"};
const Strings kStates = {"active", "pending", "denied", "expired", "revoked", "awaiting_fulfilment"};
const Strings kPlainExpectations = {"auto_approved", "denied", "triage", "pending", "permanent", "no_grants"};
const Strings kVerbs = {"approve", "deny", "cancel", "revoke", "confirm", "renew"};
const Strings kDurations = {"1h", "6h", "24h", "30m", "1h30m", "90d", "2w", "45s", "7d", "12h", "1d12h", "3600s",
                            "0s", "60m"};

// String literals as an author might write them: escapes, raw tabs,
// Unicode escapes, characters that look like syntax, control characters.
const Strings kStringLiterals = {
    "\"A paid seat: counts against the licence\"",
    "\"Quote \\\" inside\"",
    "\"back\\\\slash\"",
    "\"tab\there\"",
    "\"tab\\there\"",
    "\"caf\\u{e9} \\u{1F600}\"",
    "\"\xC3\xBCn\xC3\xAF" "c\xC3\xB8" "d\xC3\xA9 \xE2\x9C\x93\"",
    "\"#not a comment\"",
    "\"\"",
    "\"semi; colon: {brace} [bracket]\"",
    "\"line\\nbreak\\r\"",
    "\"ctrl\\u{1}char\"",
    "\"nul\\u{0}byte\"",
    "\"Finance Ops sets this in Salesforce Setup\"",
    "\"INC-4411\"",
};
const Strings kEmails = {"\"ann@acme.com\"", "\"bob@acme.com\"", "\"dana.whitfield@acme.com\"",
                         "\"zo\xC3\xAB@acme.com\"", "\"sam@acme.com\""};
const Strings kGroups = {"\"figma-viewers\"", "\"aws-prod-admin\"", "\"platform-leads\"", "\"security-oncall\"",
                         "\"it ops\"", "\"a\\\"b\""};
const Strings kComments = {"# note",       "#tight",          "# \xC3\xBCn\xC3\xAF" "c\xC3\xB8" "de comment",
                           "## double",    "# trailing spaces   ", "# looks like code: approve: auto",
                           "# \"quoted\"", "# it's got an apostrophe", "#",
                           "# ---- section ----"};

// Condition atoms, as tokens; whitespace goes between tokens.
const std::vector<Strings> kAtoms = {
    {"requester.employment", "==", "\"full_time\""},
    {"requester.department", "in", "[\"sales\",", "\"support\"]"},
    {"request.duration", "<=", "duration(\"6h\")"},
    {"'#ops'", "in", "requester.groups"},
    {"member.last_login_age", ">", "duration(\"60d\")"},
    {"size(requester.groups)", ">", "2"},
    {"requester.title.startsWith(\"VP  of\")"},
    {"request.ticket", "!=", "\"\""},
    {"!requester.contractor"},
    {"!", "requester.contractor"},
    {"\"a  b\"", "==", "requester.name"},
    {"(requester.level  >  3 ? \"hi\" : \"lo\")", "==", "\"hi\""},
    {"requester.tags.exists(t,", "t", "==", "'x  y')"},
    {"1.5e3", "<", "request.score"},
    {"'''it's  \"quoted\"'''", "!=", "requester.note"},
    {"request.reason", "!=", "r\"raw  \\d\""},
    {"requester.level", "-", "1", ">=", "0"},
    {"requester.manager.exists_one(m,", "m", "%", "2", "==", "0)"},
};

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {
    crlf_ = chance(10);
    comment_rate_ = below(4) == 0 ? 0 : 3 + below(12);
    odd_space_rate_ = below(20);
    const Strings units = {"  ", "  ", "    ", "\t", " "};
    unit_ = units[below(static_cast<std::uint32_t>(units.size()))];
  }

  std::string file() {
    std::vector<std::string> items;
    if (chance(20)) items.push_back("module" + g("") + lit());
    for (std::uint32_t i = below(3); i > 0; --i) items.push_back("import" + g("") + "\"lib/shared" + num() + ".policy\"");
    std::vector<std::function<std::string()>> makers = {
        [&] { return provider(); }, [&] { return integration(); }, [&] { return pool(); },
        [&] { return bucket(); },   [&] { return app(); },         [&] { return conflict(); },
        [&] { return review(); },   [&] { return test(); },
    };
    // Every construct at least once, then a few more at random.
    std::vector<std::string> body;
    for (auto& make : makers) body.push_back(make());
    for (std::uint32_t i = below(6); i > 0; --i) body.push_back(makers[below(static_cast<std::uint32_t>(makers.size()))]());
    shuffle(body);
    items.insert(items.end(), body.begin(), body.end());

    std::string out;
    if (chance(40)) out += comment() + nl() + (chance(50) ? nl() : "");
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) {
        const auto r = below(100);
        if (r < 5) {
          out += " ";  // two items on one line
        } else {
          if (chance(comment_rate_ * 2)) out += "  " + comment();
          out += nl();
          for (std::uint32_t b = below(3); b > 0; --b) out += nl();
          if (chance(comment_rate_ * 2)) out += comment() + nl();
        }
      }
      out += items[i];
    }
    if (chance(comment_rate_ * 2)) out += "  " + comment();
    if (chance(30)) out += nl() + nl() + comment();
    if (chance(80)) out += nl();
    return out;
  }

 private:
  // ---- randomness ----

  std::uint32_t below(std::uint32_t n) { return n == 0 ? 0 : static_cast<std::uint32_t>(rng_() % n); }
  bool chance(std::uint32_t percent) { return below(100) < percent; }
  const std::string& pick(const Strings& from) { return from[below(static_cast<std::uint32_t>(from.size()))]; }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(static_cast<std::uint32_t>(i))]);
  }

  // ---- layout ----

  std::string nl() const { return crlf_ ? "\r\n" : "\n"; }
  std::string comment() { return pick(kComments); }
  std::string num() { return std::to_string(below(100)); }

  // Whitespace between two tokens: usually one space, sometimes odd
  // spacing, a line break, or a comment running to the end of the line.
  std::string g(const std::string& indent) {
    const auto r = below(100);
    if (r < comment_rate_ / 3) return "  " + comment() + nl() + indent + unit_ + unit_;
    if (r < 3) return nl() + indent + unit_ + unit_;
    if (r < 3 + odd_space_rate_) {
      const Strings odd = {"  ", "\t", " \t ", "   "};
      return pick(odd);
    }
    return " ";
  }
  // Whitespace inside a condition: no comments there.
  std::string cg(const std::string& indent) {
    const auto r = below(100);
    if (r < 4) return nl() + indent + unit_ + unit_ + unit_;
    if (r < 4 + odd_space_rate_) {
      const Strings odd = {"  ", "\t", " \t ", "   "};
      return pick(odd);
    }
    return " ";
  }
  // Optional whitespace (before `:`, `,`, `)`...).
  std::string og(const std::string& indent) { return chance(85) ? "" : g(indent); }

  // Joins `items` as `a, b, c` with random spacing.
  std::string comma_list(const Strings& items, const std::string& indent) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += og(indent) + "," + g(indent);
      out += items[i];
    }
    return out;
  }

  enum class Separators { fields, none, attributes };

  // A `{ ... }` block of members, laid out on one line or many.
  std::string block(const Strings& members, const std::string& indent, Separators separators) {
    const std::string inner = indent + unit_;
    if (members.empty()) {
      const auto r = below(4);
      if (r == 0) return "{}";
      if (r == 1) return "{ }";
      if (r == 2 && comment_rate_ > 0) return "{" + nl() + inner + comment() + nl() + indent + "}";
      return "{" + nl() + indent + "}";
    }
    auto separator = [&]() -> std::string {
      switch (separators) {
        case Separators::fields: {
          const Strings s = {"; ", " ", ";", " ; "};
          return pick(s);
        }
        case Separators::attributes: {
          const Strings s = {", ", " ", ",", "; ", " , "};
          return pick(s);
        }
        case Separators::none: return " ";
      }
      return " ";
    };
    if (members.size() <= 3 && chance(separators == Separators::attributes ? 85 : 25)) {
      std::string out = chance(80) ? "{ " : "{";
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out += separator();
        out += members[i];
      }
      if (separators != Separators::none && chance(15)) out += separators == Separators::attributes ? "," : ";";
      return out + (chance(80) ? " }" : " }");
    }
    std::string out = "{";
    if (chance(comment_rate_)) out += "  " + comment();
    out += nl();
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i > 0 && chance(20)) {
        out += nl();
        if (chance(20)) out += nl();
      }
      if (chance(comment_rate_)) out += inner + comment() + nl();
      out += inner + members[i];
      if (separators != Separators::none && chance(15)) out += separators == Separators::attributes ? "," : ";";
      if (chance(comment_rate_)) out += (chance(50) ? "  " : " ") + comment();
      out += nl();
    }
    if (chance(comment_rate_)) out += inner + comment() + nl();
    return out + indent + "}";
  }

  // ---- literals ----

  std::string lit() { return pick(kStringLiterals); }
  std::string dur() { return pick(kDurations); }
  std::string qualified() { return pick(kApps) + "." + pick(kRoles); }
  std::string provider_ref() { return pick(kProviderKinds) + "." + pick(kProviderNames); }

  std::string value(const std::string& indent, int depth) {
    switch (below(depth < 2 ? 9 : 8)) {
      case 0: return lit();
      case 1: {
        const Strings ints = {"0", "42", "007", "1000000"};
        return pick(ints);
      }
      case 2: return dur();
      case 3: return chance(50) ? "true" : "false";
      case 4: return "env" + og(indent) + "(" + og(indent) + "\"" + pick_one({"OKTA_TOKEN", "A_B", "X1"}) + "\"" + og(indent) + ")";
      case 5: return "file" + og(indent) + "(" + og(indent) + "\"/run/secrets/" + num() + "\"" + og(indent) + ")";
      case 6:
      case 7: return pick(kIdentValues);
      default: {
        Strings items;
        for (std::uint32_t i = below(4); i > 0; --i) items.push_back(value(indent, depth + 1));
        std::string out = "[" + og(indent) + comma_list(items, indent);
        if (!items.empty() && chance(20)) out += ",";
        return out + og(indent) + "]";
      }
    }
  }
  std::string pick_one(std::initializer_list<const char*> from) {
    std::vector<const char*> v(from);
    return v[below(static_cast<std::uint32_t>(v.size()))];
  }

  // ---- approvers, routes, conditions ----

  std::string people(const std::string& indent) {
    Strings who;
    for (std::uint32_t i = 1 + below(3); i > 0; --i) who.push_back(pick(kEmails));
    return "people" + g(indent) + comma_list(who, indent);
  }

  std::string approver(const std::string& indent) {
    switch (below(9)) {
      case 0: return "auto";
      case 1: return "manager";
      case 2: return "app.owner";
      case 3: return pick(kEmails);
      case 4: return "group" + g(indent) + pick(kGroups);
      case 5: return people(indent);
      case 6: return "deny";
      case 7: return "deny" + g(indent) + lit();
      default: return pick(kPools);
    }
  }

  // Approvers an app's owner may be.
  std::string owner(const std::string& indent) {
    switch (below(4)) {
      case 0: return pick(kEmails);
      case 1: return "group" + g(indent) + pick(kGroups);
      case 2: return people(indent);
      default: return pick(kPools);
    }
  }

  std::string condition(const std::string& indent) {
    std::string out;
    const std::uint32_t atoms = 1 + below(3);
    const bool paren = atoms > 1 && chance(30);
    for (std::uint32_t i = 0; i < atoms; ++i) {
      if (i > 0) out += cg(indent) + (chance(50) ? "&&" : "||") + cg(indent);
      if (paren && i == 0) out += "(" + (chance(30) ? cg(indent) : std::string());
      const Strings& tokens = kAtoms[below(static_cast<std::uint32_t>(kAtoms.size()))];
      for (std::size_t t = 0; t < tokens.size(); ++t) {
        if (t > 0) out += cg(indent);
        out += tokens[t];
      }
      if (paren && i == 0) out += (chance(30) ? cg(indent) : std::string()) + ")";
    }
    return out;
  }

  std::string route(const std::string& indent) {
    std::string out;
    const std::uint32_t branches = 1 + below(3);
    for (std::uint32_t b = 0; b < branches; ++b) {
      if (b > 0) out += g(indent) + "else" + g(indent);
      const std::uint32_t steps = 1 + below(3);
      for (std::uint32_t s = 0; s < steps; ++s) {
        if (s > 0) out += g(indent) + "then" + g(indent);
        if (chance(20)) out += std::to_string(1 + below(3)) + g(indent) + "of" + g(indent);
        out += approver(indent);
      }
      if (chance(b + 1 < branches ? 70 : 15)) out += g(indent) + "when" + g(indent) + condition(indent);
    }
    return out;
  }

  // ---- fields ----

  std::string key(const std::string& name, const std::string& indent) { return name + og(indent) + ":" + g(indent); }

  std::string duration_spec(const std::string& indent) {
    std::string out;
    switch (below(3)) {
      case 0: {
        Strings entries;
        for (std::uint32_t i = 1 + below(3); i > 0; --i) entries.push_back(dur());
        if (chance(20)) entries.insert(entries.begin() + below(static_cast<std::uint32_t>(entries.size() + 1)), "permanent");
        out = "one_of" + og(indent) + "(" + og(indent) + comma_list(entries, indent) + (chance(15) ? "," : "") +
              og(indent) + ")";
        break;
      }
      case 1: out = "at_most" + g(indent) + dur(); break;
      default: out = "permanent"; break;
    }
    if (chance(40)) out += g(indent) + "default" + g(indent) + dur();
    return out;
  }

  // The shared fields of buckets, apps and roles, each at most once.
  Strings settings(const std::string& indent, std::uint32_t max_fields) {
    std::vector<std::function<std::string()>> fields = {
        [&] { return key("approve", indent) + route(indent); },
        [&] { return key("duration", indent) + duration_spec(indent); },
        [&] { return key("expiry", indent) + (chance(50) ? "required" : "optional"); },
        [&] {
          return key("renew", indent) +
                 (chance(30) ? std::string("never") : "at_most" + g(indent) + std::to_string(below(4)) + g(indent) + "times");
        },
        [&] { return key("remind", indent) + "after" + g(indent) + dur(); },
        [&] { return key("escalate", indent) + "after" + g(indent) + dur() + g(indent) + "to" + g(indent) + approver(indent); },
        [&] {
          Strings names;
          for (std::uint32_t i = 1 + below(3); i > 0; --i) names.push_back(pick(kRequireFields));
          return key("require", indent) + comma_list(names, indent);
        },
        [&] { return key("description", indent) + lit(); },
    };
    shuffle(fields);
    Strings out;
    const std::uint32_t count = below(max_fields + 1);
    for (std::uint32_t i = 0; i < count && i < fields.size(); ++i) out.push_back(fields[i]());
    return out;
  }

  std::string grant(const std::string& indent) { return provider_ref() + g(indent) + "group" + g(indent) + pick(kGroups); }

  std::string grants(const std::string& indent) {
    Strings list;
    for (std::uint32_t i = 1 + below(chance(80) ? 1 : 3); i > 0; --i) list.push_back(grant(indent));
    return comma_list(list, indent);
  }

  // ---- items ----

  std::string settings_block(const std::string& indent) {
    Strings members;
    Strings keys = kSettingKeys;
    shuffle(keys);
    const std::uint32_t count = below(5);
    for (std::uint32_t i = 0; i < count; ++i) members.push_back(key(keys[i], indent + unit_) + value(indent + unit_, 0));
    return block(members, indent, Separators::fields);
  }

  std::string provider() {
    return "provider" + g("") + pick(kProviderKinds) + g("") + "\"" + pick(kProviderNames) + "\"" + g("") +
           settings_block("");
  }

  std::string integration() {
    return std::string(chance(50) ? "tracker" : "chat") + g("") + pick(kProviderKinds) + g("") + settings_block("");
  }

  std::string pool() {
    return "approvers" + g("") + pick(kPools) + g("") + "=" + g("") +
           (chance(60) ? "group" + g("") + pick(kGroups) : people(""));
  }

  std::string bucket() {
    return "bucket" + g("") + pick(kBuckets) + g("") + block(settings(unit_, 5), "", Separators::fields);
  }

  std::string role(const std::string& indent) {
    const std::string inner = indent + unit_;
    Strings members = settings(inner, chance(50) ? 1 : 3);
    const auto r = below(100);
    if (r < 75) members.push_back(key("grants", inner) + grants(inner));
    else if (r < 92) members.push_back("manual" + g(inner) + lit());
    else if (r < 96) {
      members.push_back(key("grants", inner) + grants(inner));
      members.push_back("manual" + g(inner) + lit());
    }
    if (chance(40)) members.push_back(key("bucket", inner) + pick(kBuckets));
    shuffle(members);
    return "role" + g(indent) + pick(kRoles) + g(indent) + block(members, indent, Separators::fields);
  }

  std::string app() {
    const std::string inner = unit_;
    Strings members = settings(inner, 2);
    if (chance(90)) members.push_back(key("owner", inner) + owner(inner));
    if (chance(70)) members.push_back(key("bucket", inner) + pick(kBuckets));
    for (std::uint32_t i = below(4); i > 0; --i) members.push_back(role(inner));
    shuffle(members);
    std::string header = "app" + g("") + pick(kApps);
    if (chance(70)) header += g("") + lit();
    return header + g("") + block(members, "", Separators::fields);
  }

  std::string conflict() {
    const std::string inner = unit_;
    Strings members;
    Strings roles;
    for (std::uint32_t i = 2 + below(2); i > 0; --i) roles.push_back(qualified());
    members.push_back(key("roles", inner) + comma_list(roles, inner));
    if (chance(90)) {
      members.push_back(key("action", inner) +
                        (chance(50) ? std::string("deny") : "escalate" + g(inner) + "to" + g(inner) + approver(inner)));
    }
    // Accepted by the grammar, though the tree does not keep it.
    if (chance(25)) members.push_back(key("description", inner) + lit());
    shuffle(members);
    return "conflict" + g("") + lit() + g("") + block(members, "", Separators::fields);
  }

  std::string review() {
    const std::string inner = unit_;
    Strings members;
    Strings scope;
    for (std::uint32_t i = 1 + below(3); i > 0; --i) {
      switch (below(3)) {
        case 0: scope.push_back("bucket" + g(inner) + pick(kBuckets)); break;
        case 1: scope.push_back("app" + g(inner) + pick(kApps)); break;
        default: scope.push_back("role" + g(inner) + qualified()); break;
      }
    }
    members.push_back(key("scope", inner) + comma_list(scope, inner));
    if (chance(70)) members.push_back(key("every", inner) + dur());
    if (chance(70)) members.push_back(key("reviewer", inner) + approver(inner));
    if (chance(50)) members.push_back(key("due", inner) + dur());
    if (chance(50)) members.push_back(key("undecided", inner) + (chance(50) ? "keep" : "revoke"));
    for (std::uint32_t i = below(3); i > 0; --i) {
      members.push_back("recommend" + g(inner) + (chance(50) ? "keep" : "revoke") + g(inner) + "when" + g(inner) +
                        condition(inner));
    }
    if (chance(40)) members.push_back(key("description", inner) + lit());
    shuffle(members);
    return "review" + g("") + pick(kRoles) + "_review" + g("") + block(members, "", Separators::fields);
  }

  std::string statement(const std::string& indent) {
    switch (below(8)) {
      case 0: {
        std::string out = "given" + g(indent) + (chance(60) ? "requester" : "person") + g(indent) + pick(kEmails);
        if (chance(70)) {
          Strings attributes;
          Strings keys = {"employment", "manager", "department", "title", "level", "groups"};
          shuffle(keys);
          for (std::uint32_t i = below(4); i > 0; --i) attributes.push_back(key(keys[i], indent) + value(indent, 0));
          out += g(indent) + block(attributes, indent, Separators::attributes);
        }
        return out;
      }
      case 1: return "given" + g(indent) + "grant" + g(indent) + qualified() + g(indent) + "to" + g(indent) + pick(kEmails);
      case 2: {
        Strings members;
        for (std::uint32_t i = 1 + below(3); i > 0; --i) members.push_back(pick(kEmails));
        return "given" + g(indent) + "group" + g(indent) + pick(kGroups) + g(indent) + "members" + g(indent) +
               comma_list(members, indent);
      }
      case 3: {
        Strings clauses = {"for" + g(indent) + dur(), "by" + g(indent) + pick(kEmails), "because" + g(indent) + lit(),
                           "ticket" + g(indent) + lit()};
        shuffle(clauses);
        std::string out = "request" + g(indent) + qualified();
        for (std::uint32_t i = below(5); i > 0; --i) out += g(indent) + clauses[i - 1];
        return out;
      }
      case 4: {
        Strings clauses = {"by" + g(indent) + pick(kEmails), "because" + g(indent) + lit(), "for" + g(indent) + dur()};
        shuffle(clauses);
        std::string out = pick(kVerbs);
        for (std::uint32_t i = below(4); i > 0; --i) out += g(indent) + clauses[i - 1];
        return out;
      }
      case 5: return "wait" + g(indent) + dur();
      default: return "expect" + g(indent) + expectation(indent);
    }
  }

  std::string expectation(const std::string& indent) {
    switch (below(9)) {
      case 0: return "route" + g(indent) + route(indent);
      case 1: {
        Strings list;
        for (std::uint32_t i = 1 + below(2); i > 0; --i) list.push_back(grant(indent));
        return "grants" + g(indent) + comma_list(list, indent);
      }
      case 2: return "state" + g(indent) + pick(kStates);
      case 3: return "bucket" + g(indent) + pick(kBuckets);
      case 4: return "expires_after" + g(indent) + dur();
      case 5: {
        Strings names;
        for (std::uint32_t i = 1 + below(3); i > 0; --i) names.push_back(pick(kRequireFields));
        return "requires" + g(indent) + comma_list(names, indent);
      }
      case 6: return chance(50) ? std::string("refused") : "refused" + g(indent) + lit();
      default: return pick(kPlainExpectations);
    }
  }

  std::string test() {
    Strings statements;
    for (std::uint32_t i = below(9); i > 0; --i) statements.push_back(statement(unit_));
    return "test" + g("") + lit() + g("") + block(statements, "", Separators::fields);
  }

  std::mt19937 rng_;
  bool crlf_ = false;
  std::uint32_t comment_rate_ = 0;
  std::uint32_t odd_space_rate_ = 0;
  std::string unit_ = "  ";
};

}  // namespace

std::string random_policy(std::uint32_t seed) { return Generator(seed).file(); }

}  // namespace portcullis::dsl::testing
