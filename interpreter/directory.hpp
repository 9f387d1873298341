#pragma once
// What the directory says: people, their managers and attributes, and the
// members of groups. The interpreter reads it as plain data passed in by the
// caller (the runtime fills it from the identity providers; `explain` and
// `test` from a JSON file and `given` statements), so decisions stay pure.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace portcullis::interpreter {

struct Person {
  std::string email;
  std::string name;
  std::string department;
  std::string employment;  // full_time, contractor, intern, ...
  std::string location;
  std::string title;
  std::string manager;      // email; empty when none
  std::vector<std::string> groups;
  nlohmann::json attributes = nlohmann::json::object();  // anything else
};

class Directory {
 public:
  // Adds or replaces a person.
  void put(Person person);
  // Sets a group's members (replacing any earlier list) and records the
  // membership on each person already known.
  void set_group(const std::string& group, std::vector<std::string> members);

  const Person* find(const std::string& email) const;
  // The first person (by email order) whose attribute `key` is the string
  // `value` ("slack_user_id", "jira_account_id"), or nullptr. A linear scan:
  // for webhooks, not for the decision path.
  const Person* find_by_attribute(const std::string& key, const std::string& value) const;
  // Members of a group, or nullptr when the directory does not know it.
  const std::vector<std::string>* members(const std::string& group) const;
  // The same members sorted, without duplicates (kept beside the list as
  // given, so approver lists need no sort per request).
  const std::vector<std::string>* sorted_members(const std::string& group) const;
  std::size_t size() const { return people_.size(); }

  // Parses {"people": [{email, name, manager, department, employment,
  // location, title, ...}], "groups": {"name": ["email", ...]}}. Fields
  // other than the known ones go into Person::attributes. On bad input
  // returns nullopt and sets `error` to a message naming the entry at fault.
  static std::optional<Directory> from_json(const nlohmann::json& json, std::string& error);

  // Sets one attribute of a person (creating the person when absent):
  // known field names set the field, `groups` takes a list, anything else
  // goes into attributes. Used by `given requester {...}` and `--attr`.
  void set_attribute(const std::string& email, const std::string& key, const nlohmann::json& value);

 private:
  std::map<std::string, Person> people_;
  std::map<std::string, std::vector<std::string>> groups_;
  std::map<std::string, std::vector<std::string>, std::less<>> sorted_groups_;
};

}  // namespace portcullis::interpreter
