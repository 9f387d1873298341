#include "interpreter/directory.hpp"

#include <algorithm>

namespace portcullis::interpreter {

void Directory::put(Person person) {
  std::string email = person.email;
  for (const auto& [group, members] : groups_) {
    if (std::find(members.begin(), members.end(), email) != members.end() &&
        std::find(person.groups.begin(), person.groups.end(), group) == person.groups.end()) {
      person.groups.push_back(group);
    }
  }
  people_[email] = std::move(person);
}

void Directory::set_group(const std::string& group, std::vector<std::string> members) {
  for (const auto& email : members) {
    auto it = people_.find(email);
    if (it == people_.end()) continue;
    auto& groups = it->second.groups;
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
  }
  std::vector<std::string> sorted = members;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  sorted_groups_[group] = std::move(sorted);
  groups_[group] = std::move(members);
}

const Person* Directory::find_by_attribute(const std::string& key, const std::string& value) const {
  for (const auto& [email, person] : people_) {
    auto it = person.attributes.find(key);
    if (it != person.attributes.end() && it->is_string() && it->get_ref<const std::string&>() == value) return &person;
  }
  return nullptr;
}

const Person* Directory::find(const std::string& email) const {
  auto it = people_.find(email);
  return it == people_.end() ? nullptr : &it->second;
}

const std::vector<std::string>* Directory::members(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

const std::vector<std::string>* Directory::sorted_members(const std::string& group) const {
  auto it = sorted_groups_.find(group);
  return it == sorted_groups_.end() ? nullptr : &it->second;
}

void Directory::set_attribute(const std::string& email, const std::string& key, const nlohmann::json& value) {
  auto it = people_.find(email);
  if (it == people_.end()) {
    Person person;
    person.email = email;
    it = people_.emplace(email, std::move(person)).first;
  }
  Person& p = it->second;
  auto text = [&] { return value.is_string() ? value.get<std::string>() : value.dump(); };
  if (key == "name") p.name = text();
  else if (key == "department") p.department = text();
  else if (key == "employment") p.employment = text();
  else if (key == "location") p.location = text();
  else if (key == "title") p.title = text();
  else if (key == "manager") p.manager = text();
  else if (key == "groups" && value.is_array()) {
    p.groups.clear();
    for (const auto& g : value) p.groups.push_back(g.is_string() ? g.get<std::string>() : g.dump());
  } else {
    p.attributes[key] = value;
  }
}

std::optional<Directory> Directory::from_json(const nlohmann::json& json, std::string& error) {
  Directory directory;
  if (!json.is_object()) {
    error = "the directory must be a JSON object with `people` and `groups`";
    return std::nullopt;
  }
  if (json.contains("people")) {
    const auto& people = json["people"];
    if (!people.is_array()) {
      error = "`people` must be an array";
      return std::nullopt;
    }
    for (std::size_t i = 0; i < people.size(); ++i) {
      const auto& entry = people[i];
      if (!entry.is_object() || !entry.contains("email") || !entry["email"].is_string()) {
        error = "people[" + std::to_string(i) + "] has no string `email`";
        return std::nullopt;
      }
      const std::string email = entry["email"].get<std::string>();
      for (const auto& [key, value] : entry.items()) {
        if (key == "email") continue;
        if (key == "groups" && !value.is_array()) {
          error = "people[" + std::to_string(i) + "].groups must be an array";
          return std::nullopt;
        }
        directory.set_attribute(email, key, value);
      }
      if (!entry.contains("manager")) directory.set_attribute(email, "manager", "");
      if (entry.size() == 1) directory.set_attribute(email, "name", "");
    }
  }
  if (json.contains("groups")) {
    const auto& groups = json["groups"];
    if (!groups.is_object()) {
      error = "`groups` must be an object of group name to member emails";
      return std::nullopt;
    }
    for (const auto& [group, members] : groups.items()) {
      if (!members.is_array()) {
        error = "groups." + group + " must be an array of emails";
        return std::nullopt;
      }
      std::vector<std::string> list;
      for (const auto& m : members) {
        if (!m.is_string()) {
          error = "groups." + group + " has a member that is not a string";
          return std::nullopt;
        }
        list.push_back(m.get<std::string>());
      }
      directory.set_group(group, std::move(list));
    }
  }
  return directory;
}

}  // namespace portcullis::interpreter
