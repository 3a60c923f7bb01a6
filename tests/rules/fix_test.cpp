// Safe fixes: what they add, that they never overwrite, and the JSON Patch they produce.
#include "rules/core/fix.h"

#include <gtest/gtest.h>

#include "tests/rules/test_util.h"

namespace latticeguard::testing {
namespace {

TEST(Fix, FederationAnnotationPatchEscapesSlash) {
  auto o = Object::from_json(json::parse(R"({"apiVersion":"application-networking.k8s.aws/v1alpha1",
    "kind":"ServiceExport","metadata":{"name":"svc","namespace":"n","annotations":{"x":"y"}}})"));
  ASSERT_TRUE(o);
  std::optional<Fix> f = federation_fix(*o);
  ASSERT_TRUE(f);
  json fixed = apply_fixes(o->raw(), std::vector<Fix>{*f});
  json patch = make_patch(o->raw(), fixed);
  ASSERT_EQ(patch.size(), 1u);
  EXPECT_EQ(patch[0]["path"], "/metadata/annotations/application-networking.k8s.aws~1federation");
  EXPECT_EQ(patch[0]["value"], "amazon-vpc-lattice");
  // The patch applies to the original object (what the API server will do).
  EXPECT_EQ(o->raw().patch(patch), fixed);
}

TEST(Fix, HostnameTemplateIsValidatedAndIntersectsListeners) {
  Config c = Config::defaults();
  c.hostname_domain = "example.com";
  EXPECT_EQ(render_hostname(c, "Demo-Route", "shop"), "demo-route.shop.example.com");
  c.hostname_template = "{route}_{namespace}.{domain}";
  EXPECT_EQ(render_hostname(c, "r", "shop"), "");  // underscore: not RFC 1123
  EXPECT_FALSE(valid_hostname(std::string(254, 'a')));
  EXPECT_TRUE(valid_hostname("a.b-c.example"));
}

TEST(Fix, FailingOperationsLeaveTheDocumentUnchanged) {
  json doc = {{"spec", {{"a", 1}}}};
  Fix bad;
  bad.ops = json::array({{{"op", "add"}, {"path", "/spec/a"}, {"value", 2}},
                         {{"op", "replace"}, {"path", "/nope/x"}, {"value", 1}}});
  EXPECT_EQ(apply_fixes(doc, std::vector<Fix>{bad}), doc);
}

}  // namespace
}  // namespace latticeguard::testing
