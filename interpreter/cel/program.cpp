#include "interpreter/cel/program.hpp"

#include <re2/re2.h>

#include <array>
#include <optional>
#include <unordered_set>
#include <utility>

#include "dsl/cel/checker.hpp"
#include "interpreter/cel/functions.hpp"

namespace portcullis::interpreter::cel {

namespace dc = dsl::cel;

namespace detail {

struct Frame {
  const Value* slots;
  Value* locals;
  std::size_t budget;
};

class Node {
 public:
  virtual ~Node() = default;
  virtual Value eval(Frame& f) const = 0;
  // Non-null for constant nodes (used by constant folding).
  virtual const Value* constant() const { return nullptr; }

  // The source range of the expression this node evaluates; errors this
  // node creates are located there.
  dsl::cel::Span span;

 protected:
  Value located(Value v) const {
    if (v.is_error()) [[unlikely]] v.locate_error(span.begin, span.end);
    return v;
  }
};

}  // namespace detail

namespace {

using detail::Frame;
using detail::Node;
using NodePtr = std::unique_ptr<Node>;

// ---- Leaves ------------------------------------------------------------------
class ConstNode final : public Node {
 public:
  explicit ConstNode(Value v) : value_(std::move(v)) { value_.retain(); }
  Value eval(Frame& /*f*/) const override { return value_.borrow(); }
  const Value* constant() const override { return &value_; }

 private:
  Value value_;
};

class ErrorNode final : public Node {
 public:
  explicit ErrorNode(std::string message) : message_(std::move(message)) {}
  Value eval(Frame& /*f*/) const override { return located(Value::error(message_)); }

 private:
  std::string message_;
};

class SlotNode final : public Node {
 public:
  SlotNode(std::size_t slot, std::string name) : slot_(slot), name_(std::move(name)) {}
  Value eval(Frame& f) const override {
    const Value& v = f.slots[slot_];
    if (v.kind() == Kind::absent) [[unlikely]] {
      return located(Value::error("no value bound for variable '" + name_ + "'"));
    }
    return v.borrow();
  }

 private:
  std::size_t slot_;
  std::string name_;
};

class LocalNode final : public Node {
 public:
  explicit LocalNode(std::size_t index) : index_(index) {}
  Value eval(Frame& f) const override { return f.locals[index_].borrow(); }

 private:
  std::size_t index_;
};

// ---- Field selection -----------------------------------------------------------
Value zero_value(const dc::Type& t) {
  switch (t.kind) {
    case dc::TypeKind::bool_: return Value::boolean(false);
    case dc::TypeKind::int_: return Value::int64(0);
    case dc::TypeKind::uint_: return Value::uint64(0);
    case dc::TypeKind::double_: return Value::double_(0);
    case dc::TypeKind::string: return Value::string("");
    case dc::TypeKind::bytes: return Value::bytes("");
    case dc::TypeKind::list: return Value::list({});
    case dc::TypeKind::map: return Value::map({});
    case dc::TypeKind::duration: return Value::duration({});
    case dc::TypeKind::timestamp: return Value::timestamp({});
    default: return Value::null();
  }
}

class SelectNode final : public Node {
 public:
  SelectNode(NodePtr operand, std::string field, bool test_only,
             std::shared_ptr<const dc::ObjectType> static_type)
      : operand_(std::move(operand)),
        field_(std::move(field)),
        key_(KeyRef::of_string(field_)),
        test_only_(test_only),
        static_type_(std::move(static_type)) {
    if (static_type_) {
      static_index_ = *static_type_->field_index(field_);
      zero_ = zero_value(*static_type_->fields[static_index_].type);
      zero_.retain();
    }
  }

  Value eval(Frame& f) const override { return located(select(f)); }

 private:
  Value select(Frame& f) const {
    Value v = operand_->eval(f);
    switch (v.kind()) {
      case Kind::object: {
        const auto& o = v.as_object();
        std::size_t i = static_index_;
        const Value* zero = &zero_;
        Value dynamic_zero;
        if (o.type != static_type_) {
          auto idx = o.type->field_index(field_);
          if (!idx) {
            if (test_only_) return Value::error("no such field '" + field_ + "'");
            return Value::error("no such field '" + field_ + "' in " + o.type->name);
          }
          i = *idx;
          dynamic_zero = zero_value(*o.type->fields[i].type);
          zero = &dynamic_zero;
        }
        const Value& field = o.fields[i];
        if (test_only_) return Value::boolean(field.kind() != Kind::absent);
        if (field.kind() == Kind::absent) return zero->retained();
        return child_of(v, field);
      }
      case Kind::map: {
        const Value* found = v.as_map().find(key_);
        if (test_only_) return Value::boolean(found != nullptr);
        if (found == nullptr) return Value::error("no such key: '" + field_ + "'");
        return child_of(v, *found);
      }
      case Kind::error: return v;
      default:
        return Value::error("type '" + std::string(type_name(v)) + "' has no field '" + field_ + "'");
    }
  }

 private:
  NodePtr operand_;
  std::string field_;
  KeyRef key_;
  bool test_only_;
  std::shared_ptr<const dc::ObjectType> static_type_;
  std::size_t static_index_ = 0;
  Value zero_;
};

// ---- Logic ---------------------------------------------------------------------------
Value not_bool(const Value& v, const char* op) {
  if (v.is_error()) return v;
  return no_overload(op, &v, 1);
}

class AndNode final : public Node {
 public:
  AndNode(NodePtr a, NodePtr b) : a_(std::move(a)), b_(std::move(b)) {}
  Value eval(Frame& f) const override {
    Value l = a_->eval(f);
    if (l.kind() == Kind::bool_ && !l.as_bool()) return l;
    Value r = b_->eval(f);
    if (r.kind() == Kind::bool_) {
      if (!r.as_bool()) return r;
      if (l.kind() == Kind::bool_) return r;
    }
    if (l.kind() != Kind::bool_) return located(not_bool(l, "_&&_"));
    return located(not_bool(r, "_&&_"));
  }

 private:
  NodePtr a_, b_;
};

class OrNode final : public Node {
 public:
  OrNode(NodePtr a, NodePtr b) : a_(std::move(a)), b_(std::move(b)) {}
  Value eval(Frame& f) const override {
    Value l = a_->eval(f);
    if (l.kind() == Kind::bool_ && l.as_bool()) return l;
    Value r = b_->eval(f);
    if (r.kind() == Kind::bool_) {
      if (r.as_bool()) return r;
      if (l.kind() == Kind::bool_) return r;
    }
    if (l.kind() != Kind::bool_) return located(not_bool(l, "_||_"));
    return located(not_bool(r, "_||_"));
  }

 private:
  NodePtr a_, b_;
};

class NotNode final : public Node {
 public:
  explicit NotNode(NodePtr a) : a_(std::move(a)) {}
  Value eval(Frame& f) const override {
    Value v = a_->eval(f);
    if (v.kind() == Kind::bool_) return Value::boolean(!v.as_bool());
    return located(not_bool(v, "!_"));
  }

 private:
  NodePtr a_;
};

class TernaryNode final : public Node {
 public:
  TernaryNode(NodePtr c, NodePtr a, NodePtr b) : c_(std::move(c)), a_(std::move(a)), b_(std::move(b)) {}
  Value eval(Frame& f) const override {
    Value c = c_->eval(f);
    if (c.kind() != Kind::bool_) return located(not_bool(c, "_?_:_"));
    return c.as_bool() ? a_->eval(f) : b_->eval(f);
  }

 private:
  NodePtr c_, a_, b_;
};

// ---- Comparison and arithmetic ----------------------------------------------------
enum class Rel { eq, ne, lt, le, gt, ge };

template <Rel R>
class RelNode final : public Node {
 public:
  RelNode(NodePtr a, NodePtr b) : a_(std::move(a)), b_(std::move(b)) {}
  Value eval(Frame& f) const override {
    Value l = a_->eval(f);
    if (l.is_error()) return l;
    Value r = b_->eval(f);
    if (r.is_error()) return r;
    if constexpr (R == Rel::eq) {
      return equals(l, r);
    } else if constexpr (R == Rel::ne) {
      Value e = equals(l, r);
      return e.is_error() ? e : Value::boolean(!e.as_bool());
    } else {
      bool error = false;
      const int c = compare(l, r, error);
      if (error) {
        const Value args[2] = {l.borrow(), r.borrow()};
        return located(no_overload(
            R == Rel::lt ? "_<_" : R == Rel::le ? "_<=_" : R == Rel::gt ? "_>_" : "_>=_", args, 2));
      }
      if (c == 2) return Value::boolean(false);
      if constexpr (R == Rel::lt) return Value::boolean(c < 0);
      if constexpr (R == Rel::le) return Value::boolean(c <= 0);
      if constexpr (R == Rel::gt) return Value::boolean(c > 0);
      return Value::boolean(c >= 0);
    }
  }

 private:
  NodePtr a_, b_;
};

using BinaryFn = Value (*)(const Value&, const Value&);

class BinaryNode final : public Node {
 public:
  BinaryNode(BinaryFn fn, NodePtr a, NodePtr b) : fn_(fn), a_(std::move(a)), b_(std::move(b)) {}
  Value eval(Frame& f) const override {
    Value l = a_->eval(f);
    if (l.is_error()) return l;
    Value r = b_->eval(f);
    if (r.is_error()) return r;
    return located(fn_(l, r));
  }

 private:
  BinaryFn fn_;
  NodePtr a_, b_;
};

class NegNode final : public Node {
 public:
  explicit NegNode(NodePtr a) : a_(std::move(a)) {}
  Value eval(Frame& f) const override {
    Value v = a_->eval(f);
    if (v.is_error()) return v;
    return located(op_neg(v));
  }

 private:
  NodePtr a_;
};

// `x in [constant scalars]`: a hash set built at compile time.
class InSetNode final : public Node {
 public:
  InSetNode(NodePtr x, Value list) : x_(std::move(x)), list_(std::move(list)) {
    list_.retain();
    for (const auto& e : list_.as_list()) set_.insert(KeyRef::of(e));
  }
  Value eval(Frame& f) const override {
    Value v = x_->eval(f);
    if (v.is_error()) return v;
    const KeyRef k = KeyRef::of(v);
    if (k.cls == KeyRef::none) return Value::boolean(false);
    return Value::boolean(set_.count(k) != 0);
  }

 private:
  NodePtr x_;
  Value list_;  // owns the strings the set's keys point into
  std::unordered_set<KeyRef, KeyRefHash> set_;
};

// ---- Calls ----------------------------------------------------------------------------
class CallNode final : public Node {
 public:
  CallNode(Function fn, std::vector<NodePtr> args) : fn_(fn), args_(std::move(args)) {}
  Value eval(Frame& f) const override {
    std::array<Value, 3> argv;
    const std::size_t n = args_.size();
    for (std::size_t i = 0; i < n; ++i) {
      argv[i] = args_[i]->eval(f);
      if (argv[i].is_error()) return std::move(argv[i]);
    }
    // A function may return one of its arguments (dyn(x), string(s)); the
    // arguments die with argv, so the result must own what it points to.
    Value r = fn_(argv.data(), n);
    r.retain();
    return located(std::move(r));
  }

 private:
  Function fn_;
  std::vector<NodePtr> args_;
};

class MatchesConstNode final : public Node {
 public:
  MatchesConstNode(NodePtr text, std::unique_ptr<RE2> re) : text_(std::move(text)), re_(std::move(re)) {}
  Value eval(Frame& f) const override {
    Value t = text_->eval(f);
    if (t.is_error()) return t;
    if (t.kind() != Kind::string) return located(no_overload("matches", &t, 1));
    const std::string_view s = t.as_string();
    return Value::boolean(RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re_));
  }

 private:
  NodePtr text_;
  std::unique_ptr<RE2> re_;
};

class ListNode final : public Node {
 public:
  explicit ListNode(std::vector<NodePtr> items) : items_(std::move(items)) {}
  Value eval(Frame& f) const override {
    std::vector<Value> out;
    out.reserve(items_.size());
    for (const auto& n : items_) {
      Value v = n->eval(f);
      if (v.is_error()) return v;
      out.push_back(std::move(v));
    }
    return Value::list(std::move(out));
  }

 private:
  std::vector<NodePtr> items_;
};

class MapNode final : public Node {
 public:
  explicit MapNode(std::vector<std::pair<NodePtr, NodePtr>> entries) : entries_(std::move(entries)) {}
  Value eval(Frame& f) const override {
    std::vector<std::pair<Value, Value>> out;
    out.reserve(entries_.size());
    for (const auto& [kn, vn] : entries_) {
      Value k = kn->eval(f);
      if (k.is_error()) return k;
      Value v = vn->eval(f);
      if (v.is_error()) return v;
      out.emplace_back(std::move(k), std::move(v));
    }
    return located(Value::map(std::move(out)));
  }

 private:
  std::vector<std::pair<NodePtr, NodePtr>> entries_;
};

// ---- Comprehensions (expanded macros) --------------------------------------------
class ComprehensionNode final : public Node {
 public:
  ComprehensionNode(dc::MacroKind kind, std::string name, NodePtr range, std::size_t local,
                    NodePtr a, NodePtr b)
      : kind_(kind), name_(std::move(name)), range_(std::move(range)), local_(local), a_(std::move(a)), b_(std::move(b)) {}

  Value eval(Frame& f) const override {
    Value range = range_->eval(f);
    if (range.is_error()) return range;
    if (range.kind() == Kind::list) return located(run(f, range, range.as_list(), nullptr));
    if (range.kind() == Kind::map) return located(run(f, range, {}, &range.as_map()));
    return located(Value::error(name_ + "() needs a list or map, not " + std::string(type_name(range))));
  }

 private:
  Value run(Frame& f, const Value& /*range*/, const std::vector<Value>& items,
            const detail::MapObject* map) const {
    const std::size_t n = map ? map->entries.size() : items.size();
    Value first_error;
    bool have_error = false;
    std::size_t count = 0;
    std::vector<Value> out;
    for (std::size_t i = 0; i < n; ++i) {
      if (f.budget == 0) return Value::error("comprehension iteration limit exceeded");
      --f.budget;
      const Value& elem = map ? map->entries[i].first : items[i];
      f.locals[local_] = elem.borrow();
      switch (kind_) {
        case dc::MacroKind::all:
        case dc::MacroKind::exists: {
          Value r = a_->eval(f);
          const bool want = kind_ == dc::MacroKind::exists;
          if (r.kind() == Kind::bool_) {
            if (r.as_bool() == want) return Value::boolean(want);
          } else if (!have_error) {
            first_error = r.is_error() ? r.retained() : no_overload(name_, &r, 1);
            have_error = true;
          }
          break;
        }
        case dc::MacroKind::exists_one: {
          Value r = a_->eval(f);
          if (r.kind() != Kind::bool_) return r.is_error() ? r.retained() : no_overload(name_, &r, 1);
          if (r.as_bool()) ++count;
          break;
        }
        case dc::MacroKind::map: {
          Value r = a_->eval(f);
          if (r.is_error()) return r.retained();
          r.retain();
          out.push_back(std::move(r));
          break;
        }
        case dc::MacroKind::filter:
        case dc::MacroKind::map_filter: {
          Value keep = a_->eval(f);
          if (keep.kind() != Kind::bool_) return keep.is_error() ? keep.retained() : no_overload(name_, &keep, 1);
          if (!keep.as_bool()) break;
          if (kind_ == dc::MacroKind::filter) {
            out.push_back(elem.retained());
          } else {
            Value r = b_->eval(f);
            if (r.is_error()) return r.retained();
            r.retain();
            out.push_back(std::move(r));
          }
          break;
        }
      }
    }
    switch (kind_) {
      case dc::MacroKind::all: return have_error ? first_error : Value::boolean(true);
      case dc::MacroKind::exists: return have_error ? first_error : Value::boolean(false);
      case dc::MacroKind::exists_one: return Value::boolean(count == 1);
      default: return Value::list(std::move(out));
    }
  }

  dc::MacroKind kind_;
  std::string name_;
  NodePtr range_;
  std::size_t local_;
  NodePtr a_, b_;
};

// ---- The compiler ----------------------------------------------------------------------
class Compiler {
 public:
  Compiler(const dc::Env& env, const dc::CheckResult* checked, std::vector<dc::Issue>& issues)
      : env_(env), checked_(checked), issues_(issues) {}

  NodePtr compile(const dc::Expr& e) {
    NodePtr n = compile_inner(e);
    n->span = e.span;
    return n;
  }
  std::size_t locals() const { return max_locals_; }

 private:
  struct Local {
    std::string name;
    std::size_t index;
  };

  const Local* find_local(std::string_view name) const {
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }

  dc::TypePtr static_type(const dc::Expr& e) const {
    if (checked_ == nullptr || e.id >= checked_->node_types.size()) return nullptr;
    return checked_->node_types[e.id];
  }

  static bool all_constant(const std::vector<NodePtr>& nodes) {
    for (const auto& n : nodes) {
      if (n->constant() == nullptr) return false;
    }
    return true;
  }

  // Evaluates a node whose inputs are all constants once, at compile time;
  // errors are left to happen at run time (they may be absorbed by && / ||).
  static NodePtr try_fold(NodePtr n) {
    Frame frame{nullptr, nullptr, 0};
    Value v = n->eval(frame);
    if (v.is_error()) return n;
    return std::make_unique<ConstNode>(std::move(v));
  }

  NodePtr compile_inner(const dc::Expr& e) {
    switch (e.kind) {
      case dc::ExprKind::constant: return std::make_unique<ConstNode>(constant(e.constant));
      case dc::ExprKind::ident: return compile_ident(e);
      case dc::ExprKind::select: return compile_select(e);
      case dc::ExprKind::call: return compile_call(e);
      case dc::ExprKind::list: {
        std::vector<NodePtr> items;
        for (const auto& a : e.args) items.push_back(compile(*a));
        const bool constant = all_constant(items);
        NodePtr n = std::make_unique<ListNode>(std::move(items));
        return constant ? try_fold(std::move(n)) : std::move(n);
      }
      case dc::ExprKind::map: {
        std::vector<std::pair<NodePtr, NodePtr>> entries;
        bool constant = true;
        for (const auto& m : e.entries) {
          auto k = compile(*m.key);
          auto v = compile(*m.value);
          constant = constant && k->constant() && v->constant();
          entries.emplace_back(std::move(k), std::move(v));
        }
        NodePtr n = std::make_unique<MapNode>(std::move(entries));
        return constant ? try_fold(std::move(n)) : std::move(n);
      }
      case dc::ExprKind::message:
        return std::make_unique<ErrorNode>("message construction ('" + e.name + "{...}') is not supported");
      case dc::ExprKind::comprehension: {
        NodePtr range = compile(*e.target);
        const std::size_t index = scope_.size();
        scope_.push_back({e.iter_var, index});
        max_locals_ = std::max(max_locals_, scope_.size());
        NodePtr a = compile(*e.args.at(0));
        NodePtr b = e.args.size() > 1 ? compile(*e.args[1]) : nullptr;
        scope_.pop_back();
        return std::make_unique<ComprehensionNode>(e.macro, e.name, std::move(range), index, std::move(a),
                                                   std::move(b));
      }
    }
    return std::make_unique<ErrorNode>("unsupported expression");
  }

  static Value constant(const dc::Constant& c) {
    switch (c.index()) {
      case 0: return Value::null();
      case 1: return Value::boolean(std::get<bool>(c));
      case 2: return Value::int64(std::get<std::int64_t>(c));
      case 3: return Value::uint64(std::get<std::uint64_t>(c));
      case 4: return Value::double_(std::get<double>(c));
      case 5: return Value::string(std::get<std::string>(c));
      default: return Value::bytes(std::get<dc::Bytes>(c).data);
    }
  }

  NodePtr compile_ident(const dc::Expr& e) {
    std::string_view name = e.name;
    const bool rooted = name.starts_with('.');
    if (rooted) name.remove_prefix(1);
    if (!rooted) {
      if (const Local* l = find_local(name)) return std::make_unique<LocalNode>(l->index);
    }
    if (const dc::Variable* v = env_.find(name)) return std::make_unique<SlotNode>(v->slot, v->name);
    if (dc::is_type_name(name) && name != "dyn") return std::make_unique<ConstNode>(Value::type(name));
    return std::make_unique<ErrorNode>("undeclared reference to '" + std::string(name) + "'");
  }

  NodePtr compile_select(const dc::Expr& e) {
    if (auto q = dc::qualified_name(e)) {
      const std::string root = q->substr(0, q->find('.'));
      if (find_local(root) == nullptr) {
        if (const dc::Variable* v = env_.find(*q)) {
          if (e.test_only) return std::make_unique<ConstNode>(Value::boolean(true));
          return std::make_unique<SlotNode>(v->slot, v->name);
        }
        if (dc::is_type_name(*q)) return std::make_unique<ConstNode>(Value::type(*q));
      }
    }
    NodePtr operand = compile(*e.target);
    std::shared_ptr<const dc::ObjectType> object;
    if (auto t = static_type(*e.target); t && t->kind == dc::TypeKind::object && t->object &&
                                          t->object->field_index(e.name)) {
      object = t->object;
    }
    return std::make_unique<SelectNode>(std::move(operand), e.name, e.test_only, std::move(object));
  }

  NodePtr compile_call(const dc::Expr& e) {
    const std::string& fn = e.name;
    std::vector<NodePtr> args;
    if (e.target) args.push_back(compile(*e.target));
    for (const auto& a : e.args) args.push_back(compile(*a));
    const bool method = e.target != nullptr;
    const bool constant = all_constant(args);
    auto finish = [&](NodePtr n) { return constant ? try_fold(std::move(n)) : std::move(n); };

    if (!method) {
      if (fn == "_&&_" && args.size() == 2) return finish(std::make_unique<AndNode>(std::move(args[0]), std::move(args[1])));
      if (fn == "_||_" && args.size() == 2) return finish(std::make_unique<OrNode>(std::move(args[0]), std::move(args[1])));
      if (fn == "!_" && args.size() == 1) return finish(std::make_unique<NotNode>(std::move(args[0])));
      if (fn == "-_" && args.size() == 1) return finish(std::make_unique<NegNode>(std::move(args[0])));
      if (fn == "_?_:_" && args.size() == 3) {
        return finish(std::make_unique<TernaryNode>(std::move(args[0]), std::move(args[1]), std::move(args[2])));
      }
      if (args.size() == 2) {
        NodePtr a = std::move(args[0]);
        NodePtr b = std::move(args[1]);
        if (fn == "_==_") return finish(std::make_unique<RelNode<Rel::eq>>(std::move(a), std::move(b)));
        if (fn == "_!=_") return finish(std::make_unique<RelNode<Rel::ne>>(std::move(a), std::move(b)));
        if (fn == "_<_") return finish(std::make_unique<RelNode<Rel::lt>>(std::move(a), std::move(b)));
        if (fn == "_<=_") return finish(std::make_unique<RelNode<Rel::le>>(std::move(a), std::move(b)));
        if (fn == "_>_") return finish(std::make_unique<RelNode<Rel::gt>>(std::move(a), std::move(b)));
        if (fn == "_>=_") return finish(std::make_unique<RelNode<Rel::ge>>(std::move(a), std::move(b)));
        if (fn == "_+_") return finish(std::make_unique<BinaryNode>(op_add, std::move(a), std::move(b)));
        if (fn == "_-_") return finish(std::make_unique<BinaryNode>(op_sub, std::move(a), std::move(b)));
        if (fn == "_*_") return finish(std::make_unique<BinaryNode>(op_mul, std::move(a), std::move(b)));
        if (fn == "_/_") return finish(std::make_unique<BinaryNode>(op_div, std::move(a), std::move(b)));
        if (fn == "_%_") return finish(std::make_unique<BinaryNode>(op_mod, std::move(a), std::move(b)));
        if (fn == "_[_]") return finish(std::make_unique<BinaryNode>(op_index, std::move(a), std::move(b)));
        if (fn == "@in") {
          if (const Value* c = b->constant(); c && c->kind() == Kind::list && scalar_list(*c)) {
            return std::make_unique<InSetNode>(std::move(a), *c);
          }
          return finish(std::make_unique<BinaryNode>(op_in, std::move(a), std::move(b)));
        }
        args.clear();
        args.push_back(std::move(a));
        args.push_back(std::move(b));
      }
    }
    if (fn == "matches" && args.size() == 2 && args[1]->constant() &&
        args[1]->constant()->kind() == Kind::string) {
      const std::string_view pattern = args[1]->constant()->as_string();
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), opts);
      if (re->ok()) return std::make_unique<MatchesConstNode>(std::move(args[0]), std::move(re));
      if (checked_ != nullptr) issues_.push_back({e.args.back()->span, "invalid regular expression: " + re->error()});
      return std::make_unique<ErrorNode>("invalid regular expression: " + re->error());
    }
    if (args.size() <= 3) {
      if (Function f = find_function(fn, method, args.size())) {
        return finish(std::make_unique<CallNode>(f, std::move(args)));
      }
    }
    return std::make_unique<ErrorNode>("no such function '" + fn + "' with " + std::to_string(args.size()) +
                                       (method ? " arguments (receiver style)" : " arguments"));
  }

  static bool scalar_list(const Value& list) {
    if (list.as_list().size() < 4) return false;
    for (const auto& v : list.as_list()) {
      const Kind k = v.kind();
      if (k != Kind::string && k != Kind::int_ && k != Kind::uint_ && k != Kind::bool_) return false;
    }
    return true;
  }

  const dc::Env& env_;
  const dc::CheckResult* checked_;
  std::vector<dc::Issue>& issues_;
  std::vector<Local> scope_;
  std::size_t max_locals_ = 0;
};

}  // namespace

Program::~Program() = default;

Value Program::evaluate(const Activation& activation) const {
  if (activation.env_ptr() != env_) {
    return Value::error("activation was built for a different environment");
  }
  Frame frame{activation.slots(), nullptr, max_iterations_};
  Value result;
  if (locals_ <= 8) {
    std::array<Value, 8> locals;
    frame.locals = locals.data();
    result = root_->eval(frame);
    result.retain();
  } else {
    std::vector<Value> locals(locals_);
    frame.locals = locals.data();
    result = root_->eval(frame);
    result.retain();
  }
  return result;
}

CompileResult compile(const dc::Expr& expr, std::shared_ptr<const dc::Env> env, const CompileOptions& options) {
  CompileResult out;
  if (!env) env = std::make_shared<dc::Env>();
  std::optional<dc::CheckResult> checked;
  if (options.check) {
    checked = dc::check(expr, *env);
    out.type = checked->type;
    out.issues = checked->issues;
    if (!out.issues.empty()) return out;
  } else {
    out.type = dc::types::dyn();
  }
  Compiler compiler(*env, checked ? &*checked : nullptr, out.issues);
  NodePtr root = compiler.compile(expr);
  if (!out.issues.empty()) return out;
  std::shared_ptr<Program> program(new Program());
  program->env_ = std::move(env);
  program->type_ = out.type;
  program->root_ = std::move(root);
  program->locals_ = compiler.locals();
  program->max_iterations_ = options.max_iterations;
  out.program = std::move(program);
  return out;
}

CompileResult compile(std::string_view text, std::shared_ptr<const dc::Env> env, const CompileOptions& options) {
  dc::ParseResult parsed = dc::parse(text, options.parse);
  if (!parsed.ok()) {
    CompileResult out;
    out.issues = std::move(parsed.errors);
    return out;
  }
  return compile(*parsed.expr, std::move(env), options);
}

}  // namespace portcullis::interpreter::cel
