#include "dsl/cel/env.hpp"

namespace portcullis::dsl::cel {

bool Env::declare(std::string name, TypePtr type) {
  if (index_.count(name) != 0) return false;
  const std::size_t slot = variables_.size();
  index_.emplace(name, slot);
  variables_.push_back({std::move(name), type ? std::move(type) : types::dyn(), slot});
  return true;
}

const Variable* Env::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &variables_[it->second];
}

}  // namespace portcullis::dsl::cel
