#include "tests/kube/fake_apiserver.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <sstream>

#include "kube/encoding.h"
#include "rules/core/base64.h"

namespace latticeguard::kube::testing {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUser = "system:serviceaccount:latticeguard-system:latticeguard";

struct PemPair {
  std::string cert, key;
};

// Self-signed ECDSA P-256 certificate for 127.0.0.1/localhost that is its own CA.
PemPair make_self_signed() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("fake-apiserver"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key.get(), EVP_sha256());
  auto to_pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
  };
  PemPair p;
  p.cert = to_pem([&](BIO* b) { PEM_write_bio_X509(b, cert.get()); });
  p.key = to_pem([&](BIO* b) {
    PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return p;
}

std::string api_version_of(const FakeResource& r) {
  return r.group.empty() ? r.version : r.group + "/" + r.version;
}

// "services", "leases.coordination.k8s.io": how Status messages name a resource.
std::string qualified(const FakeResource& r) {
  return r.group.empty() ? r.resource : r.resource + "." + r.group;
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ojson status_failure(int code, const std::string& reason, const std::string& message,
                     ojson details = nullptr) {
  ojson s;
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = ojson::object();
  s["status"] = "Failure";
  s["message"] = message;
  s["reason"] = reason;
  if (!details.is_null()) s["details"] = std::move(details);
  s["code"] = code;
  return s;
}

ojson details_of(const FakeResource& r, const std::string& name) {
  ojson d;
  if (!name.empty()) d["name"] = name;
  if (!r.group.empty()) d["group"] = r.group;
  d["kind"] = r.resource;
  return d;
}

void send(httplib::Response& res, int code, const std::string& body) {
  res.status = code;
  res.set_content(body, "application/json");
}

void send_status(httplib::Response& res, const ojson& st) {
  send(res, st["code"].get<int>(), st.dump());
}

void not_found_page(httplib::Response& res) {
  res.status = 404;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content("404 page not found\n", "text/plain; charset=utf-8");
}

std::string object_key(const json& obj) {
  const json& md = obj["metadata"];
  std::string ns = md.value("namespace", "");
  return ns.empty() ? md.value("name", "") : ns + "/" + md.value("name", "");
}

}  // namespace

struct FakeApiServer::Route {
  const FakeResource* res = nullptr;
  std::string ns;
  std::string name;
  std::string key() const { return res->group + "/" + res->resource; }
  std::string object_key() const { return ns.empty() ? name : ns + "/" + name; }
};

FakeApiServer::FakeApiServer() {
  PemPair p = make_self_signed();
  cert_pem_ = p.cert;
  key_pem_ = p.key;
  const std::string gw = "gateway.networking.k8s.io";
  const std::string lattice = "application-networking.k8s.aws";
  const std::vector<FakeResource> builtins = {
      {"", "v1", "namespaces", "Namespace", false},
      {"", "v1", "services", "Service", true},
      {"", "v1", "pods", "Pod", true},
      {"", "v1", "secrets", "Secret", true},
      {"apps", "v1", "deployments", "Deployment", true},
      {"apps", "v1", "statefulsets", "StatefulSet", true},
      {"apps", "v1", "daemonsets", "DaemonSet", true},
      {"coordination.k8s.io", "v1", "leases", "Lease", true},
      {"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", false},
      {"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", false},
  };
  for (const auto& r : builtins) resources_.push_back(r);
  const std::vector<FakeResource> crds = {
      {gw, "v1", "gatewayclasses", "GatewayClass", false, true},
      {gw, "v1", "gateways", "Gateway", true, true},
      {gw, "v1", "httproutes", "HTTPRoute", true, true},
      {gw, "v1", "grpcroutes", "GRPCRoute", true, true},
      {gw, "v1beta1", "referencegrants", "ReferenceGrant", true, true},
      {gw, "v1alpha2", "tlsroutes", "TLSRoute", true, true},
      {lattice, "v1alpha1", "targetgrouppolicies", "TargetGroupPolicy", true, true},
      {lattice, "v1alpha1", "iamauthpolicies", "IAMAuthPolicy", true, true},
      {lattice, "v1alpha1", "vpcassociationpolicies", "VpcAssociationPolicy", true, true},
      {lattice, "v1alpha1", "accesslogpolicies", "AccessLogPolicy", true, true},
      {lattice, "v1alpha1", "serviceexports", "ServiceExport", true, true},
      {lattice, "v1alpha1", "serviceimports", "ServiceImport", true, true},
      {"wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport", true, true},
      {"wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", "ClusterPolicyReport", false, true},
  };
  for (const auto& r : crds) resources_.push_back(r);
}

FakeApiServer::~FakeApiServer() { stop(); }

Status FakeApiServer::start(int port) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(nullptr, X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(nullptr, EVP_PKEY_free);
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> b(
        BIO_new_mem_buf(cert_pem_.data(), static_cast<int>(cert_pem_.size())), BIO_free);
    cert.reset(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    std::unique_ptr<BIO, decltype(&BIO_free)> k(
        BIO_new_mem_buf(key_pem_.data(), static_cast<int>(key_pem_.size())), BIO_free);
    key.reset(PEM_read_bio_PrivateKey(k.get(), nullptr, nullptr, nullptr));
  }
  auto server = std::make_unique<httplib::SSLServer>(cert.get(), key.get());
  if (!server->is_valid()) return Error{"fake apiserver: TLS setup failed"};
  // Every open watch holds a worker: the default pool (8 on small machines) is too small.
  server->new_task_queue = [] { return new httplib::ThreadPool(48); };
  server->set_tcp_nodelay(true);
  server->set_read_timeout(30, 0);  // TLS handshakes are slow under sanitizers on a busy machine
  // One catch-all handler per method (the pre-routing hook would run before the body is read).
  auto h = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server->Get(".*", h).Post(".*", h).Put(".*", h).Patch(".*", h).Delete(".*", h);
  int bound = port == 0 ? server->bind_to_any_port("127.0.0.1")
                        : (server->bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) return Error{"fake apiserver: cannot bind port " + std::to_string(port)};
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  port_ = bound;
  server_ = std::move(server);
  listener_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
  return Ok{};
}

void FakeApiServer::stop() {
  if (!server_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
}

Status FakeApiServer::restart() {
  int port = port_;
  stop();
  // The old listening socket may take a moment to be released.
  for (int i = 0; i < 50; ++i) {
    if (auto st = start(port)) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error{"fake apiserver: cannot listen again on port " + std::to_string(port)};
}

void FakeApiServer::register_resource(const FakeResource& r) {
  std::lock_guard lock(mu_);
  resources_.push_back(r);
}

void FakeApiServer::unregister_resource(const std::string& group, const std::string& resource) {
  std::lock_guard lock(mu_);
  std::erase_if(resources_,
                [&](const FakeResource& r) { return r.group == group && r.resource == resource; });
}

const FakeResource* FakeApiServer::find_resource_locked(const std::string& group,
                                                        const std::string& version,
                                                        const std::string& resource) const {
  for (const auto& r : resources_) {
    if (r.group == group && r.resource == resource && (version.empty() || r.version == version)) {
      return &r;
    }
  }
  return nullptr;
}

json FakeApiServer::store_locked(json obj, const FakeResource& r, const char* type) {
  ++rv_;
  json& md = obj["metadata"];
  md["resourceVersion"] = std::to_string(rv_);
  if (!md.contains("uid")) {
    char uid[40];
    std::snprintf(uid, sizeof uid, "00000000-0000-4000-8000-%012llu",
                  static_cast<unsigned long long>(++uid_seq_));
    md["uid"] = uid;
  }
  if (!md.contains("creationTimestamp")) md["creationTimestamp"] = now_rfc3339();
  if (r.custom && !md.contains("generation")) md["generation"] = 1;
  obj["apiVersion"] = api_version_of(r);
  obj["kind"] = r.kind;
  std::string key = r.group + "/" + r.resource;
  objects_[key][object_key(obj)] = obj;
  events_.push_back({rv_, key, type, obj});
  cv_.notify_all();
  return obj;
}

json FakeApiServer::add_object(json obj) {
  std::string av = obj.value("apiVersion", "");
  std::string group = av.find('/') == std::string::npos ? "" : av.substr(0, av.find('/'));
  std::string kind = obj.value("kind", "");
  std::lock_guard lock(mu_);
  const FakeResource* r = nullptr;
  for (const auto& x : resources_) {
    if (x.group == group && x.kind == kind) r = &x;
  }
  if (!r) return nullptr;
  obj["metadata"].erase("resourceVersion");
  std::string key = r->group + "/" + r->resource;
  bool exists = objects_[key].count(object_key(obj)) > 0;
  return store_locked(std::move(obj), *r, exists ? "MODIFIED" : "ADDED");
}

bool FakeApiServer::delete_object(const std::string& group, const std::string& resource,
                                  const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto& m = objects_[group + "/" + resource];
  auto it = m.find(ns.empty() ? name : ns + "/" + name);
  if (it == m.end()) return false;
  json obj = std::move(it->second);
  m.erase(it);
  obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
  events_.push_back({rv_, group + "/" + resource, "DELETED", std::move(obj)});
  cv_.notify_all();
  return true;
}

std::optional<json> FakeApiServer::get_object(const std::string& group, const std::string& resource,
                                              const std::string& ns,
                                              const std::string& name) const {
  std::lock_guard lock(mu_);
  auto m = objects_.find(group + "/" + resource);
  if (m == objects_.end()) return std::nullopt;
  auto it = m->second.find(ns.empty() ? name : ns + "/" + name);
  if (it == m->second.end()) return std::nullopt;
  return it->second;
}

uint64_t FakeApiServer::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void FakeApiServer::forbid(const std::string& verb, const std::string& group,
                           const std::string& resource) {
  std::lock_guard lock(mu_);
  forbidden_.insert(verb + " " + group + "/" + resource);
}

void FakeApiServer::allow_all() {
  std::lock_guard lock(mu_);
  forbidden_.clear();
}

void FakeApiServer::require_tokens(std::set<std::string> tokens) {
  std::lock_guard lock(mu_);
  tokens_ = std::move(tokens);
}

void FakeApiServer::drop_watches() {
  {
    std::lock_guard lock(mu_);
    ++drop_generation_;
  }
  cv_.notify_all();
}

void FakeApiServer::expire_next_watch(const std::string& group, const std::string& resource) {
  std::lock_guard lock(mu_);
  expire_next_.insert(group + "/" + resource);
}

void FakeApiServer::garble_next(const std::string& verb, const std::string& group,
                                const std::string& resource, std::string text) {
  std::lock_guard lock(mu_);
  garbled_[verb + " " + group + "/" + resource] = std::move(text);
}

void FakeApiServer::compact() {
  {
    std::lock_guard lock(mu_);
    compacted_rv_ = rv_;
    events_.clear();
    ++drop_generation_;  // the real server's watch cache would expire these watchers too
  }
  cv_.notify_all();
}

void FakeApiServer::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  latency_ = latency;
}

void FakeApiServer::set_bookmark_interval(std::chrono::milliseconds interval) {
  std::lock_guard lock(mu_);
  bookmark_interval_ = interval;
}

void FakeApiServer::set_watch_poll_interval(std::chrono::milliseconds interval) {
  std::lock_guard lock(mu_);
  watch_poll_interval_ = interval;
}

std::vector<std::string> FakeApiServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeApiServer::count_requests(const std::string& prefix) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(requests_.begin(), requests_.end(),
                                        [&](const auto& r) { return r.rfind(prefix, 0) == 0; }));
}

void FakeApiServer::handle_discovery(const std::vector<std::string>& seg, httplib::Response& res) {
  std::lock_guard lock(mu_);
  auto resource_list = [&](const std::string& group, const std::string& version) {
    ojson list;
    list["kind"] = "APIResourceList";
    list["apiVersion"] = "v1";
    list["groupVersion"] = group.empty() ? version : group + "/" + version;
    list["resources"] = ojson::array();
    for (const auto& r : resources_) {
      if (r.group != group || r.version != version) continue;
      ojson e;
      e["name"] = r.resource;
      e["singularName"] = "";
      e["namespaced"] = r.namespaced;
      e["kind"] = r.kind;
      e["verbs"] = {"delete", "deletecollection", "get",    "list",
                    "patch",  "create",           "update", "watch"};
      list["resources"].push_back(e);
    }
    return list;
  };
  auto group_versions = [&](const std::string& group) {
    std::vector<std::string> versions;
    for (const auto& r : resources_) {
      if (r.group == group &&
          std::find(versions.begin(), versions.end(), r.version) == versions.end()) {
        versions.push_back(r.version);
      }
    }
    return versions;
  };
  auto api_group = [&](const std::string& group) {
    ojson g;
    g["name"] = group;
    g["versions"] = ojson::array();
    for (const auto& v : group_versions(group)) {
      g["versions"].push_back({{"groupVersion", group + "/" + v}, {"version", v}});
    }
    g["preferredVersion"] = g["versions"][0];
    return g;
  };
  if (seg[0] == "api") {
    if (seg.size() == 1) {
      send(res, 200,
           R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":)"
           R"([{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]})");
    } else if (seg[1] == "v1") {
      send(res, 200, resource_list("", "v1").dump());
    } else {
      not_found_page(res);
    }
    return;
  }
  std::vector<std::string> groups;
  for (const auto& r : resources_) {
    if (!r.group.empty() && std::find(groups.begin(), groups.end(), r.group) == groups.end()) {
      groups.push_back(r.group);
    }
  }
  if (seg.size() == 1) {
    ojson list;
    list["kind"] = "APIGroupList";
    list["apiVersion"] = "v1";
    list["groups"] = ojson::array();
    for (const auto& g : groups) list["groups"].push_back(api_group(g));
    send(res, 200, list.dump());
    return;
  }
  if (std::find(groups.begin(), groups.end(), seg[1]) == groups.end()) return not_found_page(res);
  if (seg.size() == 2) {
    ojson g = api_group(seg[1]);
    ojson out;
    out["kind"] = "APIGroup";
    out["apiVersion"] = "v1";
    for (auto& [k, v] : g.items()) out[k] = v;
    send(res, 200, out.dump());
    return;
  }
  auto versions = group_versions(seg[1]);
  if (std::find(versions.begin(), versions.end(), seg[2]) == versions.end()) {
    return not_found_page(res);
  }
  send(res, 200, resource_list(seg[1], seg[2]).dump());
}

void FakeApiServer::handle(const httplib::Request& req, httplib::Response& res) {
  std::chrono::milliseconds latency;
  std::set<std::string> tokens;
  size_t seq = 0;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(req.method + " " + req.target);
    seq = requests_.size();
    latency = latency_;
    tokens = tokens_;
  }
  res.set_header("Audit-Id", "fake-" + std::to_string(seq));
  res.set_header("Cache-Control", "no-cache, private");
  if (latency.count() > 0) std::this_thread::sleep_for(latency);

  std::vector<std::string> seg;
  {
    std::stringstream ss(req.path);
    for (std::string s; std::getline(ss, s, '/');) {
      if (!s.empty()) seg.push_back(s);
    }
  }
  std::string verb;
  bool watch = req.get_param_value("watch") == "1" || req.get_param_value("watch") == "true";
  auto verb_for = [&](bool named) {
    if (req.method == "GET") return std::string(watch ? "watch" : (named ? "get" : "list"));
    if (req.method == "POST") return std::string("create");
    if (req.method == "PUT") return std::string("update");
    if (req.method == "PATCH") return std::string("patch");
    if (req.method == "DELETE") return std::string(named ? "delete" : "deletecollection");
    return req.method;
  };

  if (!tokens.empty()) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) {
      // Anonymous: authenticated as system:anonymous, then forbidden (capture 54).
      send_status(res, status_failure(403, "Forbidden",
                                      "forbidden: User \"system:anonymous\" cannot " +
                                          verb_for(false) + " path \"" + req.path + "\"",
                                      nullptr));
      res.set_header("X-Content-Type-Options", "nosniff");
      return;
    }
    if (auth.rfind("Bearer ", 0) != 0 || !tokens.count(auth.substr(7))) {
      send_status(res, status_failure(401, "Unauthorized", "Unauthorized"));
      return;
    }
  }

  if (seg.empty()) return not_found_page(res);
  if (seg[0] == "version") {
    send(res, 200, R"({"major":"1","minor":"28","gitVersion":"v1.28.0"})");
    return;
  }
  if ((seg[0] == "api" && seg.size() <= 2) || (seg[0] == "apis" && seg.size() <= 3)) {
    if (req.method != "GET") return not_found_page(res);
    return handle_discovery(seg, res);
  }
  if (seg[0] != "api" && seg[0] != "apis") return not_found_page(res);

  Route route;
  std::string group = seg[0] == "api" ? "" : seg[1];
  std::string version = seg[0] == "api" ? seg[1] : seg[2];
  std::vector<std::string> rest(seg.begin() + (seg[0] == "api" ? 2 : 3), seg.end());
  std::string resource;
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    route.ns = rest[1];
    resource = rest[2];
    if (rest.size() >= 4) route.name = rest[3];
    if (rest.size() >= 5) return not_found_page(res);  // subresources are not served
  } else {
    resource = rest[0];
    if (rest.size() >= 2) route.name = rest[1];
    if (rest.size() >= 3) return not_found_page(res);
  }
  const FakeResource* r;
  {
    std::lock_guard lock(mu_);
    r = find_resource_locked(group, version, resource);
    if (!r) return not_found_page(res);
    route.res = r;
    verb = verb_for(!route.name.empty());
    if (forbidden_.count(verb + " " + group + "/" + resource)) {
      std::string scope =
          route.ns.empty() ? "at the cluster scope" : "in the namespace \"" + route.ns + "\"";
      send_status(res, status_failure(403, "Forbidden",
                                      qualified(*r) + " is forbidden: User \"" + kUser +
                                          "\" cannot " + verb + " resource \"" + resource +
                                          "\" in API group \"" + group + "\" " + scope,
                                      details_of(*r, route.name)));
      res.set_header("X-Content-Type-Options", "nosniff");
      return;
    }
    if (auto g = garbled_.find(verb + " " + group + "/" + resource); g != garbled_.end()) {
      res.status = 200;
      res.set_content(g->second + (verb == "watch" ? "\n" : ""), "application/json");
      garbled_.erase(g);
      return;
    }
  }
  if (verb == "watch") return handle_watch(route, req, res);
  if (verb == "list") return handle_list(route, req, res);

  auto not_found = [&] {
    send_status(res,
                status_failure(404, "NotFound", qualified(*r) + " \"" + route.name + "\" not found",
                               details_of(*r, route.name)));
  };
  auto bad_json = [&](const std::string& why) {
    send_status(res, status_failure(400, "BadRequest", why));
  };

  std::lock_guard lock(mu_);
  auto& store = objects_[route.key()];
  if (verb == "get") {
    auto it = store.find(route.object_key());
    if (it == store.end()) return not_found();
    send(res, 200, it->second.dump());
    return;
  }
  if (verb == "create") {
    json obj = json::parse(req.body, nullptr, false);
    if (obj.is_discarded() || !obj.is_object()) return bad_json("request body is not JSON");
    json& md = obj["metadata"];
    if (!md.is_object() || md.value("name", "").empty()) {
      send_status(res, status_failure(422, "Invalid",
                                      r->kind + " \"\" is invalid: metadata.name: Required value: "
                                                "name or generateName is required",
                                      details_of(*r, "")));
      return;
    }
    if (r->namespaced) md["namespace"] = route.ns;
    route.name = md["name"].get<std::string>();
    if (store.count(route.object_key())) {
      send_status(res, status_failure(409, "AlreadyExists",
                                      qualified(*r) + " \"" + route.name + "\" already exists",
                                      details_of(*r, route.name)));
      return;
    }
    md.erase("resourceVersion");
    send(res, 201, store_locked(std::move(obj), *r, "ADDED").dump());
    return;
  }
  auto it = store.find(route.object_key());
  if (verb == "delete") {
    if (it == store.end()) return not_found();
    json obj = std::move(it->second);
    store.erase(it);
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    events_.push_back({rv_, route.key(), "DELETED", obj});
    cv_.notify_all();
    if (r->group.empty() && (r->resource == "services" || r->resource == "pods")) {
      send(res, 200, obj.dump());  // these return the deleted object (capture 33)
      return;
    }
    ojson st;
    st["kind"] = "Status";
    st["apiVersion"] = "v1";
    st["metadata"] = ojson::object();
    st["status"] = "Success";
    ojson d = details_of(*r, route.name);
    d["uid"] = obj["metadata"].value("uid", "");
    st["details"] = d;
    send(res, 200, st.dump());
    return;
  }
  if (it == store.end()) return not_found();
  json updated;
  if (verb == "update") {
    updated = json::parse(req.body, nullptr, false);
    if (updated.is_discarded() || !updated.is_object()) return bad_json("request body is not JSON");
  } else if (verb == "patch") {
    std::string ct = req.get_header_value("Content-Type");
    json patch = json::parse(req.body, nullptr, false);
    if (ct.rfind("application/json-patch+json", 0) == 0) {
      if (patch.is_discarded() || !patch.is_array()) return bad_json("patch is not a JSON array");
      try {
        updated = it->second.patch(patch);
      } catch (const std::exception&) {
        // Real servers name neither the op nor the path (captures 91, 92).
        send_status(res, status_failure(422, "Invalid",
                                        "the server rejected our request due to an error in our "
                                        "request",
                                        ojson::object()));
        return;
      }
    } else if (ct.rfind("application/merge-patch+json", 0) == 0 ||
               (ct.rfind("application/strategic-merge-patch+json", 0) == 0 && !r->custom)) {
      if (patch.is_discarded()) return bad_json("patch is not JSON");
      updated = it->second;
      updated.merge_patch(patch);
    } else {
      send_status(res,
                  status_failure(415, "UnsupportedMediaType",
                                 "the body of the request was in an unknown format - "
                                 "accepted media types include: application/json-patch+json, "
                                 "application/merge-patch+json, application/apply-patch+yaml"));
      return;
    }
  } else {
    send_status(res, status_failure(405, "MethodNotAllowed",
                                    "the server does not allow this method on the requested "
                                    "resource",
                                    ojson::object()));
    return;
  }
  json& md = updated["metadata"];
  if (!md.is_object()) return bad_json("metadata missing");
  std::string sent_rv = md.value("resourceVersion", "");
  std::string current_rv = it->second["metadata"].value("resourceVersion", "");
  if (sent_rv.empty() && verb == "update" && r->custom) {
    ojson d = details_of(*r, route.name);
    d["causes"] = ojson::array({{{"reason", "FieldValueInvalid"},
                                 {"message", "Invalid value: 0x0: must be specified for an update"},
                                 {"field", "metadata.resourceVersion"}}});
    send_status(res, status_failure(422, "Invalid",
                                    qualified(*r) + " \"" + route.name +
                                        "\" is invalid: metadata.resourceVersion: Invalid value: "
                                        "0x0: must be specified for an update",
                                    d));
    return;
  }
  if (!sent_rv.empty() && sent_rv != current_rv) {
    send_status(res, status_failure(409, "Conflict",
                                    "Operation cannot be fulfilled on " + qualified(*r) + " \"" +
                                        route.name +
                                        "\": the object has been modified; please apply your "
                                        "changes to the latest version and try again",
                                    details_of(*r, route.name)));
    return;
  }
  md["name"] = route.name;
  if (r->namespaced) md["namespace"] = route.ns;
  md["uid"] = it->second["metadata"].value("uid", "");
  md["creationTimestamp"] = it->second["metadata"].value("creationTimestamp", "");
  if (r->custom && updated.value("spec", json()) != it->second.value("spec", json())) {
    md["generation"] = it->second["metadata"].value("generation", 1) + 1;
  }
  send(res, 200, store_locked(std::move(updated), *r, "MODIFIED").dump());
}

void FakeApiServer::handle_list(const Route& route, const httplib::Request& req,
                                httplib::Response& res) {
  std::lock_guard lock(mu_);
  const FakeResource& r = *route.res;
  size_t limit = 0;
  if (req.has_param("limit"))
    limit = std::strtoull(req.get_param_value("limit").c_str(), nullptr, 10);
  if (req.get_param_value("resourceVersion") == "0") limit = 0;  // served from the watch cache
  std::string start;
  uint64_t snapshot_rv = rv_;
  if (req.has_param("continue")) {
    Result<std::string> raw = base64_decode(req.get_param_value("continue"), Base64::kUrl);
    json tok = json::parse(raw ? *raw : std::string(), nullptr, false);
    if (tok.is_discarded() || !tok.is_object() || !tok.contains("start")) {
      send_status(res, status_failure(400, "BadRequest", "continue key is not valid"));
      return;
    }
    start = tok.value("start", "");
    int64_t tok_rv = tok.value("rv", int64_t{0});
    if (tok_rv >= 0 && static_cast<uint64_t>(tok_rv) <= compacted_rv_) {
      ojson st = status_failure(
          410, "Expired",
          "The provided continue parameter is too old to display a consistent list result. You "
          "can start a new list without the continue parameter, or use the continue token in "
          "this response to retrieve the remainder of the results. Continuing with the provided "
          "token results in an inconsistent list - objects that were created, modified, or "
          "deleted between the time the first chunk was returned and now may show up in the "
          "list.");
      json fresh = {{"v", "meta.k8s.io/v1"}, {"rv", -1}, {"start", start}};
      st["metadata"]["continue"] = base64_encode(fresh.dump(), Base64::kUrl);
      send_status(res, st);
      return;
    }
    if (tok_rv > 0) snapshot_rv = static_cast<uint64_t>(tok_rv);
  }
  std::string prefix = route.ns.empty() ? "" : route.ns + "/";
  json items = json::array();
  size_t remaining = 0;
  std::string last_key;
  const auto& store = objects_[route.key()];
  for (auto it = store.lower_bound(start); it != store.end(); ++it) {
    if (!prefix.empty() && it->first.rfind(prefix, 0) != 0) continue;
    if (limit && items.size() == limit) {
      ++remaining;
      continue;
    }
    json item = it->second;
    if (!r.custom) {
      item.erase("kind");  // built-in list items carry no kind/apiVersion (captures 12-18)
      item.erase("apiVersion");
    }
    items.push_back(std::move(item));
    last_key = it->first;
  }
  json md = {{"resourceVersion", std::to_string(snapshot_rv)}};
  if (remaining) {
    json tok = {{"v", "meta.k8s.io/v1"}, {"rv", snapshot_rv}, {"start", last_key + '\0'}};
    md["continue"] = base64_encode(tok.dump(), Base64::kUrl);
    md["remainingItemCount"] = remaining;
  } else if (r.custom) {
    md["continue"] = "";
  }
  json list = {{"apiVersion", api_version_of(r)},
               {"kind", r.kind + "List"},
               {"metadata", md},
               {"items", std::move(items)}};
  send(res, 200, list.dump());
}

void FakeApiServer::handle_watch(const Route& route, const httplib::Request& req,
                                 httplib::Response& res) {
  struct WatchState {
    std::string key;
    std::string prefix;
    uint64_t last_rv = 0;
    uint64_t drop_generation = 0;
    Clock::time_point deadline;
    Clock::time_point last_bookmark;
    bool bookmarks = false;
    std::vector<std::string> pending;  // initial events or the ERROR event, then end
    bool end_after_pending = false;
    std::string api_version, kind;
  };
  auto st = std::make_shared<WatchState>();
  st->key = route.key();
  st->prefix = route.ns.empty() ? "" : route.ns + "/";
  st->bookmarks = req.get_param_value("allowWatchBookmarks") == "true";
  st->api_version = api_version_of(*route.res);
  st->kind = route.res->kind;
  int timeout = req.has_param("timeoutSeconds")
                    ? std::atoi(req.get_param_value("timeoutSeconds").c_str())
                    : 1800;
  st->deadline = Clock::now() + std::chrono::seconds(timeout);
  st->last_bookmark = Clock::now();
  std::string rv_param = req.get_param_value("resourceVersion");
  {
    std::lock_guard lock(mu_);
    st->drop_generation = drop_generation_;
    uint64_t from = std::strtoull(rv_param.c_str(), nullptr, 10);
    if (rv_param.empty() || rv_param == "0") {
      for (const auto& [k, obj] : objects_[st->key]) {
        if (!st->prefix.empty() && k.rfind(st->prefix, 0) != 0) continue;
        st->pending.push_back(json{{"type", "ADDED"}, {"object", obj}}.dump() + "\n");
      }
      st->last_rv = rv_;
    } else if (from < compacted_rv_ || expire_next_.erase(st->key)) {
      ojson err = status_failure(410, "Expired",
                                 "too old resource version: " + rv_param + " (" +
                                     std::to_string(compacted_rv_ ? compacted_rv_ : rv_) + ")");
      err.erase("details");
      ojson ev;
      ev["type"] = "ERROR";
      ev["object"] = err;
      st->pending.push_back(ev.dump() + "\n");
      st->end_after_pending = true;
    } else {
      st->last_rv = from;
    }
  }
  open_watches_.fetch_add(1);
  res.status = 200;
  res.set_chunked_content_provider(
      "application/json",
      [this, st](size_t, httplib::DataSink& sink) {
        if (!st->pending.empty()) {
          for (const auto& line : st->pending) {
            if (!sink.write(line.data(), line.size())) return false;
          }
          st->pending.clear();
          if (st->end_after_pending) sink.done();
          return true;
        }
        std::vector<std::string> lines;
        {
          std::unique_lock lock(mu_);
          if (stopping_ || drop_generation_ != st->drop_generation) return false;
          auto first = std::upper_bound(events_.begin(), events_.end(), st->last_rv,
                                        [](uint64_t rv, const Event& e) { return rv < e.rv; });
          for (auto it = first; it != events_.end(); ++it) {
            st->last_rv = it->rv;
            if (it->key != st->key) continue;
            if (!st->prefix.empty() && object_key(it->object).rfind(st->prefix, 0) != 0) continue;
            lines.push_back(json{{"type", it->type}, {"object", it->object}}.dump() + "\n");
          }
          auto now = Clock::now();
          if (lines.empty() && st->bookmarks && now - st->last_bookmark >= bookmark_interval_) {
            st->last_bookmark = now;
            ojson obj;
            obj["apiVersion"] = st->api_version;
            obj["kind"] = st->kind;
            obj["metadata"] = {{"resourceVersion", std::to_string(st->last_rv)}};
            ojson ev;
            ev["type"] = "BOOKMARK";
            ev["object"] = obj;
            lines.push_back(ev.dump() + "\n");
          }
          if (lines.empty()) {
            if (now >= st->deadline) {
              lock.unlock();
              sink.done();
              return true;
            }
            // Wake for the next bookmark or the deadline if sooner than the poll interval.
            auto until = now + watch_poll_interval_;
            if (st->bookmarks) until = std::min(until, st->last_bookmark + bookmark_interval_);
            cv_.wait_until(lock, std::min(until, st->deadline));
            return true;
          }
        }
        for (const auto& line : lines) {  // one chunk per event, as the real server sends
          if (!sink.write(line.data(), line.size())) return false;
        }
        return true;
      },
      [this](bool) { open_watches_.fetch_sub(1); });
}

}  // namespace latticeguard::kube::testing
