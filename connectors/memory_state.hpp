#pragma once
// ConnectorState in memory: for tests and for tools that need no
// durability. Thread-safe.

#include <map>
#include <mutex>
#include <utility>

#include "connectors/connector.hpp"

namespace portcullis::connectors {

class MemoryConnectorState final : public ConnectorState {
 public:
  std::optional<std::string> get(const std::string& scope, const std::string& key, Outcome& outcome) override {
    outcome = Outcome::success();
    std::lock_guard lock(mutex_);
    auto it = values_.find({scope, key});
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  Outcome put(const std::string& scope, const std::string& key, const std::string& value) override {
    std::lock_guard lock(mutex_);
    values_[{scope, key}] = value;
    return Outcome::success();
  }
  bool insert_if_absent(const std::string& scope, const std::string& key, const std::string& value,
                        Outcome& outcome) override {
    outcome = Outcome::success();
    std::lock_guard lock(mutex_);
    return values_.emplace(std::make_pair(scope, key), value).second;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::string> values_;
};

}  // namespace portcullis::connectors
