#include "webhook/admission.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rules/core/base64.h"
#include "tests/webhook/test_certs.h"

namespace latticeguard::webhook {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::read_file;

std::vector<fs::path> captures() {
  std::vector<fs::path> out;
  const fs::path root = fs::path(LG_CORPUS_DIR) / "admission-captures";
  for (const fs::path& dir : {root, root / "gateway-api-v1.1.0"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".json") out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(AdmissionCorpus, EveryCapturedReviewParsesAndRendersItsUid) {
  const auto files = captures();
  // 45 bodies per Gateway API version; a missing corpus must fail, not pass vacuously.
  ASSERT_GE(files.size(), 90u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    const std::string body = read_file(file);
    auto req = parse_review(body);
    ASSERT_TRUE(req) << req.error().message;
    const json raw = json::parse(body);
    EXPECT_EQ(req->uid, raw["request"]["uid"]);
    EXPECT_EQ(req->review_api_version, "admission.k8s.io/v1");

    // File names are <kind>_<operation>[_dryrun]...: an independent check of the decoded fields.
    const std::string stem = file.stem().string();
    const std::string kind = stem.substr(0, stem.find('_'));
    std::string rest = stem.substr(kind.size() + 1);
    const std::string op = rest.substr(0, rest.find('_'));
    EXPECT_EQ(lower(req->kind), kind);
    EXPECT_EQ(lower(std::string(to_string(req->operation))), op);
    EXPECT_EQ(req->dry_run, stem.find("_dryrun") != std::string::npos);
    EXPECT_FALSE(req->name.empty());
    EXPECT_EQ(req->ns.empty(), kind == "gatewayclass");
    EXPECT_EQ(req->username, "admin");
    EXPECT_EQ(req->object.is_null(), req->operation == Operation::kDelete);
    EXPECT_EQ(req->old_object.is_null(), req->operation == Operation::kCreate);
    const json& live = req->object.is_null() ? req->old_object : req->object;
    EXPECT_EQ(live["metadata"]["name"], req->name);
    // The objects are exactly what the API server sent, less managedFields.
    for (const char* key : {"object", "oldObject"}) {
      json expect = raw["request"][key];
      if (expect.is_object()) expect["metadata"].erase("managedFields");
      EXPECT_EQ(key == std::string("object") ? req->object : req->old_object, expect) << key;
    }

    const json allowed_reply = json::parse(render_review(*req, allowed()));
    EXPECT_EQ(allowed_reply["apiVersion"], "admission.k8s.io/v1");
    EXPECT_EQ(allowed_reply["kind"], "AdmissionReview");
    EXPECT_EQ(allowed_reply["response"]["uid"], req->uid);
    EXPECT_EQ(allowed_reply["response"]["allowed"], true);
    EXPECT_FALSE(allowed_reply["response"].contains("patch"));

    const json deny_reply = json::parse(render_review(*req, denied("no backend", {"w1"})));
    EXPECT_EQ(deny_reply["response"]["uid"], req->uid);
    EXPECT_EQ(deny_reply["response"]["allowed"], false);
    EXPECT_EQ(deny_reply["response"]["status"]["code"], 403);
    EXPECT_EQ(deny_reply["response"]["status"]["reason"], "Forbidden");
    EXPECT_EQ(deny_reply["response"]["status"]["message"], "no backend");
    EXPECT_EQ(deny_reply["response"]["warnings"], json::array({"w1"}));
  }
}

TEST(AdmissionRender, PatchIsBase64JsonPatchWithType) {
  auto req = parse_review(
      read_file(fs::path(LG_CORPUS_DIR) / "admission-captures" / "httproute_create.json"));
  ASSERT_TRUE(req);
  const json ops =
      json::array({{{"op", "add"}, {"path", "/metadata/annotations/a~1b"}, {"value", "x"}}});
  const json reply = json::parse(render_review(*req, patched(ops, {"added hostname"})));
  EXPECT_EQ(reply["response"]["allowed"], true);
  EXPECT_EQ(reply["response"]["patchType"], "JSONPatch");
  Result<std::string> patch = base64_decode(reply["response"]["patch"].get<std::string>());
  ASSERT_TRUE(patch);
  EXPECT_EQ(json::parse(*patch), ops);
  EXPECT_EQ(reply["response"]["warnings"], json::array({"added hostname"}));

  const json empty = json::parse(render_review(*req, patched(json::array())));
  EXPECT_FALSE(empty["response"].contains("patchType"));
  EXPECT_FALSE(empty["response"].contains("patch"));
}

TEST(AdmissionRender, ErroredCarriesCodeAndUid) {
  AdmissionRequest req;
  req.uid = "u-1";
  req.review_api_version = "admission.k8s.io/v1";
  const json reply = json::parse(render_review(req, errored(500, "boom")));
  EXPECT_EQ(reply["response"]["uid"], "u-1");
  EXPECT_EQ(reply["response"]["allowed"], false);
  EXPECT_EQ(reply["response"]["status"]["code"], 500);
  EXPECT_EQ(reply["response"]["status"]["reason"], "InternalError");
}

TEST(AdmissionRender, InvalidUtf8InMessageDoesNotThrow) {
  AdmissionRequest req;
  req.uid = "u";
  std::string out;
  EXPECT_NO_THROW(out = render_review(req, denied("bad \xff\xfe bytes")));
  EXPECT_TRUE(json::accept(out));
}

TEST(AdmissionRender, ErrorBodyIsStatus) {
  const json body = json::parse(render_error_body(415, "want \"json\""));
  EXPECT_EQ(body["kind"], "Status");
  EXPECT_EQ(body["code"], 415);
  EXPECT_EQ(body["reason"], "UnsupportedMediaType");
  EXPECT_EQ(body["message"], "want \"json\"");
}

json minimal_review() {
  return json::parse(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
    "request":{"uid":"abc","kind":{"group":"","version":"v1","kind":"Service"},
               "operation":"CREATE","namespace":"shop","name":"cart","object":{"kind":"Service"},
               "oldObject":null,"dryRun":false}})");
}

TEST(AdmissionParse, MinimalReviewParses) {
  auto req = parse_review(minimal_review().dump());
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->uid, "abc");
  EXPECT_EQ(req->kind, "Service");
  EXPECT_EQ(req->group, "");
  EXPECT_EQ(req->ns, "shop");
  EXPECT_TRUE(req->object.is_object());
}

struct BadCase {
  const char* name;
  std::string body;
  std::string expect_in_error;
};

std::string with(const std::string& pointer, const json& value) {
  json doc = minimal_review();
  if (value.is_discarded()) {
    doc.erase(pointer.substr(1));  // top-level key
  } else {
    doc[json::json_pointer(pointer)] = value;
  }
  return doc.dump();
}

std::string without_request_key(const std::string& key) {
  json doc = minimal_review();
  doc["request"].erase(key);
  return doc.dump();
}

TEST(AdmissionParse, RejectsMalformedReviewsWithAReason) {
  const json gone(json::value_t::discarded);
  const std::vector<BadCase> cases = {
      {"empty", "", "empty"},
      {"not json", "{\"apiVersion\": ", "invalid JSON at byte 15: invalid value"},
      {"trailing garbage", minimal_review().dump() + "x",
       "invalid JSON at byte " + std::to_string(minimal_review().dump().size()) +
           ": text after the value"},
      {"array", "[1,2]", "not a JSON object"},
      {"string", "\"AdmissionReview\"", "not a JSON object"},
      {"wrong apiVersion", with("/apiVersion", "admission.k8s.io/v1beta1"), "AdmissionReview"},
      {"wrong kind", with("/kind", "Pod"), "AdmissionReview"},
      {"apiVersion not a string", with("/apiVersion", 1), "AdmissionReview"},
      {"no request", with("/request", gone), "missing request"},
      {"null request", with("/request", nullptr), "missing request"},
      {"request is a list", with("/request", json::array()), "request is not an object"},
      {"no uid", without_request_key("uid"), "request.uid"},
      {"uid number", with("/request/uid", 7), "request.uid"},
      {"uid empty", with("/request/uid", ""), "request.uid"},
      {"no operation", without_request_key("operation"), "request.operation"},
      {"bad operation", with("/request/operation", "PATCH"), "request.operation"},
      {"kind string", with("/request/kind", "Service"), "request.kind"},
      {"kind.kind number", with("/request/kind/kind", 3), "request.kind"},
      {"namespace number", with("/request/namespace", 3), "request.namespace"},
      {"name object", with("/request/name", json::object()), "request.name"},
      {"dryRun string", with("/request/dryRun", "true"), "request.dryRun"},
      {"userInfo string", with("/request/userInfo", "admin"), "request.userInfo"},
      {"object is a list", with("/request/object", json::array({1})), "request.object"},
      {"object is a string", with("/request/object", "x"), "request.object"},
      {"oldObject is a number", with("/request/oldObject", 1), "request.oldObject"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = parse_review(c.body);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(c.expect_in_error), std::string::npos) << r.error().message;
  }
}

TEST(AdmissionParse, ManagedFieldsOfTheObjectsAreNotKeptAndNothingElseIsLost) {
  const json managed = json::array(
      {{{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", {{"f:rules", json::object()}}}}}}});
  json doc = minimal_review();
  doc["request"]["object"]["metadata"]["managedFields"] = managed;
  doc["request"]["object"]["metadata"]["labels"] = {{"app", "cart"}};
  doc["request"]["oldObject"] = doc["request"]["object"];
  doc["request"]["oldObject"]["metadata"]["managedFields"] = "not even a list";
  // The same key anywhere else is data and stays.
  doc["request"]["object"]["spec"] = {{"metadata", {{"managedFields", managed}}}};
  doc["request"]["managedFields"] = managed;
  doc["request"]["object"]["managedFields"] = 1;

  auto req = parse_review(doc.dump());
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_FALSE(req->object["metadata"].contains("managedFields"));
  EXPECT_FALSE(req->old_object["metadata"].contains("managedFields"));
  EXPECT_EQ(req->object["metadata"]["labels"]["app"], "cart");
  EXPECT_EQ(req->object["metadata"]["name"], doc["request"]["object"]["metadata"]["name"]);
  EXPECT_EQ(req->object["spec"]["metadata"]["managedFields"], managed);
  EXPECT_EQ(req->object["managedFields"], 1);
  EXPECT_EQ(req->old_object["metadata"]["labels"]["app"], "cart");

  // A broken document is still rejected when the break is inside what is not kept.
  std::string body = doc.dump();
  body.insert(body.find(R"("f:rules":{})") + 11, ",");  // {,}
  auto broken = parse_review(body);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("invalid JSON"), std::string::npos);
}

TEST(AdmissionParse, DeepNestingIsRejectedWithoutRecursion) {
  const std::size_t depth = 100000;
  std::string deep =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"X"},"object":{"a":)";
  deep += std::string(depth, '[') + std::string(depth, ']') + "}}}";
  auto r = parse_review(deep);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested deeper"), std::string::npos);

  // Brackets inside strings do not count; moderate real nesting is fine.
  json ok = minimal_review();
  ok["request"]["object"]["s"] = std::string(10000, '[');
  json* at = &ok["request"]["object"];
  for (int i = 0; i < 100; ++i) at = &(*at)["n"];
  *at = 1;
  EXPECT_TRUE(parse_review(ok.dump()));
}

}  // namespace
}  // namespace latticeguard::webhook
