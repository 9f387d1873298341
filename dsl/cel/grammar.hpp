#pragma once
// The CEL grammar as PEGTL rules, and nothing else: no actions, no AST.
//
// Follows the CEL language definition
// (https://github.com/google/cel-spec/blob/master/doc/langdef.md#syntax):
//
//   Expr           = ConditionalOr ["?" ConditionalOr ":" Expr] ;
//   ConditionalOr  = [ConditionalOr "||"] ConditionalAnd ;
//   ConditionalAnd = [ConditionalAnd "&&"] Relation ;
//   Relation       = [Relation Relop] Addition ;
//   Addition       = [Addition ("+" | "-")] Multiplication ;
//   Multiplication = [Multiplication ("*" | "/" | "%")] Unary ;
//   Unary          = Member | "!" {"!"} Member | "-" {"-"} Member ;
//   Member         = Primary | Member "." SELECTOR ["(" [ExprList] ")"]
//                  | Member "[" Expr "]" ;
//   Primary        = ["."] IDENT ["(" [ExprList] ")"] | "(" Expr ")"
//                  | "[" [ExprList] [","] "]" | "{" [MapInits] [","] "}"
//                  | ["."] SELECTOR { "." SELECTOR } "{" [FieldInits] [","] "}"
//                  | LITERAL ;
//
// Left-recursive levels are written as `operand (op operand)*`; the parser
// folds them left-associatively. Recursion only happens through `expr`,
// which is wrapped in `guarded<>` so nesting depth is bounded (see
// parser.hpp, ParseOptions::max_nesting).
//
// Every token rule consumes its trailing whitespace and comments, so node
// spans of tokens may include trailing blanks; the parser trims them.

#include <tao/pegtl.hpp>

#include <cstddef>
#include <type_traits>

namespace portcullis::dsl::cel::grammar {

namespace pegtl = tao::pegtl;
using namespace tao::pegtl;  // NOLINT: rule vocabulary

// Nesting counter threaded through the parse as an extra state.
struct NestingState {
  std::size_t depth = 0;
  std::size_t max_depth = 100;
  std::size_t last_string_start = 0;  // byte offset of the latest string literal
};

struct nesting_exceeded {};

namespace detail {
template <typename T, typename First, typename... Rest>
T* find_state(First& first, Rest&... rest) {
  if constexpr (std::is_same_v<std::decay_t<First>, T>) {
    return &first;
  } else if constexpr (sizeof...(Rest) > 0) {
    return find_state<T>(rest...);
  } else {
    return nullptr;
  }
}
}  // namespace detail

// Matches R while counting nesting; raises a parse error past the limit.
template <typename R>
struct guarded {
  using rule_t = guarded;
  using subs_t = type_list<R>;

  template <apply_mode A, rewind_mode M, template <typename...> class Action,
            template <typename...> class Control, typename ParseInput, typename... States>
  static bool match(ParseInput& in, States&&... st) {
    NestingState* ns = detail::find_state<NestingState>(st...);
    if (ns != nullptr) {
      if (++ns->depth > ns->max_depth) {
        throw pegtl::parse_error("expression nested too deeply", in);
      }
    }
    const bool ok = Control<R>::template match<A, M, Action, Control>(in, st...);
    if (ns != nullptr) --ns->depth;
    return ok;
  }
};

// Records where a string literal starts, so an unterminated one can be
// reported at its opening quote. Matches the empty string.
struct mark_string_start {
  using rule_t = mark_string_start;
  using subs_t = empty_list;

  template <apply_mode A, rewind_mode M, template <typename...> class Action,
            template <typename...> class Control, typename ParseInput, typename... States>
  static bool match(ParseInput& in, States&&... st) {
    if (NestingState* ns = detail::find_state<NestingState>(st...)) {
      ns->last_string_start = in.byte();
    }
    return true;
  }
};

// ---- Whitespace and comments -------------------------------------------
struct comment : seq<two<'/'>, until<eolf>> {};
struct ws : star<sor<space, comment>> {};
template <typename R>
struct tok : seq<R, ws> {};

// ---- Identifiers and keywords -------------------------------------------
struct ident_first : ranges<'a', 'z', 'A', 'Z', '_'> {};
struct ident_other : ranges<'a', 'z', 'A', 'Z', '0', '9', '_'> {};
struct word : seq<ident_first, star<ident_other>> {};
template <typename Str>
struct keyword : seq<Str, not_at<ident_other>> {};

struct kw_true : keyword<TAO_PEGTL_STRING("true")> {};
struct kw_false : keyword<TAO_PEGTL_STRING("false")> {};
struct kw_null : keyword<TAO_PEGTL_STRING("null")> {};
struct kw_in : keyword<TAO_PEGTL_STRING("in")> {};

struct reserved
    : sor<kw_true, kw_false, kw_null, kw_in, keyword<TAO_PEGTL_STRING("as")>,
          keyword<TAO_PEGTL_STRING("break")>, keyword<TAO_PEGTL_STRING("const")>,
          keyword<TAO_PEGTL_STRING("continue")>, keyword<TAO_PEGTL_STRING("else")>,
          keyword<TAO_PEGTL_STRING("for")>, keyword<TAO_PEGTL_STRING("function")>,
          keyword<TAO_PEGTL_STRING("if")>, keyword<TAO_PEGTL_STRING("import")>,
          keyword<TAO_PEGTL_STRING("let")>, keyword<TAO_PEGTL_STRING("loop")>,
          keyword<TAO_PEGTL_STRING("package")>, keyword<TAO_PEGTL_STRING("namespace")>,
          keyword<TAO_PEGTL_STRING("return")>, keyword<TAO_PEGTL_STRING("var")>,
          keyword<TAO_PEGTL_STRING("void")>, keyword<TAO_PEGTL_STRING("while")>> {};

// An identifier in primary position may not be a reserved word.
struct ident : seq<not_at<reserved>, word> {};
// After a dot any word is allowed (`{'as': 1}.as`), or a back-quoted name
// for map keys that are not identifiers (`m.`content-type``).
struct quoted_selector
    : seq<one<'`'>, plus<sor<ident_other, one<'.', '-', '/', ' '>>>, one<'`'>> {};
struct selector : sor<word, quoted_selector> {};

// ---- Literals -------------------------------------------------------------
struct hex_digits : plus<xdigit> {};
struct exponent : seq<one<'e', 'E'>, opt<one<'+', '-'>>, plus<digit>> {};
struct double_lit
    : seq<sor<seq<star<digit>, one<'.'>, plus<digit>, opt<exponent>>, seq<plus<digit>, exponent>>,
          not_at<ident_other>> {};
struct int_body : sor<seq<one<'0'>, one<'x', 'X'>, hex_digits>, plus<digit>> {};
struct uint_lit : seq<int_body, one<'u', 'U'>, not_at<ident_other>> {};
struct int_lit : seq<int_body, not_at<ident_other>> {};

// String bodies are matched loosely here; escapes are validated and decoded
// by the parser so errors can point at the exact escape.
template <char Q>
struct quoted_body : star<sor<seq<one<'\\'>, not_one<'\n', '\r'>>, not_one<Q, '\\', '\n', '\r'>>> {};
template <char Q>
struct raw_body : star<not_one<Q, '\n', '\r'>> {};
template <char Q>
struct triple_quote : seq<one<Q>, one<Q>, one<Q>> {};
template <char Q>
struct triple_body : star<not_at<triple_quote<Q>>, sor<seq<one<'\\'>, any>, any>> {};
template <char Q>
struct raw_triple_body : star<not_at<triple_quote<Q>>, any> {};

struct unterminated_string {};

template <char Q>
struct str_triple : seq<triple_quote<Q>, triple_body<Q>, must<triple_quote<Q>>> {};
template <char Q>
struct str_single : seq<one<Q>, quoted_body<Q>, must<one<Q>>> {};
template <char Q>
struct raw_triple : seq<triple_quote<Q>, raw_triple_body<Q>, must<triple_quote<Q>>> {};
template <char Q>
struct raw_single : seq<one<Q>, raw_body<Q>, must<one<Q>>> {};

struct raw_prefix : one<'r', 'R'> {};
struct bytes_prefix : one<'b', 'B'> {};
struct string_body
    : sor<seq<raw_prefix, sor<raw_triple<'"'>, raw_triple<'\''>, raw_single<'"'>, raw_single<'\''>>>,
          str_triple<'"'>, str_triple<'\''>, str_single<'"'>, str_single<'\''>> {};
struct string_start : sor<one<'"', '\''>, seq<raw_prefix, one<'"', '\''>>> {};
struct string_lit : seq<at<string_start>, mark_string_start, string_body> {};
struct bytes_lit : seq<at<bytes_prefix, string_start>, mark_string_start, bytes_prefix, string_body> {};

struct literal
    : sor<double_lit, uint_lit, int_lit, bytes_lit, string_lit, kw_true, kw_false, kw_null> {};

// ---- Punctuation -----------------------------------------------------------
struct lparen : tok<one<'('>> {};
struct rparen : tok<one<')'>> {};
struct lbracket : tok<one<'['>> {};
struct rbracket : tok<one<']'>> {};
struct lbrace : tok<one<'{'>> {};
struct rbrace : tok<one<'}'>> {};
struct comma : tok<one<','>> {};
struct colon : tok<one<':'>> {};
struct dot : tok<one<'.'>> {};
struct question : tok<one<'?'>> {};

// ---- Expressions -----------------------------------------------------------
struct expr;

struct expr_list : list_must<expr, comma> {};
// Argument lists and literal bodies allow one trailing comma where the spec
// does (lists, maps, messages); calls do not.
struct args : seq<lparen, opt<expr_list>, must<rparen>> {};

struct leading_dot : one<'.'> {};
struct ident_name : seq<opt<leading_dot, ws>, ident> {};
struct ident_tok : tok<ident_name> {};

struct global_call : seq<ident_tok, at<one<'('>>, args> {};

struct field_name : tok<selector> {};
struct field_init : seq<field_name, must<colon>, must<expr>> {};
struct field_inits : seq<field_init, star<comma, field_init>, opt<comma>> {};
struct struct_type : seq<opt<leading_dot, ws>, ident, star<ws, one<'.'>, ws, selector>> {};
struct struct_type_tok : tok<struct_type> {};
struct struct_lit : seq<struct_type_tok, lbrace, opt<field_inits>, must<rbrace>> {};

struct ident_expr : ident_tok {};

struct paren_expr : seq<lparen, must<expr>, must<rparen>> {};

struct list_elems : seq<expr, star<comma, expr>, opt<comma>> {};
struct list_lit : seq<lbracket, opt<list_elems>, must<rbracket>> {};

struct map_entry : seq<expr, must<colon>, must<expr>> {};
struct map_entries : seq<map_entry, star<comma, map_entry>, opt<comma>> {};
struct map_lit : seq<lbrace, opt<map_entries>, must<rbrace>> {};

struct literal_tok : tok<literal> {};

struct primary
    : sor<literal_tok, global_call, struct_lit, ident_expr, paren_expr, list_lit, map_lit> {};

struct method_name : tok<selector> {};
struct select_suffix : seq<dot, must<method_name>, opt<at<one<'('>>, args>> {};
struct index_suffix : seq<lbracket, must<expr>, must<rbracket>> {};
struct member : seq<primary, star<sor<select_suffix, index_suffix>>> {};

struct op_not : tok<one<'!'>> {};
struct op_neg : tok<one<'-'>> {};
struct unary : sor<seq<plus<op_not>, must<member>>, seq<plus<op_neg>, must<member>>, member> {};

struct op_mul : tok<one<'*', '/', '%'>> {};
struct multiplication : seq<unary, star<op_mul, must<unary>>> {};

struct op_add : tok<one<'+', '-'>> {};
struct addition : seq<multiplication, star<op_add, must<multiplication>>> {};

struct op_rel : tok<sor<string<'<', '='>, string<'>', '='>, string<'=', '='>, string<'!', '='>,
                        one<'<'>, one<'>'>, kw_in>> {};
struct relation : seq<addition, star<op_rel, must<addition>>> {};

struct op_and : tok<string<'&', '&'>> {};
struct conditional_and : seq<relation, star<op_and, must<relation>>> {};

struct op_or : tok<string<'|', '|'>> {};
struct conditional_or : seq<conditional_and, star<op_or, must<conditional_and>>> {};

struct ternary : seq<conditional_or, opt<question, must<conditional_or>, must<colon>, must<expr>>> {};
struct expr : guarded<ternary> {};

struct trailing_garbage : any {};
struct root : seq<ws, must<expr>, must<eof>> {};

}  // namespace portcullis::dsl::cel::grammar
