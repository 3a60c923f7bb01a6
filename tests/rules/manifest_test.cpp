// The manifest decoder: shapes it accepts, errors it gives (with file:line:col), limits.
#include "rules/core/manifest.h"

#include <gtest/gtest.h>

namespace latticeguard {
namespace {

Result<ManifestFile> decode(const std::string& text) {
  return decode_manifest(text, "f.yaml", "default");
}

TEST(Manifest, MultiDocumentAndListsAndDefaults) {
  auto f = decode(R"(apiVersion: v1
kind: Service
metadata: {name: a}
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: b, namespace: shop}
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {name: r}
  spec: {parentRefs: [{name: gw}]}
)");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->objects.size(), 3u);
  EXPECT_EQ(f->objects[0]->display(), "Service default/a");
  EXPECT_EQ(f->objects[1]->display(), "Service shop/b");
  const json& route = f->objects[2]->doc();
  // Gateway API schema defaults applied for rules; raw() keeps what the file says.
  EXPECT_EQ(route["spec"]["parentRefs"][0]["kind"], "Gateway");
  EXPECT_EQ(route["spec"]["rules"][0]["matches"][0]["path"]["type"], "PathPrefix");
  EXPECT_FALSE(f->objects[2]->raw()["spec"].contains("rules"));
  // ...read again from the file, exactly as written (the List item, not the whole List).
  EXPECT_EQ(f->objects[2]->raw()["spec"], json::parse(R"({"parentRefs":[{"name":"gw"}]})"));
  EXPECT_EQ(f->objects[2]->raw()["metadata"], json::parse(R"({"name":"r"})"));
}

TEST(Manifest, PositionsPointAtTheField) {
  auto f = decode(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  rules:
  - backendRefs:
    - name: a
      port: 80
    - name: b
      port: 81
)");
  ASSERT_TRUE(f);
  auto pos = f->objects[0]->source()->position("/spec/rules/0/backendRefs/1/port");
  EXPECT_EQ(pos, std::make_pair(11, 7));
  // A defaulted field that is not in the file maps to its nearest ancestor.
  pos = f->objects[0]->source()->position("/spec/rules/0/backendRefs/1/kind");
  EXPECT_EQ(pos.first, 10);
}

TEST(Manifest, SecondDocumentLinesAreFileLines) {
  auto f = decode(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\n"
      "kind: Service\nmetadata:\n  name: b\n");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->objects[1]->source()->position("/metadata/name").first, 8);
}

struct BadCase {
  const char* text;
  const char* message;
  int line;
};

TEST(Manifest, BadInputGivesLineAndField) {
  const BadCase cases[] = {
      {"apiVersion: v1\nkind: [unclosed\n", "", 0},
      {"- just\n- a list\n", "not a mapping", 1},
      {"kind: Service\nmetadata: {name: a}\n", "missing field apiVersion", 1},
      {"apiVersion: v1\nmetadata: {name: a}\n", "missing field kind", 1},
      {"apiVersion: v1\nkind: Service\nmetadata: {}\n", "metadata.name", 3},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: \"80\"\n",
       "spec.ports: expected a list", 5},
      {"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a}\nspec:\n"
       "  rules:\n  - backendRefs: nope\n",
       "spec.rules[0].backendRefs: expected a list", 6},
      {"apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: a}\n", "duplicate key", 3},
      {"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {app: [x]}\n",
       "metadata.labels.app", 5},
  };
  for (const BadCase& c : cases) {
    auto f = decode(c.text);
    ASSERT_FALSE(f) << c.text;
    EXPECT_NE(f.error().message.find(c.message), std::string::npos)
        << c.text << " -> " << f.error().message;
    if (c.line) {
      EXPECT_EQ(f.error().line, c.line) << c.text << " -> " << f.error().message;
    }
    EXPECT_GT(f.error().line, 0) << c.text;
  }
}

TEST(Manifest, BinaryHugeAndDeepInputsAreRefused) {
  std::string binary = "apiVersion: v1\n\x00\x01\x02";
  binary.push_back('\0');
  auto b = decode(binary);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("binary"), std::string::npos);

  std::string big(65u << 20, ' ');
  auto h = decode(big);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("limit"), std::string::npos);

  std::string deep = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: ";
  for (int i = 0; i < 100000; ++i) deep += "[";
  auto d = decode(deep);
  ASSERT_FALSE(d);
  EXPECT_GT(d.error().line, 0);

  std::string deep_block = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n";
  for (int i = 0; i < 300; ++i) deep_block += std::string(2 * i + 2, ' ') + "k:\n";
  auto db = decode(deep_block);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("nesting"), std::string::npos) << db.error().message;
}

TEST(Manifest, JsonFilesAndScalarTypes) {
  auto f = decode(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"a",
    "annotations":{"x":"true"}},"spec":{"ports":[{"port":80}]}})");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->objects[0]->doc()["spec"]["ports"][0]["port"].is_number_integer());
  auto g = decode(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
      "  - port: 80\n    name: '80'\n");
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->objects[0]->doc()["spec"]["ports"][0]["name"].is_string());
}

TEST(Manifest, FixOpsKeepOtherDocumentsAndOrder) {
  std::string text =
      "# leading comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\n"
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n";
  json ops =
      json::array({{{"op", "add"}, {"path", "/metadata/annotations"}, {"value", {{"a/b", "c"}}}}});
  auto out = apply_ops_to_yaml(text, {json::array(), ops});
  ASSERT_TRUE(out) << out.error().message;
  auto f = decode(*out);
  ASSERT_TRUE(f) << *out;
  ASSERT_EQ(f->objects.size(), 2u);
  EXPECT_EQ(f->objects[0]->name(), "a");
  EXPECT_EQ(f->objects[1]->raw()["metadata"]["annotations"]["a/b"], "c");
  EXPECT_LT(out->find("kind"), out->find("metadata"));  // key order kept
}

TEST(Manifest, MappingKeysResolveLikeKubectl) {
  // Keys are strings in JSON: plain words stay as written, other scalars become their text.
  auto f = decode(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: keys}
data: {plain: a, "quoted key": b, 80: c, True: d, ~: e, 'True': f, 0x10: g}
)");
  ASSERT_TRUE(f) << f.error().message;
  const json& data = f->objects.at(0)->raw()["data"];
  EXPECT_EQ(data, json::parse(R"({"plain":"a","quoted key":"b","80":"c","true":"d","null":"e",
                                  "True":"f","16":"g"})"))
      << data.dump();
}

TEST(Manifest, TextThatIsNotUtf8IsRefusedWithItsPosition) {
  // An unknown directive with an invalid byte made the YAML parser loop forever.
  auto hang = decode(std::string("%api&ersion: x = json\xae") + "loads\n");
  ASSERT_FALSE(hang);
  EXPECT_NE(hang.error().message.find("invalid UTF-8 (byte 0xAE)"), std::string::npos)
      << hang.error().message;
  EXPECT_EQ(hang.error().line, 1);
  EXPECT_EQ(hang.error().column, 22);
  for (std::string bad : {std::string("a: b\nc: \xff\n"), std::string("a: \xc0\xaf\n"),  // overlong
                          std::string("a: \xed\xa0\x80\n"),  // surrogate
                          std::string("a: \xe2\x82\n")}) {   // truncated
    auto f = decode(bad);
    ASSERT_FALSE(f) << bad;
    EXPECT_NE(f.error().message.find("invalid UTF-8"), std::string::npos) << f.error().message;
  }
  auto ok = decode(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xc3\xa9}\n"
      "data: {emoji: \"\xf0\x9f\x9a\x80\", long: \"\xe2\x82\xac 0123456789abcdef\"}\n");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->objects.at(0)->name(), "caf\xc3\xa9");
}

}  // namespace
}  // namespace latticeguard
