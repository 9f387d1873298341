#pragma once
// What the remote identity providers share above their wire protocol: the
// four GroupProvider calls, phrased the same way in every message
// ("okta.main: cannot add bob@acme.com to group "figma-editors": ..."), and
// an exception from a parser or allocator turned into a transient failure
// instead of escaping into the executor. A provider implements the three
// operations underneath; `what` is the phrase its messages start with.

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.hpp"

namespace portcullis::connectors {

class MembershipProvider : public GroupProvider {
 public:
  // Adding and removing are idempotent by nature in every provider here,
  // so the idempotency key is not sent.
  Outcome add_member(const std::string& group, const std::string& user, const std::string&) final {
    return guarded("cannot add " + user + " to group \"" + group + "\"",
                   [&](const std::string& what) { return change(true, group, user, what); });
  }

  Outcome remove_member(const std::string& group, const std::string& user, const std::string&) final {
    return guarded("cannot remove " + user + " from group \"" + group + "\"",
                   [&](const std::string& what) { return change(false, group, user, what); });
  }

  std::vector<std::string> members(const std::string& group, Outcome& outcome) final {
    std::vector<std::string> out;
    outcome = guarded("cannot list the members of group \"" + group + "\"",
                      [&](const std::string& what) { return list_members(group, what, out); });
    if (!outcome.ok()) out.clear();
    return out;
  }

  std::string find_user(const std::string& email, Outcome& outcome) final {
    std::string id;
    outcome = guarded("cannot find user " + email, [&](const std::string& what) { return lookup_user(email, what, id); });
    if (!outcome.ok()) id.clear();
    return id;
  }

 protected:
  // `name`: the provider as the policy names it ("okta.main").
  explicit MembershipProvider(std::string name) : name_(std::move(name)) {}

  virtual Outcome change(bool add, const std::string& group, const std::string& user, const std::string& what) = 0;
  // Sorted emails.
  virtual Outcome list_members(const std::string& group, const std::string& what, std::vector<std::string>& out) = 0;
  virtual Outcome lookup_user(const std::string& email, const std::string& what, std::string& id) = 0;

  // "okta.main: cannot add ...: "
  std::string prefix(const std::string& what) const { return name_ + ": " + what + ": "; }

 private:
  template <class F>
  Outcome guarded(const std::string& what, F&& body) {
    try {
      return body(what);
    } catch (const std::exception& e) {
      return Outcome::transient_failure(prefix(what) + "internal error: " + e.what());
    } catch (...) {
      return Outcome::transient_failure(prefix(what) + "internal error");
    }
  }

  std::string name_;
};

}  // namespace portcullis::connectors
