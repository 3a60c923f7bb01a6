#include "rules/core/policy.h"

#include <tuple>

#include "rules/core/lattice.h"

namespace latticeguard {
namespace {

std::string_view creation_timestamp(const Object& o) {
  const json* md = child(o.doc(), "metadata");
  const json* ts = md ? child(*md, "creationTimestamp") : nullptr;
  return ts && ts->is_string() ? std::string_view(ts->get_ref<const std::string&>())
                               : std::string_view();
}

}  // namespace

const Object* accepted_policy(std::span<const Object* const> policies) {
  const Object* best = nullptr;
  auto key = [](const Object& o) {
    std::string_view ts = creation_timestamp(o);
    // RFC 3339 timestamps in one format order as strings; a missing one sorts last.
    return std::make_tuple(ts.empty(), ts, std::string_view(o.name()));
  };
  for (const Object* p : policies) {
    if (!best || key(*p) < key(*best)) best = p;
  }
  return best;
}

const Object* policy_target_service(const ClusterView& v, const Object& policy) {
  const json* spec = child(policy.doc(), "spec");
  const json* t = spec ? child(*spec, "targetRef") : nullptr;
  if (!t || str(*t, "kind") != "Service" || !str(*t, "group").empty()) return nullptr;
  return v.find(kService, policy.ns(), str(*t, "name"));
}

}  // namespace latticeguard
