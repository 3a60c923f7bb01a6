// Replays every AdmissionReview captured from a real kube-apiserver (Gateway API v1.5.0 and
// v1.1.0 CRDs) against `latticeguard serve` over TLS, with the captured run's own manifests as
// cluster state: every answer is a well-formed AdmissionReview, patches apply to the object, the
// decisions where the rules obviously apply are the expected ones, and dry runs are decided
// exactly like their twins.
#include <gtest/gtest.h>

#include <map>

#include "tests/serve/serve_util.h"

namespace latticeguard::serve_test {
namespace {

const fs::path kCaptures = fs::path(LG_CORPUS_DIR) / "admission-captures";

struct Answer {
  std::string file;
  json request;   // the captured AdmissionReview
  json validate;  // the answers
  json mutate;
};

class Captures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    certs_ = new Certs(generate_certs(tmp_->path / "certs"));
    ASSERT_FALSE(certs_->ca_pem.empty());
    fs::path state = tmp_->path / "state";
    fs::create_directories(state);
    for (const auto& e : fs::directory_iterator(kCaptures / "manifests" / "v1")) {
      fs::copy_file(e.path(), state / e.path().filename());
    }
    fs::copy_file(kCaptures / "manifests" / "namespace.yaml", state / "namespace.yaml");
    // With a hostname domain, routes created without hostnames get a patch.
    fs::path config = tmp_->path / "config.yaml";
    write_file(config, "defaultHostname: {domain: example.com}\n");
    serve_ =
        ServeProcess::start({"--tls-cert", certs_->cert.string(), "--tls-key", certs_->key.string(),
                             "--cluster-state", state.string(), "--config", config.string()},
                            tmp_->path / "serve.log")
            .release();
    ASSERT_NE(serve_, nullptr);
    HttpsClient https(serve_->port(), certs_->ca);
    answers_ = new std::map<std::string, Answer>();
    for (const fs::path& dir : {kCaptures, kCaptures / "gateway-api-v1.1.0"}) {
      for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".json") continue;
        Answer a;
        a.file = (dir == kCaptures ? "" : "gateway-api-v1.1.0/") + e.path().filename().string();
        a.request = json::parse(read_file(e.path()), nullptr, false);
        ASSERT_FALSE(a.request.is_discarded()) << a.file;
        a.validate = https.review("/validate", a.request);
        a.mutate = https.review("/mutate", a.request);
        (*answers_)[a.file] = std::move(a);
      }
    }
  }
  void SetUp() override { ASSERT_TRUE(answers_ && !answers_->empty()) << "suite setup failed"; }
  static void TearDownTestSuite() {
    delete serve_;
    delete answers_;
    delete certs_;
    delete tmp_;
  }

  static const Answer& answer(const std::string& file) {
    static const Answer none;
    auto it = answers_->find(file);
    return it == answers_->end() ? none : it->second;
  }

  static TempDir* tmp_;
  static Certs* certs_;
  static ServeProcess* serve_;
  static std::map<std::string, Answer>* answers_;
};

TempDir* Captures::tmp_ = nullptr;
Certs* Captures::certs_ = nullptr;
ServeProcess* Captures::serve_ = nullptr;
std::map<std::string, Answer>* Captures::answers_ = nullptr;

void expect_well_formed(const Answer& a, const json& answer, const std::string& endpoint) {
  SCOPED_TRACE(a.file + " " + endpoint);
  ASSERT_TRUE(answer.is_object()) << "no HTTP 200 JSON answer";
  EXPECT_EQ(answer["apiVersion"], a.request["apiVersion"]);
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  json r = response_of(answer);
  EXPECT_EQ(r["uid"], a.request["request"]["uid"]);
  ASSERT_TRUE(r.contains("allowed") && r["allowed"].is_boolean()) << r.dump();
  if (!r["allowed"].get<bool>()) {
    ASSERT_TRUE(r.contains("status")) << r.dump();
    EXPECT_EQ(r["status"]["code"], 403) << r.dump();
    EXPECT_FALSE(r["status"].value("message", "").empty()) << r.dump();
  }
  if (r.contains("warnings")) {
    ASSERT_TRUE(r["warnings"].is_array());
    for (const json& w : r["warnings"]) EXPECT_TRUE(w.is_string());
  }
  if (r.contains("patch")) {
    EXPECT_EQ(r["patchType"], "JSONPatch");
    json patch = patch_of(answer);
    ASSERT_TRUE(patch.is_array()) << r["patch"];
    const json& obj = a.request["request"]["object"];
    ASSERT_TRUE(obj.is_object()) << "patch without an object";
    json patched;
    EXPECT_NO_THROW(patched = obj.patch(patch)) << patch.dump();
    EXPECT_NE(patched, obj);
  } else {
    EXPECT_FALSE(r.contains("patchType"));
  }
}

TEST_F(Captures, EveryCaptureGetsAWellFormedAnswerFromBothEndpoints) {
  size_t n = 0;
  std::vector<std::string> patched;
  for (const auto& [file, a] : *answers_) {
    expect_well_formed(a, a.validate, "/validate");
    expect_well_formed(a, a.mutate, "/mutate");
    // The mutating endpoint never denies (validation does).
    EXPECT_TRUE(response_of(a.mutate).value("allowed", false)) << file;
    if (response_of(a.mutate).contains("patch")) patched.push_back(file);
    ++n;
  }
  EXPECT_EQ(n, 90u) << "45 captures for each Gateway API version";
  // HTTPRoutes parking and denied-route are created without hostnames (dry run or not).
  std::vector<std::string> want;
  for (std::string dir : {"gateway-api-v1.1.0/", ""}) {
    for (const char* f : {"httproute_create.json", "httproute_create_dryrun.json",
                          "httproute_create_dryrun_deny.json"}) {
      want.push_back(dir + f);
    }
  }
  EXPECT_EQ(patched, want);
  EXPECT_EQ(answer("httproute_create.json")
                .request["request"]["object"]
                .patch(patch_of(answer("httproute_create.json").mutate))["spec"]["hostnames"],
            json::array({"parking.webhook-test.example.com"}));
}

TEST_F(Captures, DryRunIsDecidedExactlyLikeItsTwin) {
  int pairs = 0;
  for (const auto& [file, a] : *answers_) {
    std::string twin = file;
    size_t at = twin.find("_dryrun");
    if (at == std::string::npos) continue;
    twin.erase(at, 7);
    if (!answers_->count(twin)) continue;  // httproute_create_dryrun_deny has no twin
    ++pairs;
    SCOPED_TRACE(file + " vs " + twin);
    ASSERT_TRUE(a.request["request"]["dryRun"].get<bool>());
    for (auto endpoint : {&Answer::validate, &Answer::mutate}) {
      json mine = response_of(a.*endpoint), theirs = response_of(answer(twin).*endpoint);
      mine.erase("uid");
      theirs.erase("uid");
      EXPECT_EQ(mine, theirs);
    }
  }
  EXPECT_EQ(pairs, 2 * 18);
}

// The captured run's manifests: GatewayClass amazon-vpc-lattice, Gateway my-hotel, Service
// parking (80 -> 8090), Deployment parking (no probes), HTTPRoute parking -> parking:80,
// TargetGroupPolicy parking-tgp; namespace webhook-test has no production label.
TEST_F(Captures, DecisionsWhereTheRulesApply) {
  for (const char* dir : {"", "gateway-api-v1.1.0/"}) {
    std::string d = dir;
    // Creating what the cluster state already holds is consistent: allowed.
    for (const char* f :
         {"gatewayclass_create.json", "gateway_create.json", "service_create.json",
          "deployment_create.json", "httproute_create.json", "targetgrouppolicy_create.json"}) {
      EXPECT_TRUE(response_of(answer(d + f).validate).value("allowed", false))
          << d + f << ": " << answer(d + f).validate.dump();
    }
    // Deleting Service parking orphans HTTPRoute parking's backendRef.
    const json& svc_delete = answer(d + "service_delete.json").validate;
    EXPECT_FALSE(response_of(svc_delete).value("allowed", true)) << svc_delete.dump();
    EXPECT_NE(message_of(svc_delete).find("HTTPRoute webhook-test/parking"), std::string::npos)
        << message_of(svc_delete);
    EXPECT_NE(message_of(svc_delete).find("[backendref-not-found]"), std::string::npos)
        << message_of(svc_delete);
    // Deleting the route itself, or a TargetGroupPolicy, breaks nothing.
    for (const char* f : {"httproute_delete.json", "targetgrouppolicy_delete.json"}) {
      EXPECT_TRUE(response_of(answer(d + f).validate).value("allowed", false))
          << d + f << ": " << answer(d + f).validate.dump();
    }
    // The route labelled for the capture's deny webhook resolves fine: latticeguard allows it.
    const json& deny_route = answer(d + "httproute_create_dryrun_deny.json").validate;
    EXPECT_TRUE(response_of(deny_route).value("allowed", false)) << deny_route.dump();
    // TargetGroupPolicy denied-tgp is a second policy on Service parking, created after
    // parking-tgp: the controller would mark it Conflicted and ignore it.
    const json& second_tgp = answer(d + "targetgrouppolicy_create_deny.json").validate;
    EXPECT_FALSE(response_of(second_tgp).value("allowed", true)) << second_tgp.dump();
    EXPECT_NE(message_of(second_tgp).find("parking-tgp already targets Service parking"),
              std::string::npos)
        << message_of(second_tgp);
    EXPECT_NE(message_of(second_tgp).find("[policy-conflict]"), std::string::npos);
    // Switching the target group to HTTP2 replaces it: allowed, with a warning.
    const json& to_http2 = answer(d + "targetgrouppolicy_update.json").validate;
    EXPECT_TRUE(response_of(to_http2).value("allowed", false)) << to_http2.dump();
    EXPECT_NE(
        response_of(to_http2).value("warnings", json::array()).dump().find("[tgp-protocol-values]"),
        std::string::npos)
        << to_http2.dump();
    // The v2 Gateway adds an HTTPS listener with certificateRefs, which Lattice ignores.
    const json& https_listener = answer(d + "gateway_update.json").validate;
    EXPECT_TRUE(response_of(https_listener).value("allowed", false)) << https_listener.dump();
    EXPECT_NE(response_of(https_listener)
                  .value("warnings", json::array())
                  .dump()
                  .find("[listener-config]"),
              std::string::npos)
        << https_listener.dump();
  }
}

}  // namespace
}  // namespace latticeguard::serve_test
