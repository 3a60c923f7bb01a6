#include "tests/rules/test_util.h"

#include <algorithm>
#include <fstream>
#include <sstream>

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
