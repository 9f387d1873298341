#include "dsl/checker.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "dsl/cel/checker.hpp"
#include "dsl/condition_env.hpp"
#include "dsl/limits.hpp"
#include "dsl/suggest.hpp"

namespace portcullis::dsl {
namespace {

// What a provider, tracker or chat kind accepts.
struct KindSchema {
  std::string_view kind;
  std::vector<std::string> required;  // every one must be present
  std::vector<std::string> optional;
  std::vector<std::string> secrets;   // must be env()/file() references
  // Alternatives: at least one of these groups must be complete when the
  // kind supports several ways to authenticate.
  std::vector<std::vector<std::string>> auth_options;
};

const std::vector<KindSchema>& provider_schemas() {
  static const std::vector<KindSchema> schemas = {
      {"okta", {"url"}, {"token", "client_id", "private_key", "key_id", "scopes", "description"},
       {"token", "private_key"}, {{"token"}, {"client_id", "private_key"}}},
      {"entra", {"tenant", "client_id", "client_secret"}, {"graph_url", "login_url", "description"},
       {"client_secret"}, {}},
      {"google", {"domain", "service_account", "admin_email"}, {"customer", "api_url", "token_url", "description"},
       {"service_account"}, {}},
      {"scim", {"url", "token"}, {"description"}, {"token"}, {}},
      {"sandbox", {}, {"description"}, {}, {}},
  };
  return schemas;
}

const std::vector<KindSchema>& tracker_schemas() {
  static const std::vector<KindSchema> schemas = {
      {"jira",
       {"url", "project", "approved_status", "user", "token"},
       {"denied_status", "issue_type", "webhook_secret", "transitions", "app_field", "role_field", "duration_field",
        "description"},
       {"token", "webhook_secret"},
       {}},
      {"sandbox", {}, {"description"}, {}, {}},
  };
  return schemas;
}

const std::vector<KindSchema>& chat_schemas() {
  static const std::vector<KindSchema> schemas = {
      {"slack", {"channel", "token", "signing_secret"}, {"api_url", "description"}, {"token", "signing_secret"}, {}},
      {"sandbox", {}, {"channel", "description"}, {}, {}},
  };
  return schemas;
}

const std::vector<std::string> kRequirements = {"justification", "ticket"};
const std::vector<std::string> kStates = {"submitted",   "awaiting_approval", "approved", "provisioning",
                                          "active",      "awaiting_fulfilment", "deprovisioning", "expired",
                                          "revoked",     "denied",            "cancelled", "failed"};

// Literal values that are unmistakably credentials, whatever the key.
bool looks_like_secret(const std::string& value) {
  static constexpr std::string_view kPrefixes[] = {"xoxb-", "xoxp-", "xoxa-", "xapp-", "SSWS ", "ghp_",
                                                   "github_pat_", "AKIA", "-----BEGIN", "glpat-", "sk_live_"};
  for (auto prefix : kPrefixes) {
    if (value.starts_with(prefix)) return true;
  }
  return false;
}

bool valid_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string backtick(std::string_view s) { return "`" + std::string(s) + "`"; }

template <typename Map>
std::vector<std::string> keys_of(const Map& map) {
  std::vector<std::string> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// A definition and whether its file is a module (exempt from unused
// warnings) — plus whether anything refers to it.
template <typename T>
struct Entry {
  const T* node = nullptr;
  bool in_module = false;
  bool used = false;
};

class Checker {
 public:
  Checker(const Program& program, Diagnostics& out) : program_(program), out_(out) {}

  void run() {
    collect();
    for (const auto& [key, entry] : providers_) check_settings(*entry.node, provider_schemas(), "provider");
    for (const auto* integration : integrations_) {
      check_settings(*integration,
                     integration->role == ast::Integration::Role::tracker ? tracker_schemas() : chat_schemas(),
                     integration->role == ast::Integration::Role::tracker ? "tracker" : "chat");
    }
    for (const auto& [name, entry] : pools_) check_pool(*entry.node);
    for (const auto& [name, entry] : buckets_) check_settings_block(entry.node->settings, nullptr, "bucket");
    for (const auto* bucket : bucket_list_) check_bucket_expiry(*bucket);
    for (const auto* app : app_list_) check_app(*app);
    for (const auto* conflict : conflicts_) check_conflict(*conflict);
    for (const auto* review : reviews_) check_review(*review);
    for (const auto* test : tests_) check_test(*test);
    report_unused();
  }

 private:
  // ---- symbol tables ------------------------------------------------------

  template <typename T, typename Map>
  void define(Map& table, const std::string& key, const T& node, const Span& where, std::string_view what,
              bool in_module) {
    auto [it, inserted] = table.try_emplace(key, Entry<T>{&node, in_module, false});
    if (!inserted) {
      auto& d = out_.error(Code::duplicate_definition, where, std::string(what) + " " + backtick(key) + " is defined twice");
      d.notes.push_back({span_of(*it->second.node), "first defined here"});
    }
  }

  static Span span_of(const ast::Provider& p) { return p.name.span; }
  static Span span_of(const ast::Pool& p) { return p.name.span; }
  static Span span_of(const ast::Bucket& b) { return b.name.span; }
  static Span span_of(const ast::App& a) { return a.name.span; }

  void collect() {
    std::map<std::string, Span> conflict_names, review_names, test_names;
    std::map<std::string, Span> integration_roles;
    for (const auto& file : program_.files) {
      const bool in_module = !file.all<ast::Module>().empty();
      for (const auto& unparsed : file.unparsed) unparsed_.insert(unparsed.keyword + " " + unparsed.name);
      for (const auto& item : file.items) {
        if (const auto* p = std::get_if<ast::Provider>(&item)) {
          define(providers_, p->kind.name + "." + p->name.value, *p, p->name.span, "provider", in_module);
        } else if (const auto* pool = std::get_if<ast::Pool>(&item)) {
          define(pools_, pool->name.name, *pool, pool->name.span, "approver pool", in_module);
        } else if (const auto* bucket = std::get_if<ast::Bucket>(&item)) {
          define(buckets_, bucket->name.name, *bucket, bucket->name.span, "bucket", in_module);
          bucket_list_.push_back(bucket);
        } else if (const auto* app = std::get_if<ast::App>(&item)) {
          define(apps_, app->name.name, *app, app->name.span, "app", in_module);
          app_list_.push_back(app);
        } else if (const auto* integration = std::get_if<ast::Integration>(&item)) {
          const std::string role = integration->role == ast::Integration::Role::tracker ? "tracker" : "chat";
          if (auto [it, inserted] = integration_roles.try_emplace(role, integration->kind.span); !inserted) {
            auto& d = out_.error(Code::duplicate_definition, integration->kind.span,
                                 "a policy has one " + role + "; this is the second");
            d.notes.push_back({it->second, "first defined here"});
          }
          integrations_.push_back(integration);
        } else if (const auto* conflict = std::get_if<ast::Conflict>(&item)) {
          unique_name(conflict_names, conflict->name.value, conflict->name.span, "conflict");
          conflicts_.push_back(conflict);
        } else if (const auto* review = std::get_if<ast::Review>(&item)) {
          unique_name(review_names, review->name.name, review->name.span, "review");
          reviews_.push_back(review);
        } else if (const auto* test = std::get_if<ast::Test>(&item)) {
          unique_name(test_names, test->name.value, test->name.span, "test");
          tests_.push_back(test);
        }
      }
    }
  }

  void unique_name(std::map<std::string, Span>& seen, const std::string& name, const Span& where,
                   std::string_view what) {
    if (auto [it, inserted] = seen.try_emplace(name, where); !inserted) {
      auto& d = out_.error(Code::duplicate_definition, where, std::string(what) + " " + backtick(name) + " is defined twice");
      d.notes.push_back({it->second, "first defined here"});
    }
  }

  // ---- lookups with did-you-mean ----------------------------------------

  // Whether `keyword name` failed to parse: references to it are not
  // reported, since the syntax error already was.
  bool unparsed(std::string_view keyword, const std::string& name) const {
    return unparsed_.count(std::string(keyword) + " " + name) > 0;
  }

  static std::string_view keyword_of(Code code) {
    switch (code) {
      case Code::unknown_bucket: return "bucket";
      case Code::unknown_app: return "app";
      case Code::unknown_pool: return "approvers";
      default: return "";
    }
  }

  template <typename Map>
  auto* lookup(Map& table, const ast::Identifier& name, Code code, std::string_view what) {
    auto it = table.find(name.name);
    if (it != table.end()) {
      it->second.used = true;
      return &it->second;
    }
    if (unparsed(keyword_of(code), name.name)) return static_cast<decltype(&it->second)>(nullptr);
    auto& d = out_.error(code, name.span, "unknown " + std::string(what) + " " + backtick(name.name));
    const auto candidates = keys_of(table);
    suggest(d, name.name, candidates, what);
    // The name it was probably meant to be is not "unused": one typo, one
    // diagnostic.
    if (auto best = closest_match(name.name, candidates)) table.find(*best)->second.used = true;
    return static_cast<decltype(&it->second)>(nullptr);
  }

  void suggest(Diagnostic& d, const std::string& name, const std::vector<std::string>& candidates,
               std::string_view what) {
    if (auto best = closest_match(name, candidates)) {
      d.help = "did you mean " + backtick(*best) + "?";
    } else if (candidates.empty()) {
      d.help = "no " + std::string(what) + " is defined";
    } else if (candidates.size() <= 8) {
      std::string list;
      for (const auto& c : candidates) list += (list.empty() ? "" : ", ") + backtick(c);
      d.help = "defined: " + list;
    }
  }

  const ast::Bucket* bucket(const ast::Identifier& name) {
    auto* entry = lookup(buckets_, name, Code::unknown_bucket, "bucket");
    return entry ? entry->node : nullptr;
  }

  const ast::Pool* pool(const std::string& name, const Span& span) {
    auto* entry = lookup(pools_, ast::Identifier{name, span}, Code::unknown_pool, "approver pool");
    return entry ? entry->node : nullptr;
  }

  const ast::Role* role(const ast::QualifiedName& name) {
    auto* app_entry = lookup(apps_, name.first, Code::unknown_app, "app");
    if (!app_entry) return nullptr;
    const auto& roles = app_entry->node->roles;
    for (const auto& r : roles) {
      if (r.name.name == name.second.name) return &r;
    }
    auto& d = out_.error(Code::unknown_role, name.second.span,
                         "app " + backtick(name.first.name) + " has no role " + backtick(name.second.name));
    std::vector<std::string> names;
    for (const auto& r : roles) names.push_back(r.name.name);
    suggest(d, name.second.name, names, "role");
    return nullptr;
  }

  void provider(const ast::QualifiedName& name) {
    const std::string key = name.text();
    if (auto it = providers_.find(key); it != providers_.end()) {
      it->second.used = true;
      return;
    }
    // Same name under another kind?
    for (auto& [other_key, entry] : providers_) {
      if (entry.node->name.value == name.second.name) {
        auto& d = out_.error(Code::provider_kind_mismatch, name.span,
                             "provider " + backtick(name.second.name) + " is of kind " +
                                 backtick(entry.node->kind.name) + ", not " + backtick(name.first.name));
        d.notes.push_back({entry.node->span, "defined here"});
        d.help = "write " + backtick(other_key);
        entry.used = true;
        return;
      }
    }
    if (unparsed("provider", key)) return;
    auto& d = out_.error(Code::unknown_provider, name.span, "unknown provider " + backtick(key));
    const auto candidates = keys_of(providers_);
    suggest(d, key, candidates, "provider");
    if (auto best = closest_match(key, candidates)) providers_.find(*best)->second.used = true;
  }

  // ---- providers, trackers, chats -----------------------------------------

  template <typename Node>
  void check_settings(const Node& node, const std::vector<KindSchema>& schemas, std::string_view what) {
    const KindSchema* schema = nullptr;
    for (const auto& s : schemas) {
      if (s.kind == node.kind.name) schema = &s;
    }
    if (!schema) {
      auto& d = out_.error(Code::unknown_provider_kind, node.kind.span,
                           "unknown " + std::string(what) + " kind " + backtick(node.kind.name));
      std::vector<std::string> kinds;
      for (const auto& s : schemas) kinds.emplace_back(s.kind);
      suggest(d, node.kind.name, kinds, std::string(what) + " kind");
      return;
    }
    std::map<std::string, const ast::Setting*> seen;
    for (const auto& setting : node.settings) {
      const std::string& key = setting.key.name;
      if (auto [it, inserted] = seen.try_emplace(key, &setting); !inserted) {
        auto& d = out_.error(Code::duplicate_field, setting.key.span, "setting " + backtick(key) + " is given twice");
        d.notes.push_back({it->second->key.span, "first given here"});
        continue;
      }
      const bool known = std::count(schema->required.begin(), schema->required.end(), key) ||
                         std::count(schema->optional.begin(), schema->optional.end(), key);
      if (!known) {
        auto& d = out_.error(Code::unknown_setting, setting.key.span,
                             std::string(what) + " kind " + backtick(schema->kind) + " has no setting " + backtick(key));
        std::vector<std::string> names = schema->required;
        names.insert(names.end(), schema->optional.begin(), schema->optional.end());
        suggest(d, key, names, "setting");
        continue;
      }
      const bool secret = std::count(schema->secrets.begin(), schema->secrets.end(), key) > 0;
      check_secret(setting, secret);
    }
    if (schema->kind == "jira" && seen.count("transitions")) check_transitions(*seen["transitions"]);
    for (const auto& key : schema->required) {
      if (!seen.count(key)) {
        auto& d = out_.error(Code::missing_setting, node.kind.span,
                             std::string(what) + " " + backtick(schema->kind) + " needs the setting " + backtick(key));
        d.help = "add `" + key + ": ...` to the block";
      }
    }
    if (!schema->auth_options.empty()) {
      const bool satisfied = std::any_of(schema->auth_options.begin(), schema->auth_options.end(), [&](const auto& option) {
        return std::all_of(option.begin(), option.end(), [&](const std::string& key) { return seen.count(key) > 0; });
      });
      if (!satisfied) {
        auto& d = out_.error(Code::missing_setting, node.kind.span,
                             std::string(what) + " " + backtick(schema->kind) + " has no credentials");
        std::string options;
        for (const auto& option : schema->auth_options) {
          std::string group;
          for (const auto& key : option) group += (group.empty() ? "" : " + ") + key;
          options += (options.empty() ? "" : ", or ") + group;
        }
        d.help = "give " + options;
      }
    }
  }

  // `transitions: ["approved=Approved", "expired=Done"]`: request state =
  // the Jira status the issue moves to when the request gets there.
  void check_transitions(const ast::Setting& setting) {
    std::vector<const ast::Value*> items;
    if (const auto* list = std::get_if<ast::ListValue>(&setting.value.data)) {
      for (const auto& item : list->items) items.push_back(&item);
    } else {
      items.push_back(&setting.value);
    }
    for (const auto* item : items) {
      const auto* text = std::get_if<ast::StringLit>(&item->data);
      const auto eq = text ? text->value.find('=') : std::string::npos;
      const std::string state = eq == std::string::npos ? "" : text->value.substr(0, eq);
      const bool known = std::count(kStates.begin(), kStates.end(), state) > 0;
      if (text && eq != std::string::npos && eq + 1 < text->value.size() && known) continue;
      auto& d = out_.error(Code::invalid_value, item->span,
                           "transitions: each entry is \"STATE=Jira status\" with STATE a request state");
      if (text && eq != std::string::npos && !known) suggest(d, state, kStates, "state");
      d.help = "write e.g. \"approved=Approved\" or \"expired=Done\"";
    }
  }

  // Literal strings inside a list value that look like credentials.
  void check_list_for_secrets(const ast::Setting& setting, const ast::ListValue& list) {
    for (const auto& item : list.items) {
      if (const auto* literal = std::get_if<ast::StringLit>(&item.data); literal && looks_like_secret(literal->value)) {
        auto& d = out_.error(Code::literal_secret, item.span, "a credential is written in setting " + backtick(setting.key.name));
        d.help = "reference secrets with env(\"NAME\") or file(\"path\")";
      } else if (const auto* nested = std::get_if<ast::ListValue>(&item.data)) {
        check_list_for_secrets(setting, *nested);
      }
    }
  }

  void check_secret(const ast::Setting& setting, bool must_be_reference) {
    if (const auto* list = std::get_if<ast::ListValue>(&setting.value.data)) {
      check_list_for_secrets(setting, *list);
    }
    if (const auto* ref = std::get_if<ast::SecretRef>(&setting.value.data)) {
      const bool env = ref->kind == ast::SecretRef::Kind::env;
      if (env ? !valid_env_name(ref->target.value) : ref->target.value.empty()) {
        auto& d = out_.error(Code::invalid_secret_ref, ref->target.span,
                             env ? "invalid environment variable name " + backtick(ref->target.value)
                                 : std::string("empty file path"));
        d.help = env ? "names are letters, digits and `_`, not starting with a digit" : "give the secret file's path";
      }
      return;
    }
    const auto* literal = std::get_if<ast::StringLit>(&setting.value.data);
    if (must_be_reference || (literal && looks_like_secret(literal->value))) {
      // Never echo the value: it may be a live credential.
      auto& d = out_.error(Code::literal_secret, setting.value.span,
                           "secret " + backtick(setting.key.name) + " is written in the policy");
      std::string upper;
      for (char c : setting.key.name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      d.help = "reference it instead: " + setting.key.name + ": env(\"" + upper + "\") or file(\"/run/secrets/" +
               setting.key.name + "\")";
    }
  }

  // ---- pools and approvers ------------------------------------------------

  void check_pool(const ast::Pool& pool) {
    if (pool.source.kind == ast::Approver::Kind::people) check_people(pool.source);
  }

  void check_people(const ast::Approver& approver) {
    std::map<std::string, Span> seen;
    for (const auto& person : approver.people) {
      if (auto [it, inserted] = seen.try_emplace(person.value, person.span); !inserted) {
        auto& d = out_.error(Code::duplicate_definition, person.span, backtick(person.value) + " is listed twice");
        d.notes.push_back({it->second, "first listed here"});
      }
    }
  }

  // How many distinct people can approve for `approver`, when known
  // statically (named people); nullopt for groups, whose size the directory
  // decides.
  std::optional<std::size_t> approver_count(const ast::Approver& approver) {
    switch (approver.kind) {
      case ast::Approver::Kind::person:
      case ast::Approver::Kind::manager: return 1;
      case ast::Approver::Kind::people: return approver.people.size();
      case ast::Approver::Kind::pool: {
        auto it = pools_.find(approver.name);
        if (it == pools_.end()) return std::nullopt;
        return approver_count(it->second.node->source);
      }
      default: return std::nullopt;
    }
  }

  // Checks one approver reference; `app` (may be null) is the app whose
  // requests it approves, for `app.owner`.
  void check_approver(const ast::Approver& approver, const ast::App* app) {
    switch (approver.kind) {
      case ast::Approver::Kind::pool: pool(approver.name, approver.span); break;
      case ast::Approver::Kind::people: check_people(approver); break;
      case ast::Approver::Kind::app_owner:
        if (app && !app->owner) {
          auto& d = out_.error(Code::missing_owner, approver.span,
                               "`app.owner` approves here, but app " + backtick(app->name.name) + " has no owner");
          d.notes.push_back({app->name.span, "app defined here"});
          d.help = "add `owner: \"person@example.com\"` (or a group or pool) to the app";
        }
        break;
      default: break;
    }
  }

  void check_route(const ast::Route& route, const ast::App* app) {
    for (std::size_t b = 0; b < route.branches.size(); ++b) {
      const auto& branch = route.branches[b];
      const bool last = b + 1 == route.branches.size();
      if (!last && !branch.when) {
        auto& d = out_.error(Code::unsatisfiable_route, route.branches[b + 1].span,
                             "this branch is never reached: the branch before it has no `when`");
        d.notes.push_back({branch.span, "this branch always applies"});
      }
      if (last && branch.when) {
        auto& d = out_.error(Code::route_without_else, branch.when->span,
                             "a route with `when` needs an `else` for requests where the condition is false");
        d.help = "add `else <route>`, for example `else manager` or `else deny \"reason\"`";
      }
      for (std::size_t s = 0; s < branch.steps.size(); ++s) {
        const auto& step = branch.steps[s];
        check_approver(step.approver, app);
        const bool terminal = step.approver.kind == ast::Approver::Kind::automatic ||
                              step.approver.kind == ast::Approver::Kind::deny;
        if (terminal && branch.steps.size() > 1) {
          out_.error(Code::unsatisfiable_route, step.span,
                     backtick(ast::to_source(step.approver)) + " decides the request on its own and cannot be "
                                                               "combined with other steps");
        }
        if (!step.quorum) continue;
        const auto n = step.quorum->value;
        if (n < 1) {
          out_.error(Code::quorum_too_small, step.quorum->span, "a quorum must be at least 1");
          continue;
        }
        if (static_cast<std::size_t>(n) > limits::kMaxQuorum) {
          out_.error(Code::quorum_exceeds_pool, step.quorum->span,
                     "a quorum of " + std::to_string(n) + " is above the limit of " + std::to_string(limits::kMaxQuorum));
          continue;
        }
        if (terminal || step.approver.kind == ast::Approver::Kind::app_owner) {
          if (terminal || n > 1) {
            if (step.approver.kind == ast::Approver::Kind::app_owner && app && app->owner) {
              const auto owners = approver_count(*app->owner);
              if (!owners || static_cast<std::size_t>(n) <= *owners) continue;
            } else if (step.approver.kind == ast::Approver::Kind::app_owner) {
              continue;  // checked per app
            }
            out_.error(Code::unsatisfiable_route, step.span,
                       backtick(ast::to_source(step)) + " can never be satisfied");
          }
          continue;
        }
        if (const auto count = approver_count(step.approver); count && static_cast<std::size_t>(n) > *count) {
          auto& d = out_.error(Code::quorum_exceeds_pool, step.span,
                               backtick(ast::to_source(step)) + " needs " + std::to_string(n) + " approvers, but only " +
                                   std::to_string(*count) + (*count == 1 ? " person" : " people") + " can approve");
          if (step.approver.kind == ast::Approver::Kind::pool) {
            if (auto it = pools_.find(step.approver.name); it != pools_.end()) {
              d.notes.push_back({it->second.node->span, "pool defined here"});
            }
          }
        }
      }
    }
  }

  // ---- conditions -----------------------------------------------------------

  // Parses and type-checks one CEL condition against the attributes its
  // place allows; positions inside the condition map back to the file.
  void check_condition(const ast::Condition& condition, const cel::Env& env) {
    // Large catalogs repeat the same few conditions thousands of times:
    // analyse each distinct text once per environment.
    const std::string key = std::to_string(reinterpret_cast<std::uintptr_t>(&env)) + '\n' + condition.text;
    auto cached = analyses_.find(key);
    if (cached == analyses_.end()) cached = analyses_.emplace(key, cel::analyze(condition.text, env)).first;
    const cel::Analysis& analysis = cached->second;
    auto span_of = [&](const cel::Span& s) {
      const std::uint32_t begin = condition.span.begin + static_cast<std::uint32_t>(s.begin);
      const std::uint32_t end = condition.span.begin + static_cast<std::uint32_t>(std::max(s.end, s.begin + 1));
      return Span::make(condition.span.file, begin, std::min(end, condition.span.end));
    };
    for (const auto& issue : analysis.issues) {
      std::string message = issue.message;
      std::optional<std::string> help;
      if (const auto open = message.find(" (did you mean '"); open != std::string::npos) {
        const auto close = message.find("'?)", open);
        if (close != std::string::npos) {
          help = "did you mean `" + message.substr(open + 16, close - open - 16) + "`?";
          message.erase(open);
        }
      }
      message = readable(std::move(message));
      Code code = Code::condition_type;
      if (!analysis.expr) {
        code = Code::condition_syntax;
      } else if (issue.message.starts_with("undeclared") || issue.message.find(" has no field ") != std::string::npos) {
        code = Code::unknown_attribute;
      }
      auto& d = out_.error(code, span_of(issue.span), message);
      d.help = help;
      if (code == Code::unknown_attribute && !help) d.help = "see docs/language.md for the attributes conditions can use";
    }
    if (analysis.ok() && analysis.type && analysis.type->kind != cel::TypeKind::bool_ &&
        analysis.type->kind != cel::TypeKind::dyn) {
      auto& d = out_.error(Code::condition_type, condition.span,
                           "a condition must be true or false, but this one is " + type_name(*analysis.type));
      d.help = "compare it with something, for example `... == \"value\"`";
    }
  }

  // The checker names object types by their internal names; say what they
  // are in the policy's words.
  static std::string readable(std::string message) {
    static const std::pair<std::string_view, std::string_view> kNames[] = {
        {"'portcullis.Person' has no field", "`requester` has no attribute"},
        {"'portcullis.Request' has no field", "`request` has no attribute"},
        {"'portcullis.App' has no field", "`app` has no attribute"},
        {"'portcullis.Role' has no field", "`role` has no attribute"},
        {"'portcullis.Member' has no field", "`member` has no attribute"},
        {"undeclared reference to", "unknown name"},
        {"'portcullis.Person'", "a person"},
        {"'portcullis.Request'", "a request"},
        {"'portcullis.App'", "an app"},
        {"'portcullis.Role'", "a role"},
        {"'portcullis.Member'", "a member"},
    };
    for (const auto& [from, to] : kNames) {
      for (auto at = message.find(from); at != std::string::npos; at = message.find(from, at + to.size())) {
        message.replace(at, from.size(), to);
      }
    }
    // Names in backticks, as every other diagnostic writes them.
    for (auto open = message.find('\''); open != std::string::npos; open = message.find('\'', open + 1)) {
      const auto close = message.find('\'', open + 1);
      if (close == std::string::npos) break;
      message[open] = '`';
      message[close] = '`';
      open = close;
    }
    return message;
  }

  static std::string type_name(const cel::Type& type) {
    switch (type.kind) {
      case cel::TypeKind::int_: return "an int";
      case cel::TypeKind::uint_: return "a uint";
      case cel::TypeKind::double_: return "a double";
      case cel::TypeKind::string: return "a string";
      case cel::TypeKind::bytes: return "bytes";
      case cel::TypeKind::list: return "a list";
      case cel::TypeKind::map: return "a map";
      case cel::TypeKind::timestamp: return "a timestamp";
      case cel::TypeKind::duration: return "a duration";
      case cel::TypeKind::null_type: return "null";
      case cel::TypeKind::object: return "an object";
      default: return "not a boolean";
    }
  }

  void check_route_conditions(const ast::Route& route) {
    for (const auto& branch : route.branches) {
      if (branch.when) check_condition(*branch.when, *condition_envs().route);
    }
  }

  // ---- shared settings ------------------------------------------------------

  // Checks the fields of one Settings block in isolation; `app` is the app
  // the block belongs to (null for a bucket).
  void check_settings_block(const ast::Settings& settings, const ast::App* app, std::string_view) {
    if (settings.bucket) bucket(*settings.bucket);
    if (settings.approve) {
      check_route(*settings.approve, app);
      check_route_conditions(*settings.approve);
    }
    if (settings.duration) check_duration(*settings.duration);
    if (settings.renew && static_cast<std::size_t>(settings.renew->max_times.value) > limits::kMaxListItems) {
      out_.error(Code::invalid_count, settings.renew->max_times.span, "too many renewals");
    }
    if (settings.remind && settings.remind->seconds == 0) {
      out_.error(Code::invalid_value, settings.remind->span, "a reminder after 0s would fire at once");
    }
    if (settings.escalate) {
      if (settings.escalate->after.seconds == 0) {
        out_.error(Code::invalid_value, settings.escalate->after.span, "an escalation after 0s would fire at once");
      }
      check_approver(settings.escalate->to, app);
      if (settings.escalate->to.kind == ast::Approver::Kind::automatic ||
          settings.escalate->to.kind == ast::Approver::Kind::deny) {
        out_.error(Code::invalid_value, settings.escalate->to.span,
                   "escalate to a person, group or pool, not " + backtick(ast::to_source(settings.escalate->to)));
      }
    }
    if (settings.require) {
      std::set<std::string> seen;
      for (const auto& field : settings.require->fields) {
        if (!std::count(kRequirements.begin(), kRequirements.end(), field.name)) {
          auto& d = out_.error(Code::invalid_value, field.span, "a request cannot be required to carry " + backtick(field.name));
          suggest(d, field.name, kRequirements, "requirement");
        } else if (!seen.insert(field.name).second) {
          out_.error(Code::duplicate_field, field.span, backtick(field.name) + " is required twice");
        }
      }
    }
  }

  void check_duration(const ast::DurationSpec& spec) {
    std::map<std::int64_t, Span> seen;
    for (const auto& d : spec.allowed) {
      if (d.seconds == 0) {
        out_.error(Code::invalid_duration_set, d.span, "a grant of 0s is no grant");
      } else if (auto [it, inserted] = seen.try_emplace(d.seconds, d.span); !inserted) {
        auto& diag = out_.error(Code::invalid_duration_set, d.span, "duration " + backtick(d.span.text()) + " is listed twice");
        diag.notes.push_back({it->second, "first listed here"});
      }
    }
    if (spec.maximum && spec.maximum->seconds == 0) {
      out_.error(Code::invalid_duration_set, spec.maximum->span, "a maximum of 0s allows no grant");
    }
    if (!spec.default_duration) return;
    const auto& def = *spec.default_duration;
    if (spec.permanent) {
      auto& d = out_.error(Code::default_not_allowed, def.span, "a permanent grant has no default duration");
      d.help = "remove `default`, or allow durations with `one_of(...)` or `at_most D`";
    } else if (!spec.allowed.empty() || spec.allowed_permanent) {
      const bool listed = std::any_of(spec.allowed.begin(), spec.allowed.end(),
                                      [&](const ast::DurationLit& d) { return d.seconds == def.seconds; });
      if (!listed) {
        auto& d = out_.error(Code::default_not_allowed, def.span,
                             "default " + backtick(def.span.text()) + " is not one of the allowed durations");
        std::string list;
        for (const auto& a : spec.allowed) list += (list.empty() ? "" : ", ") + std::string(a.span.text());
        d.help = "allowed: " + list;
      }
    } else if (spec.maximum && def.seconds > spec.maximum->seconds) {
      auto& d = out_.error(Code::default_above_maximum, def.span,
                           "default " + backtick(def.span.text()) + " is longer than the maximum " +
                               backtick(spec.maximum->span.text()));
      d.notes.push_back({spec.maximum->span, "maximum set here"});
    } else if (def.seconds == 0) {
      out_.error(Code::invalid_duration_set, def.span, "a default of 0s is no grant");
    }
  }

  static bool unbounded(const ast::DurationSpec* spec) {
    return !spec || spec->permanent || spec->allowed_permanent ||
           (spec->allowed.empty() && !spec->maximum);
  }

  static Span unbounded_span(const ast::DurationSpec& spec) {
    if (spec.permanent) return *spec.permanent;
    if (spec.allowed_permanent) return *spec.allowed_permanent;
    return spec.span;
  }

  void check_bucket_expiry(const ast::Bucket& bucket) {
    const auto& s = bucket.settings;
    if (s.expiry && s.expiry->required && s.duration && unbounded(&*s.duration)) {
      auto& d = out_.error(Code::expiry_unbounded, unbounded_span(*s.duration),
                           "bucket " + backtick(bucket.name.name) + " requires expiry but allows a permanent grant");
      d.notes.push_back({s.expiry->span, "expiry required here"});
    }
  }

  // ---- apps and roles -------------------------------------------------------

  void check_app(const ast::App& app) {
    if (app.owner) check_approver(*app.owner, &app);
    if (app.owner && (app.owner->kind == ast::Approver::Kind::automatic || app.owner->kind == ast::Approver::Kind::deny)) {
      out_.error(Code::invalid_value, app.owner->span, "an owner is a person, group or pool");
    }
    check_settings_block(app.settings, &app, "app");
    const ast::Bucket* app_bucket = app.settings.bucket ? find_bucket(app.settings.bucket->name) : nullptr;
    std::map<std::string, Span> role_names;
    std::vector<std::string> bucketless;
    for (const auto& role : app.roles) {
      if (auto [it, inserted] = role_names.try_emplace(role.name.name, role.name.span); !inserted) {
        auto& d = out_.error(Code::duplicate_definition, role.name.span,
                             "app " + backtick(app.name.name) + " defines role " + backtick(role.name.name) + " twice");
        d.notes.push_back({it->second, "first defined here"});
      }
      check_settings_block(role.settings, &app, "role");
      check_role_grants(app, role);
      const ast::Bucket* bucket = role.settings.bucket ? find_bucket(role.settings.bucket->name) : app_bucket;
      if (!role.settings.bucket && !app.settings.bucket) bucketless.push_back(role.name.name);
      check_effective(app, role, bucket);
    }
    if (!bucketless.empty()) {
      std::string list;
      for (const auto& r : bucketless) list += (list.empty() ? "" : ", ") + backtick(r);
      auto& d = out_.error(Code::missing_bucket, app.name.span,
                           "app " + backtick(app.name.name) + " has no bucket, and neither do its roles " + list);
      d.help = "add `bucket: NAME` to the app (its roles inherit it) or to each role";
    }
    if (app.roles.empty()) {
      auto& d = out_.error(Code::missing_field, app.name.span, "app " + backtick(app.name.name) + " has no roles");
      d.help = "add `role NAME { grants: ... }` for each access people may ask for";
    }
  }

  const ast::Bucket* find_bucket(const std::string& name) const {
    auto it = buckets_.find(name);
    return it == buckets_.end() ? nullptr : it->second.node;
  }

  void check_role_grants(const ast::App& app, const ast::Role& role) {
    if (role.grants.empty() && !role.manual) {
      auto& d = out_.error(Code::role_without_grant, role.name.span,
                           "role " + backtick(app.name.name + "." + role.name.name) + " grants nothing");
      d.help = "map it to groups with `grants: PROVIDER group \"name\"`, or declare `manual \"how a person fulfils it\"`";
    }
    if (!role.grants.empty() && role.manual) {
      auto& d = out_.error(Code::role_grant_and_manual, role.manual->span,
                           "role " + backtick(app.name.name + "." + role.name.name) + " is both granted by groups and manual");
      d.notes.push_back({role.grants_span, "groups granted here"});
      d.help = "a role is either provisioned through groups or fulfilled by a person, not both";
    }
    std::set<std::string> seen;
    for (const auto& grant : role.grants) {
      provider(grant.provider);
      if (!seen.insert(grant.provider.text() + "\n" + grant.group.value).second) {
        out_.error(Code::duplicate_definition, grant.span, "group " + backtick(grant.group.value) + " is granted twice");
      }
    }
  }

  // The settings a role ends up with (role over app over bucket).
  void check_effective(const ast::App& app, const ast::Role& role, const ast::Bucket* bucket) {
    auto pick = [&](auto member) -> const auto* {
      const auto& r = role.settings.*member;
      const auto& a = app.settings.*member;
      if (r) return &*r;
      if (a) return &*a;
      if (bucket && (bucket->settings.*member)) return &*(bucket->settings.*member);
      return static_cast<decltype(&*r)>(nullptr);
    };
    const ast::Route* route = pick(&ast::Settings::approve);
    if (!route && (bucket || (!role.settings.bucket && !app.settings.bucket))) {
      if (bucket) {
        auto& d = out_.error(Code::missing_field, role.name.span,
                             "role " + backtick(app.name.name + "." + role.name.name) + " has no approval route");
        d.notes.push_back({bucket->name.span, "its bucket " + backtick(bucket->name.name) + " sets none either"});
        d.help = "add `approve: ROUTE` to the role, the app or the bucket";
      }
    }
    // `app.owner` inherited from a bucket is checked against this app.
    if (route && !role.settings.approve && !app.settings.approve && !app.owner) {
      for (const auto& branch : route->branches) {
        for (const auto& step : branch.steps) {
          if (step.approver.kind == ast::Approver::Kind::app_owner) {
            auto& d = out_.error(Code::missing_owner, app.name.span,
                                 "app " + backtick(app.name.name) + " has no owner, but its route asks `app.owner`");
            d.notes.push_back({step.approver.span, "`app.owner` used here"});
            d.help = "add `owner: \"person@example.com\"` (or a group or pool) to the app";
            return;
          }
        }
      }
    }
    const ast::Expiry* expiry = pick(&ast::Settings::expiry);
    const ast::DurationSpec* duration = pick(&ast::Settings::duration);
    if (expiry && expiry->required && unbounded(duration)) {
      if (duration) {
        auto& d = out_.error(Code::expiry_unbounded, unbounded_span(*duration),
                             "role " + backtick(app.name.name + "." + role.name.name) +
                                 " requires expiry but this duration allows a permanent grant");
        d.notes.push_back({expiry->span, "expiry required here"});
      } else {
        auto& d = out_.error(Code::expiry_unbounded, role.name.span,
                             "role " + backtick(app.name.name + "." + role.name.name) +
                                 " requires expiry but sets no duration");
        d.notes.push_back({expiry->span, "expiry required here"});
        d.help = "add `duration: one_of(...)` or `duration: at_most D` to the role, app or bucket";
      }
    }
  }

  // ---- conflicts, reviews, tests -------------------------------------------

  void check_conflict(const ast::Conflict& conflict) {
    std::set<std::string> distinct;
    for (const auto& name : conflict.roles) {
      role(name);
      distinct.insert(name.text());
    }
    if (distinct.size() < 2) {
      auto& d = out_.error(Code::conflict_too_small, conflict.roles_span.valid() ? conflict.roles_span : conflict.name.span,
                           "conflict " + backtick(conflict.name.value) + " needs at least two different roles");
      d.help = "list the roles one person must not hold together: `roles: app.role_a, app.role_b`";
    }
    if (!conflict.action) {
      auto& d = out_.error(Code::missing_field, conflict.name.span,
                           "conflict " + backtick(conflict.name.value) + " has no `action`");
      d.help = "add `action: deny` or `action: escalate to POOL`";
    } else if (conflict.escalate_to) {
      check_approver(*conflict.escalate_to, nullptr);
    }
  }

  void check_review(const ast::Review& review) {
    if (review.scope.empty()) {
      auto& d = out_.error(Code::missing_field, review.name.span, "review " + backtick(review.name.name) + " has no scope");
      d.help = "add `scope: bucket NAME`, `app NAME` or `role APP.ROLE`";
    }
    for (const auto& scope : review.scope) {
      switch (scope.kind) {
        case ast::ReviewScope::Kind::bucket: bucket(scope.name); break;
        case ast::ReviewScope::Kind::app: lookup(apps_, scope.name, Code::unknown_app, "app"); break;
        case ast::ReviewScope::Kind::role: role(*scope.role); break;
      }
    }
    if (!review.reviewer) {
      auto& d = out_.error(Code::missing_field, review.name.span, "review " + backtick(review.name.name) + " has no reviewer");
      d.help = "add `reviewer: app.owner` (or manager, a person, group or pool)";
    } else {
      check_approver(*review.reviewer, nullptr);
      if (review.reviewer->kind == ast::Approver::Kind::automatic || review.reviewer->kind == ast::Approver::Kind::deny) {
        out_.error(Code::invalid_value, review.reviewer->span, "a reviewer is a person, group, pool, manager or app.owner");
      }
    }
    if (review.every && review.every->seconds == 0) {
      out_.error(Code::invalid_value, review.every->span, "a review cannot run every 0s");
    }
    if (review.due && review.due->seconds == 0) {
      out_.error(Code::invalid_value, review.due->span, "a review due after 0s leaves no time to decide");
    }
    static const std::vector<std::string> kDecisions = {"keep", "revoke"};
    auto check_decision = [&](const ast::Identifier& word) {
      if (!std::count(kDecisions.begin(), kDecisions.end(), word.name)) {
        auto& d = out_.error(Code::invalid_value, word.span, "expected `keep` or `revoke`, found " + backtick(word.name));
        suggest(d, word.name, kDecisions, "decision");
      }
    };
    if (review.undecided) check_decision(*review.undecided);
    for (const auto& rec : review.recommendations) {
      check_decision(rec.action);
      check_condition(rec.when, *condition_envs().review);
    }
  }

  void check_test(const ast::Test& test) {
    bool requested = false;
    for (const auto& statement : test.statements) {
      std::visit(
          [&](const auto& s) {
            using T = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<T, ast::GivenGrant>) {
              role(s.role);
            } else if constexpr (std::is_same_v<T, ast::RequestStmt>) {
              if (requested) {
                out_.error(Code::invalid_value, s.span, "a test files one request; start another test for this one");
              }
              requested = true;
            } else if constexpr (std::is_same_v<T, ast::ActionStmt>) {
              if (!requested) out_.error(Code::invalid_value, s.span, backtick(s.verb.name) + " before any `request`");
              const bool needs_actor = s.verb.name == "approve" || s.verb.name == "deny" || s.verb.name == "revoke" ||
                                       s.verb.name == "confirm";
              if (needs_actor && !s.actor) {
                auto& d = out_.error(Code::missing_field, s.verb.span, backtick(s.verb.name) + " needs the person who acts");
                d.help = "write `" + s.verb.name + " by \"person@example.com\"`";
              }
            } else if constexpr (std::is_same_v<T, ast::WaitStmt>) {
              if (!requested) out_.error(Code::invalid_value, s.span, "`wait` before any `request`");
            } else if constexpr (std::is_same_v<T, ast::Expectation>) {
              if (!requested) out_.error(Code::invalid_value, s.span, "`expect` before any `request`");
              for (const auto& grant : s.grants) provider(grant.provider);
              if (s.route) check_route(*s.route, nullptr);
              if (s.kind.name == "state" && s.name && !std::count(kStates.begin(), kStates.end(), s.name->name)) {
                auto& d = out_.error(Code::invalid_value, s.name->span, "unknown request state " + backtick(s.name->name));
                suggest(d, s.name->name, kStates, "state");
              }
              if (s.kind.name == "bucket" && s.name) bucket(*s.name);
              for (const auto& field : s.names) {
                if (!std::count(kRequirements.begin(), kRequirements.end(), field.name)) {
                  auto& d = out_.error(Code::invalid_value, field.span, "unknown requirement " + backtick(field.name));
                  suggest(d, field.name, kRequirements, "requirement");
                }
              }
            }
          },
          statement);
    }
    if (!requested) {
      auto& d = out_.error(Code::missing_field, test.name.span, "test " + backtick(test.name.value) + " files no request");
      d.help = "add `request APP.ROLE` and the expectations about it";
    }
  }

  // ---- unused ---------------------------------------------------------------

  void report_unused() {
    // With items that failed to parse, references are unknown: saying that
    // something is unused would likely be wrong.
    if (!unparsed_.empty()) return;
    for (const auto& [name, entry] : buckets_) {
      // `unknown` is used implicitly: requests outside the catalog go there.
      if (entry.used || entry.in_module || name == "unknown") continue;
      auto& d = out_.warning(Code::unused_bucket, entry.node->name.span, "bucket " + backtick(name) + " is never used");
      d.help = "name it in an app or role (`bucket: " + name + "`), or remove it";
    }
    for (const auto& [name, entry] : pools_) {
      if (entry.used || entry.in_module) continue;
      auto& d = out_.warning(Code::unused_pool, entry.node->name.span, "approver pool " + backtick(name) + " is never used");
      d.help = "use it in a route (`approve: " + name + "`), or remove it";
    }
    for (const auto& [key, entry] : providers_) {
      if (entry.used || entry.in_module) continue;
      out_.warning(Code::unused_provider, entry.node->name.span, "provider " + backtick(key) + " grants no role");
    }
  }

  const Program& program_;
  Diagnostics& out_;
  std::set<std::string> unparsed_;
  std::unordered_map<std::string, cel::Analysis> analyses_;
  std::map<std::string, Entry<ast::Provider>> providers_;
  std::map<std::string, Entry<ast::Pool>> pools_;
  std::map<std::string, Entry<ast::Bucket>> buckets_;
  std::unordered_map<std::string, Entry<ast::App>> apps_;
  std::vector<const ast::Bucket*> bucket_list_;
  std::vector<const ast::App*> app_list_;
  std::vector<const ast::Integration*> integrations_;
  std::vector<const ast::Conflict*> conflicts_;
  std::vector<const ast::Review*> reviews_;
  std::vector<const ast::Test*> tests_;
};

}  // namespace

void check_program(const Program& program, Diagnostics& diagnostics) { Checker(program, diagnostics).run(); }

CheckRun check_files(const std::vector<std::string>& root_files, const FileReader& reader) {
  CheckRun run;
  run.files = root_files;
  for (const auto& path : root_files) {
    LoadResult loaded = load_program(path, reader);
    run.diagnostics.append(loaded.diagnostics);
    if (!loaded.root_readable) {
      run.unreadable.push_back(path);
      continue;
    }
    // Items that failed to parse are absent; the checker knows their names
    // (File::unparsed) so it does not cascade them into unknown-name errors.
    check_program(loaded.program, run.diagnostics);
    run.programs.push_back(std::move(loaded.program));
  }
  run.diagnostics.sort_and_dedupe();
  return run;
}

}  // namespace portcullis::dsl
