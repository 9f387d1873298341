#include "dsl/ast_dump.hpp"

#include <cstdio>
#include <type_traits>
#include <variant>

namespace portcullis::dsl {
namespace {

// A JSON-style string atom: every byte below 0x20 escaped as \xHH.
std::string atom(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", u);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Whitespace outside quotes reduced to single spaces; quoted text (CEL's
// '...', "...", '''...''', """...""", backslash escapes) copied verbatim.
std::string condition_meaning(const std::string& text) {
  std::string out;
  bool pending_space = false;
  std::size_t pos = 0;
  const std::size_t n = text.size();
  while (pos < n) {
    const char c = text[pos];
    if (blank(c)) {
      pending_space = true;
      ++pos;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    if (c != '"' && c != '\'') {
      out.push_back(c);
      ++pos;
      continue;
    }
    const std::string delimiter = (pos + 2 < n && text[pos + 1] == c && text[pos + 2] == c) ? std::string(3, c)
                                                                                              : std::string(1, c);
    std::size_t stop = pos + delimiter.size();
    bool closed = false;
    while (stop < n && !closed) {
      if (text[stop] == '\\') {
        stop += 2;
      } else if (text.compare(stop, delimiter.size(), delimiter) == 0) {
        stop += delimiter.size();
        closed = true;
      } else {
        ++stop;
      }
    }
    if (stop > n) stop = n;
    out.append(text.substr(pos, stop - pos));
    pos = stop;
  }
  return out;
}

class Dumper {
 public:
  std::string file(const ast::File& f) {
    std::string out = "(file";
    for (const auto& entry : f.items) {
      out += "\n  ";
      out += std::visit([](const auto& i) { return item(i); }, entry);
    }
    return out + ")\n";
  }

 private:
  static std::string str(const ast::StringLit& s) { return atom(s.value); }
  static std::string id(const ast::Identifier& i) { return i.name; }
  static std::string qname(const ast::QualifiedName& q) { return q.first.name + "." + q.second.name; }
  static std::string secs(const ast::DurationLit& d) { return "(seconds " + std::to_string(d.seconds) + ")"; }

  static std::string approver(const ast::Approver& a) {
    std::string out = "(approver ";
    switch (a.kind) {
      case ast::Approver::Kind::automatic: out += "automatic"; break;
      case ast::Approver::Kind::manager: out += "manager"; break;
      case ast::Approver::Kind::app_owner: out += "app_owner"; break;
      case ast::Approver::Kind::person: out += "person"; break;
      case ast::Approver::Kind::group: out += "group"; break;
      case ast::Approver::Kind::people: out += "people"; break;
      case ast::Approver::Kind::pool: out += "pool"; break;
      case ast::Approver::Kind::deny: out += "deny"; break;
    }
    out += ' ';
    out += atom(a.name);
    for (const auto& p : a.people) {
      out += ' ';
      out += str(p);
    }
    return out + ")";
  }

  static std::string route(const ast::Route& r) {
    std::string out = "(route";
    for (const auto& b : r.branches) {
      out += " (branch";
      for (const auto& s : b.steps) {
        out += " (step ";
        out += s.quorum ? std::to_string(s.quorum->value) : std::string("-");
        out += ' ';
        out += approver(s.approver) + ")";
      }
      if (b.when) out += " (when " + atom(condition_meaning(b.when->text)) + ")";
      out += ")";
    }
    return out + ")";
  }

  static std::string value(const ast::Value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, ast::StringLit>) return "(string " + atom(x.value) + ")";
          if constexpr (std::is_same_v<T, ast::IntegerLit>) return "(integer " + std::to_string(x.value) + ")";
          if constexpr (std::is_same_v<T, ast::DurationLit>) return "(duration " + std::to_string(x.seconds) + ")";
          if constexpr (std::is_same_v<T, ast::BoolLit>) return std::string("(bool ") + (x.value ? "#t" : "#f") + ")";
          if constexpr (std::is_same_v<T, ast::SecretRef>) {
            return std::string("(secret ") + (x.kind == ast::SecretRef::Kind::env ? "env " : "file ") +
                   atom(x.target.value) + ")";
          }
          if constexpr (std::is_same_v<T, ast::Identifier>) return "(name " + x.name + ")";
          if constexpr (std::is_same_v<T, ast::ListValue>) {
            std::string out = "(list";
            for (const auto& item : x.items) out += " " + value(item);
            return out + ")";
          }
          return "(?)";
        },
        v.data);
  }

  static std::string setting(const ast::Setting& s) { return "(setting " + s.key.name + " " + value(s.value) + ")"; }

  static std::string grant(const ast::Grant& g) { return "(grant " + qname(g.provider) + " " + str(g.group) + ")"; }

  // The shared fields in a fixed order, absent ones left out.
  static std::string settings(const ast::Settings& s, const std::string& pad) {
    std::string out;
    auto field = [&](const std::string& text) { out += "\n" + pad + text; };
    if (s.bucket) field("(bucket " + id(*s.bucket) + ")");
    if (s.approve) field("(approve " + route(*s.approve) + ")");
    if (s.duration) {
      const auto& d = *s.duration;
      std::string text = "(duration";
      if (d.permanent) text += " permanent";
      if (d.maximum) text += " (at_most " + secs(*d.maximum) + ")";
      if (!d.allowed.empty() || d.allowed_permanent) {
        text += " (one_of";
        for (const auto& a : d.allowed) text += " " + secs(a);
        if (d.allowed_permanent) text += " permanent";
        text += ")";
      }
      if (d.default_duration) text += " (default " + secs(*d.default_duration) + ")";
      field(text + ")");
    }
    if (s.expiry) field(std::string("(expiry ") + (s.expiry->required ? "required" : "optional") + ")");
    if (s.renew) field("(renew " + std::to_string(s.renew->max_times.value) + ")");
    if (s.remind) field("(remind " + secs(*s.remind) + ")");
    if (s.escalate) field("(escalate " + secs(s.escalate->after) + " " + approver(s.escalate->to) + ")");
    if (s.require) {
      std::string text = "(require";
      for (const auto& f : s.require->fields) text += " " + id(f);
      field(text + ")");
    }
    if (s.description) field("(description " + str(*s.description) + ")");
    return out;
  }

  static std::string item(const ast::Module& m) { return "(module " + str(m.name) + ")"; }
  static std::string item(const ast::Import& i) { return "(import " + str(i.path) + ")"; }

  static std::string item(const ast::Provider& p) {
    std::string out = "(provider " + id(p.kind) + " " + str(p.name);
    for (const auto& s : p.settings) out += "\n    " + setting(s);
    return out + ")";
  }

  static std::string item(const ast::Integration& i) {
    std::string out = std::string("(") + (i.role == ast::Integration::Role::tracker ? "tracker " : "chat ") + id(i.kind);
    for (const auto& s : i.settings) out += "\n    " + setting(s);
    return out + ")";
  }

  static std::string item(const ast::Pool& p) { return "(pool " + id(p.name) + " " + approver(p.source) + ")"; }

  static std::string item(const ast::Bucket& b) { return "(bucket " + id(b.name) + settings(b.settings, "    ") + ")"; }

  static std::string role(const ast::Role& r) {
    std::string out = "(role " + id(r.name);
    out += "\n      (grants";
    for (const auto& g : r.grants) out += " " + grant(g);
    out += ")";
    if (r.manual) out += "\n      (manual " + str(*r.manual) + ")";
    return out + settings(r.settings, "      ") + ")";
  }

  static std::string item(const ast::App& a) {
    std::string out = "(app " + id(a.name);
    if (a.title) out += " (title " + str(*a.title) + ")";
    if (a.owner) out += "\n    (owner " + approver(*a.owner) + ")";
    out += settings(a.settings, "    ");
    for (const auto& r : a.roles) out += "\n    " + role(r);
    return out + ")";
  }

  static std::string item(const ast::Conflict& c) {
    std::string out = "(conflict " + str(c.name) + "\n    (roles";
    for (const auto& r : c.roles) out += " " + qname(r);
    out += ")";
    if (c.action) out += "\n    (action " + id(*c.action) + ")";
    if (c.escalate_to) out += "\n    (escalate_to " + approver(*c.escalate_to) + ")";
    if (c.description) out += "\n    (description " + str(*c.description) + ")";
    return out + ")";
  }

  static std::string item(const ast::Review& r) {
    std::string out = "(review " + id(r.name) + "\n    (scope";
    for (const auto& s : r.scope) {
      switch (s.kind) {
        case ast::ReviewScope::Kind::bucket: out += " (bucket " + id(s.name) + ")"; break;
        case ast::ReviewScope::Kind::app: out += " (app " + id(s.name) + ")"; break;
        case ast::ReviewScope::Kind::role: out += " (role " + (s.role ? qname(*s.role) : id(s.name)) + ")"; break;
      }
    }
    out += ")";
    if (r.every) out += "\n    (every " + secs(*r.every) + ")";
    if (r.reviewer) out += "\n    (reviewer " + approver(*r.reviewer) + ")";
    if (r.due) out += "\n    (due " + secs(*r.due) + ")";
    if (r.undecided) out += "\n    (undecided " + id(*r.undecided) + ")";
    for (const auto& rec : r.recommendations) {
      out += "\n    (recommend " + id(rec.action) + " " + atom(condition_meaning(rec.when.text)) + ")";
    }
    if (r.description) out += "\n    (description " + str(*r.description) + ")";
    return out + ")";
  }

  static std::string statement(const ast::GivenPerson& g) {
    std::string out = std::string("(given_") + (g.is_requester ? "requester " : "person ") + str(g.email);
    for (const auto& a : g.attributes) out += " " + setting(a);
    return out + ")";
  }
  static std::string statement(const ast::GivenGrant& g) {
    return "(given_grant " + qname(g.role) + " " + str(g.email) + ")";
  }
  static std::string statement(const ast::GivenGroup& g) {
    std::string out = "(given_group " + str(g.group);
    for (const auto& m : g.members) out += " " + str(m);
    return out + ")";
  }
  static std::string statement(const ast::RequestStmt& r) {
    std::string out = "(request " + qname(r.target);
    if (r.duration) out += " (for " + secs(*r.duration) + ")";
    if (r.requester) out += " (by " + str(*r.requester) + ")";
    if (r.reason) out += " (because " + str(*r.reason) + ")";
    if (r.ticket) out += " (ticket " + str(*r.ticket) + ")";
    return out + ")";
  }
  static std::string statement(const ast::ActionStmt& a) {
    std::string out = "(action " + id(a.verb);
    if (a.actor) out += " (by " + str(*a.actor) + ")";
    if (a.reason) out += " (because " + str(*a.reason) + ")";
    if (a.duration) out += " (for " + secs(*a.duration) + ")";
    return out + ")";
  }
  static std::string statement(const ast::WaitStmt& w) { return "(wait " + secs(w.duration) + ")"; }
  static std::string statement(const ast::Expectation& e) {
    std::string out = "(expect " + id(e.kind);
    if (e.name) out += " (name " + id(*e.name) + ")";
    if (e.route) out += " " + route(*e.route);
    if (!e.grants.empty()) {
      out += " (grants";
      for (const auto& g : e.grants) out += " " + grant(g);
      out += ")";
    }
    if (e.duration) out += " (duration " + secs(*e.duration) + ")";
    if (!e.names.empty()) {
      out += " (names";
      for (const auto& n : e.names) out += " " + id(n);
      out += ")";
    }
    if (e.text) out += " (text " + str(*e.text) + ")";
    return out + ")";
  }

  static std::string item(const ast::Test& t) {
    std::string out = "(test " + str(t.name);
    for (const auto& s : t.statements) {
      out += "\n    " + std::visit([](const auto& x) { return statement(x); }, s);
    }
    return out + ")";
  }
};

}  // namespace

std::string dump(const ast::File& file) { return Dumper().file(file); }

}  // namespace portcullis::dsl
