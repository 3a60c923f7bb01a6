// Helpers for rule tests: load manifests from text or files into an index and run the engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/engine.h"
#include "rules/core/manifest.h"

namespace latticeguard::testing {

std::string read_file(const std::string& path);

struct World {
  ObjectIndex index;
  std::vector<ObjectPtr> objects;  // in input order
  std::shared_ptr<Config> config = std::make_shared<Config>(Config::defaults());
  std::string error;  // decode error, if any

  void add_text(const std::string& text, const std::string& name = "test.yaml");
  void add_file(const std::string& path);
  void add_json(json doc);  // one object as the API server would send it
  // Lint as `lint --open-world` does: absence of an object proves nothing.
  void open_world();
  std::vector<Finding> lint() const;  // every object, closed world
  std::vector<Finding> lint_rule(std::string_view id) const;
};

// The GatewayClass of the VPC Lattice controller, as a YAML document.
inline const std::string kLatticeClass = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: amazon-vpc-lattice}
spec: {controllerName: application-networking.k8s.aws/gateway-api-controller}
)";

// Absolute path of a file or directory under the shared corpus (LG_CORPUS_DIR).
std::string corpus(const std::string& rel);
// Every .yaml/.yml file under `dir`, recursively, sorted.
std::vector<std::string> yaml_files(const std::string& dir);

// Loads upstream Gateway API examples as if they targeted VPC Lattice: every route's parentRefs
// become the one Gateway default/lattice-gw (HTTP, HTTPS with an ACM certificate and TLS
// passthrough listeners, each admitting routes from all namespaces); Gateways of the files keep
// their own, non-Lattice, class. With `stub_backends`, every Service or ServiceImport a route
// names that the files lack is added (no selector, the referenced port), as if the backends
// were deployed next to the example, so a closed world judges the routes, not the missing apps.
World repointed(const std::vector<std::string>& files, bool stub_backends = false);

// "deny HTTPRoute shop/x /spec/rules/0" per enforced finding, sorted.
std::vector<std::string> describe(const std::vector<Finding>& f, bool with_rule = false);

}  // namespace latticeguard::testing
