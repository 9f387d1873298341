#pragma once
// connectors::ConnectorState kept in the daemon's store, so what the remote
// connectors remember (the Jira issue of a request, the Slack messages of
// its cards, webhook deliveries already handled) survives a restart.

#include <memory>

#include "connectors/connector.hpp"
#include "runtime/clock.hpp"
#include "runtime/store.hpp"

namespace portcullis::runtime {

class StoreConnectorState final : public connectors::ConnectorState {
 public:
  StoreConnectorState(std::shared_ptr<Store> store, std::shared_ptr<const Clock> clock)
      : store_(std::move(store)), clock_(std::move(clock)) {}

  std::optional<std::string> get(const std::string& scope, const std::string& key,
                                 connectors::Outcome& outcome) override {
    auto value = store_->connector_state_get(scope, key);
    if (!value) {
      outcome = connectors::Outcome::transient_failure("cannot read connector state: " + value.error().message);
      return std::nullopt;
    }
    outcome = connectors::Outcome::success();
    return *value;
  }

  connectors::Outcome put(const std::string& scope, const std::string& key, const std::string& value) override {
    auto written = store_->connector_state_write(scope, key, value, true, clock_->now());
    if (!written) return connectors::Outcome::transient_failure("cannot write connector state: " + written.error().message);
    return connectors::Outcome::success();
  }

  bool insert_if_absent(const std::string& scope, const std::string& key, const std::string& value,
                        connectors::Outcome& outcome) override {
    auto written = store_->connector_state_write(scope, key, value, false, clock_->now());
    if (!written) {
      outcome = connectors::Outcome::transient_failure("cannot write connector state: " + written.error().message);
      return false;
    }
    outcome = connectors::Outcome::success();
    return *written;
  }

 private:
  std::shared_ptr<Store> store_;
  std::shared_ptr<const Clock> clock_;
};

}  // namespace portcullis::runtime
