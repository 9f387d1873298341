#include "dsl/cel/ast.hpp"

namespace portcullis::dsl::cel {

Expr::~Expr() {
  std::vector<ExprPtr> pending;
  auto take = [&pending](Expr& e) {
    if (e.target) pending.push_back(std::move(e.target));
    for (auto& a : e.args) pending.push_back(std::move(a));
    for (auto& m : e.entries) {
      pending.push_back(std::move(m.key));
      pending.push_back(std::move(m.value));
    }
    for (auto& f : e.fields) pending.push_back(std::move(f.value));
  };
  take(*this);
  while (!pending.empty()) {
    ExprPtr e = std::move(pending.back());
    pending.pop_back();
    if (e) take(*e);
  }
}

}  // namespace portcullis::dsl::cel
