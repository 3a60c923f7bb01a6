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
  std::vector<Finding> lint() const;  // every object, closed world
  std::vector<Finding> lint_rule(std::string_view id) const;
};

// "deny HTTPRoute shop/x /spec/rules/0" per enforced finding, sorted.
std::vector<std::string> describe(const std::vector<Finding>& f, bool with_rule = false);

}  // namespace latticeguard::testing
