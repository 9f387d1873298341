#include "dsl/ast.hpp"

#include <algorithm>

namespace portcullis::dsl::ast {
namespace {

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          // Control characters would not survive a round trip unescaped.
          static constexpr char kHex[] = "0123456789abcdef";
          const auto u = static_cast<unsigned char>(c);
          out += "\\u{";
          if (u >= 0x10) out += kHex[u >> 4];
          out += kHex[u & 0xF];
          out += '}';
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::optional<std::int64_t> parse_duration(std::string_view text) {
  constexpr std::int64_t kCentury = 100LL * 366 * 24 * 3600;
  std::int64_t total = 0;
  std::int64_t number = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      number = number * 10 + (c - '0');
      if (number > kCentury) return std::nullopt;
      digits = true;
      continue;
    }
    if (!digits) return std::nullopt;
    std::int64_t unit = 0;
    switch (c) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return std::nullopt;
    }
    if (number > kCentury / unit) return std::nullopt;
    total += number * unit;
    if (total > kCentury) return std::nullopt;
    number = 0;
    digits = false;
  }
  if (digits || text.empty()) return std::nullopt;
  return total;
}

std::string quote_string(const std::string& text) { return quote(text); }

std::string to_source(const Approver& approver) {
  switch (approver.kind) {
    case Approver::Kind::automatic: return "auto";
    case Approver::Kind::manager: return "manager";
    case Approver::Kind::app_owner: return "app.owner";
    case Approver::Kind::person: return quote(approver.name);
    case Approver::Kind::group: return "group " + quote(approver.name);
    case Approver::Kind::pool: return approver.name;
    case Approver::Kind::deny: return approver.name.empty() ? "deny" : "deny " + quote(approver.name);
    case Approver::Kind::people: {
      std::string out = "people ";
      for (std::size_t i = 0; i < approver.people.size(); ++i) {
        if (i > 0) out += ", ";
        out += quote(approver.people[i].value);
      }
      return out;
    }
  }
  return {};
}

std::string to_source(int quorum, const Approver& approver) {
  return (quorum > 1 ? std::to_string(quorum) + " of " : std::string()) + to_source(approver);
}

std::string to_source(const Step& step) {
  std::string out;
  if (step.quorum) out = std::to_string(step.quorum->value) + " of ";
  return out + to_source(step.approver);
}

std::string normalize_condition(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c)) {
      while (i < text.size() && is_space(text[i])) ++i;
      if (!out.empty() && i < text.size()) out += ' ';
      continue;
    }
    if (c == '"' || c == '\'') {
      const bool triple = text.substr(i, 3) == std::string(3, c);
      const std::size_t open = triple ? 3 : 1;
      std::size_t j = i + open;
      while (j < text.size()) {
        if (text[j] == '\\') {
          j += 2;
          continue;
        }
        if (text[j] == c && (!triple || text.substr(j, 3) == std::string(3, c))) {
          j += open;
          break;
        }
        ++j;
      }
      j = std::min(j, text.size());
      out.append(text.substr(i, j - i));
      i = j;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

std::string to_source(const Route& route) {
  std::string out;
  for (std::size_t b = 0; b < route.branches.size(); ++b) {
    const Branch& branch = route.branches[b];
    if (b > 0) out += " else ";
    for (std::size_t s = 0; s < branch.steps.size(); ++s) {
      if (s > 0) out += " then ";
      out += to_source(branch.steps[s]);
    }
    if (branch.when) out += " when " + branch.when->text;
  }
  return out;
}

std::string format_duration(std::int64_t seconds) {
  if (seconds == 0) return "0s";
  struct Unit {
    std::int64_t size;
    char suffix;
  };
  // Days are the largest unit: `90d` reads better than `12w6d`.
  static constexpr Unit kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  std::string out;
  for (const Unit& unit : kUnits) {
    if (seconds >= unit.size) {
      out += std::to_string(seconds / unit.size) + unit.suffix;
      seconds %= unit.size;
    }
  }
  return out;
}

}  // namespace portcullis::dsl::ast
