#include "rules/core/defaults.h"

#include <string>

namespace latticeguard {
namespace {

enum class Shape { kObject, kArray, kString, kInteger, kBool };

const char* shape_name(Shape s) {
  switch (s) {
    case Shape::kObject:
      return "a mapping";
    case Shape::kArray:
      return "a list";
    case Shape::kString:
      return "a string";
    case Shape::kInteger:
      return "an integer";
    case Shape::kBool:
      return "a boolean";
  }
  return "?";
}

bool has_shape(const json& j, Shape s) {
  switch (s) {
    case Shape::kObject:
      return j.is_object();
    case Shape::kArray:
      return j.is_array();
    case Shape::kString:
      return j.is_string();
    case Shape::kInteger:
      return j.is_number_integer();
    case Shape::kBool:
      return j.is_boolean();
  }
  return false;
}

// Walks the document, checking shapes and filling defaults. The first shape error stops it.
class Defaulter {
 public:
  explicit Defaulter(bool dry_run) : dry_run_(dry_run) {}
  Status error = Ok{};
  bool changed = false;

  // Every write goes through this. A dry run records that a default would be written and
  // stops the walk (through `error`, which every step checks) instead of writing it.
  bool may_write() {
    if (!dry_run_) return true;
    changed = true;
    error = Error{"a default would be written"};
    return false;
  }

  // Returns the child if present with the expected shape; records an error on a wrong shape.
  json* get(json& parent, const std::string& ptr, const char* key, Shape s) {
    if (!error || !parent.is_object()) return nullptr;
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return nullptr;
    if (!has_shape(*it, s)) {
      fail(ptr + "/" + key, s);
      return nullptr;
    }
    return &*it;
  }
  void check(json& parent, const std::string& ptr, const char* key, Shape s) {
    (void)get(parent, ptr, key, s);
  }
  void fail(const std::string& ptr, Shape s) {
    Error e{field_path(ptr) + ": expected " + shape_name(s)};
    e.pointer = ptr;
    error = e;
  }
  template <class Fn>
  void each(json* arr, const std::string& ptr, Fn fn) {
    if (!arr) return;
    for (size_t i = 0; i < arr->size() && error; ++i) {
      std::string p = ptr + "/" + std::to_string(i);
      if (!(*arr)[i].is_object()) {
        fail(p, Shape::kObject);
        return;
      }
      fn((*arr)[i], p);
    }
  }

 private:
  bool dry_run_;

 public:
  void set_default(json& obj, const char* key, json value) {
    auto it = obj.find(key);
    if ((it == obj.end() || it->is_null()) && may_write()) obj[key] = std::move(value);
  }

  void parent_refs(json& spec) {
    each(get(spec, "/spec", "parentRefs", Shape::kArray), "/spec/parentRefs",
         [&](json& ref, const std::string& p) {
           check(ref, p, "name", Shape::kString);
           check(ref, p, "namespace", Shape::kString);
           check(ref, p, "sectionName", Shape::kString);
           check(ref, p, "port", Shape::kInteger);
           set_default(ref, "group", std::string(kGatewayGroup));
           set_default(ref, "kind", "Gateway");
         });
  }

  void backend_refs(json& rule, const std::string& p) {
    each(get(rule, p, "backendRefs", Shape::kArray), p + "/backendRefs",
         [&](json& ref, const std::string& bp) {
           check(ref, bp, "name", Shape::kString);
           check(ref, bp, "namespace", Shape::kString);
           check(ref, bp, "port", Shape::kInteger);
           check(ref, bp, "weight", Shape::kInteger);
           check(ref, bp, "filters", Shape::kArray);
           set_default(ref, "group", "");
           set_default(ref, "kind", "Service");
           set_default(ref, "weight", 1);
         });
  }

  void header_matches(json& match, const std::string& p, const char* key) {
    each(get(match, p, key, Shape::kArray), p + "/" + key, [&](json& h, const std::string& hp) {
      check(h, hp, "name", Shape::kString);
      check(h, hp, "value", Shape::kString);
      set_default(h, "type", "Exact");
    });
  }

  void http_route(json& doc) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) {
      if (!error || !may_write()) return;
      doc["spec"] = json::object();
      spec = &doc["spec"];
    }
    parent_refs(*spec);
    check(*spec, "/spec", "hostnames", Shape::kArray);
    json default_match = {{"path", {{"type", "PathPrefix"}, {"value", "/"}}}};
    if ((!spec->contains("rules") || (*spec)["rules"].is_null()) && may_write()) {
      (*spec)["rules"] = json::array({json{{"matches", json::array({default_match})}}});
    }
    each(get(*spec, "/spec", "rules", Shape::kArray), "/spec/rules",
         [&](json& rule, const std::string& rp) {
           if ((!rule.contains("matches") || rule["matches"].is_null()) && may_write()) {
             rule["matches"] = json::array({default_match});
           }
           check(rule, rp, "filters", Shape::kArray);
           each(get(rule, rp, "matches", Shape::kArray), rp + "/matches",
                [&](json& m, const std::string& mp) {
                  json* path = get(m, mp, "path", Shape::kObject);
                  if (!path && error && may_write()) {
                    m["path"] = default_match["path"];
                  } else if (path) {
                    set_default(*path, "type", "PathPrefix");
                    set_default(*path, "value", "/");
                    check(*path, mp + "/path", "value", Shape::kString);
                  }
                  header_matches(m, mp, "headers");
                  header_matches(m, mp, "queryParams");
                  check(m, mp, "method", Shape::kString);
                });
           backend_refs(rule, rp);
         });
  }

  void grpc_route(json& doc) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) return;
    parent_refs(*spec);
    check(*spec, "/spec", "hostnames", Shape::kArray);
    each(get(*spec, "/spec", "rules", Shape::kArray), "/spec/rules",
         [&](json& rule, const std::string& rp) {
           each(get(rule, rp, "matches", Shape::kArray), rp + "/matches",
                [&](json& m, const std::string& mp) {
                  if (json* method = get(m, mp, "method", Shape::kObject)) {
                    set_default(*method, "type", "Exact");
                  }
                  header_matches(m, mp, "headers");
                });
           check(rule, rp, "filters", Shape::kArray);
           backend_refs(rule, rp);
         });
  }

  void tls_route(json& doc) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) return;
    parent_refs(*spec);
    check(*spec, "/spec", "hostnames", Shape::kArray);
    each(get(*spec, "/spec", "rules", Shape::kArray), "/spec/rules",
         [&](json& rule, const std::string& rp) { backend_refs(rule, rp); });
  }

  void gateway(json& doc) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) return;
    check(*spec, "/spec", "gatewayClassName", Shape::kString);
    each(get(*spec, "/spec", "listeners", Shape::kArray), "/spec/listeners",
         [&](json& l, const std::string& lp) {
           check(l, lp, "name", Shape::kString);
           check(l, lp, "protocol", Shape::kString);
           check(l, lp, "port", Shape::kInteger);
           check(l, lp, "hostname", Shape::kString);
           if ((!l.contains("allowedRoutes") || l["allowedRoutes"].is_null()) && may_write()) {
             l["allowedRoutes"] = json::object();
           }
           if (json* ar = get(l, lp, "allowedRoutes", Shape::kObject)) {
             if ((!ar->contains("namespaces") || (*ar)["namespaces"].is_null()) && may_write()) {
               (*ar)["namespaces"] = json::object();
             }
             if (json* ns = get(*ar, lp + "/allowedRoutes", "namespaces", Shape::kObject)) {
               set_default(*ns, "from", "Same");
             }
             each(get(*ar, lp + "/allowedRoutes", "kinds", Shape::kArray),
                  lp + "/allowedRoutes/kinds", [&](json& k, const std::string&) {
                    set_default(k, "group", std::string(kGatewayGroup));
                  });
           }
           if (json* tls = get(l, lp, "tls", Shape::kObject)) {
             set_default(*tls, "mode", "Terminate");
             check(*tls, lp + "/tls", "certificateRefs", Shape::kArray);
             check(*tls, lp + "/tls", "options", Shape::kObject);
           }
         });
  }

  void policy(json& doc) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) return;
    if (json* t = get(*spec, "/spec", "targetRef", Shape::kObject)) {
      check(*t, "/spec/targetRef", "name", Shape::kString);
      check(*t, "/spec/targetRef", "kind", Shape::kString);
      check(*t, "/spec/targetRef", "group", Shape::kString);
    }
    if (json* hc = get(*spec, "/spec", "healthCheck", Shape::kObject)) {
      check(*hc, "/spec/healthCheck", "path", Shape::kString);
      check(*hc, "/spec/healthCheck", "enabled", Shape::kBool);
      check(*hc, "/spec/healthCheck", "statusMatch", Shape::kString);
    }
  }

  void service(json& doc) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) return;
    check(*spec, "/spec", "selector", Shape::kObject);
    each(get(*spec, "/spec", "ports", Shape::kArray), "/spec/ports",
         [&](json& p, const std::string& pp) {
           check(p, pp, "port", Shape::kInteger);
           set_default(p, "protocol", "TCP");
         });
  }

  void pod_template(json& doc, Kind k) {
    json* spec = get(doc, "", "spec", Shape::kObject);
    if (!spec) return;
    std::string base = "/spec";
    json* pod = spec;
    if (k != kPod) {
      json* tmpl = get(*spec, "/spec", "template", Shape::kObject);
      if (!tmpl) return;
      pod = get(*tmpl, "/spec/template", "spec", Shape::kObject);
      base = "/spec/template/spec";
      if (!pod) return;
    }
    for (const char* key : {"containers", "initContainers"}) {
      each(get(*pod, base, key, Shape::kArray), base + "/" + key,
           [&](json& c, const std::string& cp) {
             check(c, cp, "ports", Shape::kArray);
             for (const char* probe : {"readinessProbe", "livenessProbe", "startupProbe"}) {
               check(c, cp, probe, Shape::kObject);
             }
           });
    }
  }
};

}  // namespace

namespace {
void walk(Defaulter& d, Kind kind, json& doc) {
  if (kind == kHTTPRoute) {
    d.http_route(doc);
  } else if (kind == kGRPCRoute) {
    d.grpc_route(doc);
  } else if (kind == kTLSRoute) {
    d.tls_route(doc);
  } else if (kind == kGateway) {
    d.gateway(doc);
  } else if (is_policy(kind)) {
    d.policy(doc);
  } else if (kind == kService) {
    d.service(doc);
  } else if (is_workload(kind)) {
    d.pod_template(doc, kind);
  }
}
}  // namespace

Status apply_schema_defaults(Kind kind, json& doc) {
  Defaulter d(/*dry_run=*/false);
  walk(d, kind, doc);
  return d.error;
}

Result<bool> schema_defaults_change(Kind kind, const json& doc) {
  Defaulter d(/*dry_run=*/true);
  // A dry run only reads: lookups of keys it has just seen, never insertions.
  walk(d, kind, const_cast<json&>(doc));
  if (d.changed) return true;  // its `error` only stopped the walk
  if (!d.error) return d.error.error();
  return false;
}

}  // namespace latticeguard
