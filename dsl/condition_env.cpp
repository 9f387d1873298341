#include "dsl/condition_env.hpp"

namespace portcullis::dsl {
namespace {

namespace t = cel::types;

std::vector<cel::Field> person_fields() {
  return {{"email", t::string()},      {"name", t::string()},        {"department", t::string()},
          {"employment", t::string()}, {"location", t::string()},    {"title", t::string()},
          {"manager", t::string()},    {"groups", t::list(t::string())},
          {"attributes", t::map(t::string(), t::dyn())}};
}

std::shared_ptr<const cel::ObjectType> object(std::string name, std::vector<cel::Field> fields) {
  auto type = std::make_shared<cel::ObjectType>();
  type->name = std::move(name);
  type->fields = std::move(fields);
  return type;
}

ConditionEnvs build() {
  ConditionEnvs envs;
  envs.person = object("portcullis.Person", person_fields());
  envs.request = object("portcullis.Request", {{"app", t::string()},
                                               {"role", t::string()},
                                               {"bucket", t::string()},
                                               {"duration", t::duration()},
                                               {"permanent", t::boolean()},
                                               {"justification", t::string()},
                                               {"ticket", t::string()}});
  envs.app = object("portcullis.App",
                    {{"name", t::string()}, {"title", t::string()}, {"bucket", t::string()}, {"owner", t::string()}});
  envs.role = object("portcullis.Role", {{"name", t::string()},
                                         {"app", t::string()},
                                         {"bucket", t::string()},
                                         {"groups", t::list(t::string())},
                                         {"manual", t::boolean()}});
  auto member_fields = person_fields();
  member_fields.push_back({"status", t::string()});
  member_fields.push_back({"last_login", t::timestamp()});
  member_fields.push_back({"last_login_age", t::duration()});
  member_fields.push_back({"granted_at", t::timestamp()});
  member_fields.push_back({"grant_age", t::duration()});
  envs.member = object("portcullis.Member", std::move(member_fields));

  auto route = std::make_shared<cel::Env>();
  route->declare("requester", t::object(envs.person));
  route->declare("request", t::object(envs.request));
  route->declare("app", t::object(envs.app));
  route->declare("role", t::object(envs.role));
  route->declare("now", t::timestamp());
  envs.route = std::move(route);

  auto review = std::make_shared<cel::Env>();
  review->declare("member", t::object(envs.member));
  review->declare("app", t::object(envs.app));
  review->declare("role", t::object(envs.role));
  review->declare("now", t::timestamp());
  envs.review = std::move(review);
  return envs;
}

}  // namespace

const ConditionEnvs& condition_envs() {
  static const ConditionEnvs envs = build();
  return envs;
}

}  // namespace portcullis::dsl
