#include "dsl/condition_scanner.hpp"

#include <cctype>
#include <vector>

namespace portcullis::dsl {
namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Words CEL reserves: never an operand, so a condition cannot start or
// continue with one (this is what ends a condition at `else`).
bool is_reserved_word(std::string_view word) {
  static constexpr std::string_view kReserved[] = {"as",       "break",   "const",  "continue", "else",
                                                   "for",      "function", "if",    "import",   "let",
                                                   "loop",     "package", "namespace", "return", "var",
                                                   "void",     "while",   "in"};
  for (auto reserved : kReserved) {
    if (word == reserved) return true;
  }
  return false;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  ConditionExtent run() {
    bool expect_operand = true;
    bool any_operand = false;
    std::size_t pending_ternary = 0;
    std::size_t last_end = 0;
    while (true) {
      skip_space();
      if (pos_ >= text_.size()) break;
      const char c = text_[pos_];
      if (expect_operand) {
        if (c == '!' || c == '-') {
          ++pos_;
          continue;
        }
        if (c == '(' || c == '[' || c == '{') {
          const auto status = skip_group();
          if (status != ConditionExtent::Status::ok) return {status, 0};
        } else if (c == '"' || c == '\'') {
          if (!skip_string()) return {ConditionExtent::Status::unbalanced, 0};
        } else if ((c == 'r' || c == 'R' || c == 'b' || c == 'B') && pos_ + 1 < text_.size() &&
                   (text_[pos_ + 1] == '"' || text_[pos_ + 1] == '\'' ||
                    ((text_[pos_ + 1] == 'r' || text_[pos_ + 1] == 'R' || text_[pos_ + 1] == 'b' ||
                      text_[pos_ + 1] == 'B') &&
                     pos_ + 2 < text_.size() && (text_[pos_ + 2] == '"' || text_[pos_ + 2] == '\'')))) {
          while (text_[pos_] != '"' && text_[pos_] != '\'') ++pos_;
          if (!skip_string()) return {ConditionExtent::Status::unbalanced, 0};
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   (c == '.' && pos_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
          skip_number();
        } else if (is_ident_start(c) || c == '.') {
          const std::size_t word_start = pos_;
          if (c == '.') ++pos_;
          while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
          if (is_reserved_word(text_.substr(word_start, pos_ - word_start))) {
            pos_ = word_start;
            break;
          }
        } else {
          break;
        }
        expect_operand = false;
        any_operand = true;
        last_end = pos_;
        continue;
      }
      // After an operand: does the next token continue the expression?
      if (c == '(' || c == '[') {
        const auto status = skip_group();
        if (status != ConditionExtent::Status::ok) return {status, 0};
        last_end = pos_;
        continue;
      }
      if (c == '.') {
        ++pos_;
        expect_operand = true;
        continue;
      }
      const std::size_t op = operator_length();
      if (op > 0) {
        if (c == '?') ++pending_ternary;
        pos_ += op;
        expect_operand = true;
        continue;
      }
      if (c == ':' && pending_ternary > 0) {
        --pending_ternary;
        ++pos_;
        expect_operand = true;
        continue;
      }
      break;
    }
    if (!any_operand) return {ConditionExtent::Status::empty, 0};
    if (expect_operand) return {ConditionExtent::Status::incomplete, 0};
    return {ConditionExtent::Status::ok, last_end};
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  std::size_t operator_length() const {
    const std::string_view rest = text_.substr(pos_);
    for (std::string_view two : {"&&", "||", "==", "!=", "<=", ">="}) {
      if (rest.substr(0, 2) == two) return 2;
    }
    if (rest.substr(0, 2) == "in" && (rest.size() == 2 || !is_ident_char(rest[2]))) return 2;
    const char c = rest.front();
    if (c == '<' || c == '>' || c == '+' || c == '-' || c == '*' || c == '/' || c == '%' || c == '?') return 1;
    return 0;
  }

  void skip_number() {
    if (text_.substr(pos_, 2) == "0x" || text_.substr(pos_, 2) == "0X") {
      pos_ += 2;
      while (pos_ < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    } else {
      while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
          ++pos_;
        } else if ((c == 'e' || c == 'E') && pos_ + 1 < text_.size()) {
          ++pos_;
          if (text_[pos_] == '+' || text_[pos_] == '-') ++pos_;
        } else {
          break;
        }
      }
    }
    if (pos_ < text_.size() && (text_[pos_] == 'u' || text_[pos_] == 'U')) ++pos_;
  }

  // Strings as CEL writes them: '...', "...", and their triple-quoted forms.
  bool skip_string() {
    const char quote = text_[pos_];
    const bool triple = text_.substr(pos_, 3) == std::string(3, quote);
    pos_ += triple ? 3 : 1;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (!triple && (c == '\n' || c == '\r')) return false;
      if (c == quote) {
        if (!triple) {
          ++pos_;
          return true;
        }
        if (text_.substr(pos_, 3) == std::string(3, quote)) {
          pos_ += 3;
          return true;
        }
      }
      ++pos_;
    }
    return false;
  }

  ConditionExtent::Status skip_group() {
    std::vector<char> closers;
    do {
      const char c = text_[pos_];
      if (c == '(' || c == '[' || c == '{') {
        if (closers.size() >= kMaxConditionNesting) return ConditionExtent::Status::too_deep;
        closers.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
        ++pos_;
      } else if (c == ')' || c == ']' || c == '}') {
        if (c != closers.back()) return ConditionExtent::Status::unbalanced;
        closers.pop_back();
        ++pos_;
      } else if (c == '"' || c == '\'') {
        if (!skip_string()) return ConditionExtent::Status::unbalanced;
      } else {
        ++pos_;
      }
    } while (!closers.empty() && pos_ < text_.size());
    return closers.empty() ? ConditionExtent::Status::ok : ConditionExtent::Status::unbalanced;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

ConditionExtent scan_condition(std::string_view text) { return Scanner(text).run(); }

std::size_t skip_field_value_length(std::string_view text) {
  std::size_t depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote || c == '\n') {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth == 0) return i;
      --depth;
    } else if (depth == 0 && (c == '\n' || c == ';' || c == '#')) {
      return i;
    } else if (c == '\n' && i + 1 < text.size() && !std::isspace(static_cast<unsigned char>(text[i + 1])) &&
               text[i + 1] != '}' && text[i + 1] != ']' && text[i + 1] != ')') {
      // An unclosed bracket must not swallow the rest of the file: a line
      // that starts in the first column begins something new.
      return i;
    }
  }
  return text.size();
}

}  // namespace portcullis::dsl
