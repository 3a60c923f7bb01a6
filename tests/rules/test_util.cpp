#include "tests/rules/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rules/core/lattice.h"
#include "rules/registry.h"

namespace latticeguard::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void World::add_text(const std::string& text, const std::string& name) {
  Result<ManifestFile> f = decode_manifest(text, name, "default");
  if (!f) {
    error = format_error(name, f.error());
    return;
  }
  for (const ObjectPtr& o : f->objects) {
    index.put(o);
    objects.push_back(o);
  }
}

void World::add_file(const std::string& path) { add_text(read_file(path), path); }

void World::add_json(json doc) {
  Result<Object> o = Object::from_json(std::move(doc), "default");
  if (!o) {
    error = o.error().message;
    return;
  }
  ObjectPtr p = std::make_shared<const Object>(std::move(*o));
  index.put(p);
  objects.push_back(p);
}

void World::open_world() {
  auto c = std::make_shared<Config>(*config);
  c->open_world = true;
  config = c;
  index.set_all_complete(false);
}

std::vector<Finding> World::lint() const {
  Engine engine(all_rules(), config);
  ClusterView view(index);
  std::vector<Finding> out;
  for (const ObjectPtr& o : objects) {
    std::vector<Finding> f = engine.check(o, view);
    for (Finding& x : f) {
      if (is_enforced(x)) out.push_back(std::move(x));
    }
  }
  return out;
}

std::vector<Finding> World::lint_rule(std::string_view id) const {
  std::vector<Finding> all = lint();
  std::erase_if(all, [&](const Finding& f) { return rule_id(f) != id; });
  return all;
}

std::string corpus(const std::string& rel) { return std::string(LG_CORPUS_DIR) + "/" + rel; }

std::vector<std::string> yaml_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

World repointed(const std::vector<std::string>& files, bool stub_backends) {
  World w;
  w.add_text(kLatticeClass, "class.yaml");
  std::vector<ObjectPtr> routes;
  for (const std::string& f : files) {
    Result<ManifestFile> m = decode_manifest(read_file(f), f, "default");
    EXPECT_TRUE(m) << f;
    if (!m) continue;
    for (const ObjectPtr& o : m->objects) {
      json raw = o->raw();
      if (is_route(o->kind())) {
        raw["spec"]["parentRefs"] =
            json::array({{{"name", "lattice-gw"}, {"namespace", "default"}}});
        routes.push_back(o);
      }
      w.add_json(std::move(raw));
    }
  }
  w.add_json(json::parse(R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
    "metadata": {"name": "lattice-gw", "namespace": "default"},
    "spec": {"gatewayClassName": "amazon-vpc-lattice", "listeners": [
      {"name": "http", "protocol": "HTTP", "port": 80,
       "allowedRoutes": {"namespaces": {"from": "All"}}},
      {"name": "https", "protocol": "HTTPS", "port": 443,
       "allowedRoutes": {"namespaces": {"from": "All"}}, "tls": {"options": {
        "application-networking.k8s.aws/certificate-arn":
          "arn:aws:acm:us-west-2:123456789012:certificate/abc"}}},
      {"name": "tls", "protocol": "TLS", "port": 8443, "tls": {"mode": "Passthrough"},
       "allowedRoutes": {"namespaces": {"from": "All"}}}]}})"));
  if (!stub_backends) return w;
  std::set<std::string> added;
  for (const ObjectPtr& route : routes) {
    for (const BackendRef& b : backend_refs(*route)) {
      if (b.kind != "Service" && b.kind != "ServiceImport") continue;
      Kind kind = b.kind == "Service" ? kService : kServiceImport;
      if (w.index.find(kind, b.ns, b.name) ||
          !added.insert(b.kind + "/" + b.ns + "/" + b.name).second) {
        continue;
      }
      json meta = {{"name", b.name}, {"namespace", b.ns}};
      json port = {{"port", b.port.value_or(80)}, {"protocol", "TCP"}};
      if (kind == kService) {
        w.add_json({{"apiVersion", "v1"},
                    {"kind", "Service"},
                    {"metadata", meta},
                    {"spec", {{"ports", json::array({port})}}}});
      } else {
        w.add_json({{"apiVersion", "application-networking.k8s.aws/v1alpha1"},
                    {"kind", "ServiceImport"},
                    {"metadata", meta},
                    {"spec", {{"type", "ClusterSetIP"}, {"ports", json::array({port})}}}});
      }
    }
  }
  return w;
}

std::vector<std::string> describe(const std::vector<Finding>& findings, bool with_rule) {
  std::vector<std::string> out;
  for (const Finding& f : findings) {
    std::string s = std::string(to_string(f.action)) + " " + f.object->display() + " " + f.pointer;
    if (with_rule) s += " " + std::string(rule_id(f));
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace latticeguard::testing
