#pragma once
// The attributes policy conditions may use, as CEL declarations.
//
// Route conditions (`approve: auto when ...`) see the requester, the
// request, the app, the role and `now`; review recommendations see the
// member under review, the app, the role and `now`. The checker type-checks
// every condition against these declarations, and the interpreter compiles
// and binds against the very same ones, so a condition that passes `check`
// never meets an unknown attribute at run time.
//
// Person fields: email, name, department, employment, location, title,
// manager, groups (list of group names), attributes (map of any other
// directory attribute). Request fields: app, role, bucket, duration,
// permanent, justification, ticket. App fields: name, title, bucket, owner.
// Role fields: name, app, bucket, groups, manual. Member fields: the person
// fields plus status, last_login, last_login_age, granted_at, grant_age.

#include <memory>

#include "dsl/cel/env.hpp"
#include "dsl/cel/types.hpp"

namespace portcullis::dsl {

struct ConditionEnvs {
  std::shared_ptr<const cel::Env> route;
  std::shared_ptr<const cel::Env> review;

  std::shared_ptr<const cel::ObjectType> person;
  std::shared_ptr<const cel::ObjectType> request;
  std::shared_ptr<const cel::ObjectType> app;
  std::shared_ptr<const cel::ObjectType> role;
  std::shared_ptr<const cel::ObjectType> member;
};

// Built once, shared read-only.
const ConditionEnvs& condition_envs();

}  // namespace portcullis::dsl
