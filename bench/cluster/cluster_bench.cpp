// Cluster benchmark: `latticeguard serve` and `latticeguard audit` against a fake API server
// holding a large cluster (default 50,000 objects across 500 namespaces), compared in the same
// run with the same webhook against a small fake server that holds only the reviewed app's
// neighbourhood (the objects the rules read for these reviews, as the large server has them).
//
//   cluster_bench [--runs 3] [--rounds 3] [--rate 1000] [--duration 10] [--namespaces 500]
//                 [--per-kind 10000] [--latticeguard PATH] [--paced PATH] [--keep]
//
// Per run: starts `latticeguard serve --kubeconfig K` as a child process against the large
// server, times start -> /readyz 200 (list of every kind), reads the child's VmRSS/VmHWM from
// /proc, then starts a second webhook against the small server. With both up, it sends the
// pre-built AdmissionReviews at a fixed rate with lg_paced (p99 from each request's scheduled
// time) to both webhooks at once, half the rate to each, their requests alternating (large,
// small, large, ...), so a slow spell of the machine falls on both sides alike. Then it times
// `latticeguard audit --kubeconfig K -o json` over the large server.
// Prints every run and the medians, and beside the client's latencies the webhooks' own time
// per review from their decision logs (no client, TLS or scheduler in it). Targets: RSS <= 100
// MB, p99 large/small <= 1.2 (client side, pooled), audit <= 5 s; exit 0 when all are met, 1
// when one is missed, 2 on error.
//
// Loopback only. Objects are shaped like the API server's (managedFields, status,
// last-applied annotation) so the cache's stripping is part of what is measured.

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../admission/percentile.h"
#include "tests/kube/fake_apiserver.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using latticeguard::bench::percentile_ms;
using latticeguard::kube::testing::FakeApiServer;
namespace fs = std::filesystem;

constexpr const char* kGatewayNs = "lattice-system";
constexpr const char* kGateway = "bench-sn";
constexpr const char* kClass = "amazon-vpc-lattice";
constexpr const char* kController = "application-networking.k8s.aws/gateway-api-controller";
constexpr const char* kReviewNs = "team-000";  // production (even index)

struct Options {
  std::string latticeguard = LG_BENCH_LATTICEGUARD;
  std::string paced = LG_BENCH_PACED;
  int runs = 3;
  int rounds = 3;  // paced segments per body and webhook in a run
  int rate = 1000;
  int duration_s = 10;  // seconds per paced segment: 5,000 requests to each webhook
  int namespaces = 500;
  int per_kind = 10000;  // Services, Deployments, HTTPRoutes, TargetGroupPolicies; and "others"
  bool keep = false;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "cluster_bench: %s\n", why.c_str());
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--keep") {
      o.keep = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::printf(
          "usage: cluster_bench [--runs N] [--rounds N] [--rate N] [--duration S] [--namespaces N] "
          "[--per-kind N] [--latticeguard PATH] [--paced PATH] [--keep]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) die("missing value for " + a);
    std::string v = argv[++i];
    if (a == "--latticeguard") {
      o.latticeguard = v;
    } else if (a == "--paced") {
      o.paced = v;
    } else if (a == "--runs") {
      o.runs = std::atoi(v.c_str());
    } else if (a == "--rounds") {
      o.rounds = std::atoi(v.c_str());
    } else if (a == "--rate") {
      o.rate = std::atoi(v.c_str());
    } else if (a == "--duration") {
      o.duration_s = std::atoi(v.c_str());
    } else if (a == "--namespaces") {
      o.namespaces = std::atoi(v.c_str());
    } else if (a == "--per-kind") {
      o.per_kind = std::atoi(v.c_str());
    } else {
      die("unknown argument " + a);
    }
  }
  if (o.runs < 1 || o.rounds < 1 || o.rate < 1 || o.duration_s < 1 || o.namespaces < 2 ||
      o.per_kind < 1) {
    die("--runs, --rounds, --rate, --duration, --per-kind must be positive, --namespaces >= 2");
  }
  return o;
}

// ---- objects --------------------------------------------------------------------------------

std::string ns_name(int i) {
  char b[32];
  std::snprintf(b, sizeof b, "team-%03d", i);
  return b;
}

// What the API server adds to what the user applied: server metadata, the last-applied
// annotation and managedFields, so the cache has something to strip.
json served(json obj) {
  json& md = obj["metadata"];
  json applied = obj;
  md["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = applied.dump() + "\n";
  md["managedFields"] =
      json::array({{{"apiVersion", obj["apiVersion"]},
                    {"fieldsType", "FieldsV1"},
                    {"fieldsV1",
                     {{"f:metadata", {{"f:annotations", json::object()}}},
                      {"f:spec", {{"f:selector", json::object()}, {"f:ports", json::object()}}}}},
                    {"manager", "kubectl-client-side-apply"},
                    {"operation", "Update"},
                    {"time", "2026-11-26T22:37:12Z"}}});
  return obj;
}

json namespace_obj(const std::string& name, bool production) {
  return served({{"apiVersion", "v1"},
                 {"kind", "Namespace"},
                 {"metadata",
                  {{"name", name},
                   {"labels",
                    {{"kubernetes.io/metadata.name", name},
                     {"environment", production ? "production" : "staging"}}}}},
                 {"spec", {{"finalizers", {"kubernetes"}}}},
                 {"status", {{"phase", "Active"}}}});
}

json gateway_class() {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "GatewayClass"},
          {"metadata", {{"name", kClass}}},
          {"spec", {{"controllerName", kController}}}};
}

json gateway(const std::string& ns, const std::string& name) {
  return served(
      {{"apiVersion", "gateway.networking.k8s.io/v1"},
       {"kind", "Gateway"},
       {"metadata", {{"name", name}, {"namespace", ns}}},
       {"spec",
        {{"gatewayClassName", kClass},
         {"listeners",
          {{{"name", "http"},
            {"protocol", "HTTP"},
            {"port", 80},
            {"allowedRoutes",
             {{"namespaces", {{"from", "All"}}},
              {"kinds", {{{"group", "gateway.networking.k8s.io"}, {"kind", "HTTPRoute"}}}}}}}}}}},
       {"status", {{"conditions", {{{"type", "Programmed"}, {"status", "True"}}}}}}});
}

json auth_policy(const std::string& ns, const std::string& name, const std::string& target_kind,
                 const std::string& target) {
  return served(
      {{"apiVersion", "application-networking.k8s.aws/v1alpha1"},
       {"kind", "IAMAuthPolicy"},
       {"metadata", {{"name", name}, {"namespace", ns}}},
       {"spec",
        {{"targetRef",
          {{"group", "gateway.networking.k8s.io"}, {"kind", target_kind}, {"name", target}}},
         {"policy",
          R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",)"
          R"("Action":"vpc-lattice-svcs:Invoke","Resource":"*","Condition":{"StringEquals":)"
          R"({"aws:PrincipalOrgID":["o-a1b2c3d4e5"]}}}]})"}}}});
}

json reference_grant(const std::string& ns, const std::string& name, const std::string& from_ns) {
  return served({{"apiVersion", "gateway.networking.k8s.io/v1beta1"},
                 {"kind", "ReferenceGrant"},
                 {"metadata", {{"name", name}, {"namespace", ns}}},
                 {"spec",
                  {{"from",
                    {{{"group", "gateway.networking.k8s.io"},
                      {"kind", "HTTPRoute"},
                      {"namespace", from_ns}}}},
                   {"to", {{{"group", ""}, {"kind", "Service"}}}}}}});
}

// One application: the four objects that agree with each other (the set is consistent).
struct App {
  std::string ns, name;
  int port;
  std::string probe;

  json deployment() const {
    return served(
        {{"apiVersion", "apps/v1"},
         {"kind", "Deployment"},
         {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
         {"spec",
          {{"replicas", 2},
           {"selector", {{"matchLabels", {{"app", name}}}}},
           {"strategy", {{"type", "RollingUpdate"}}},
           {"template",
            {{"metadata", {{"labels", {{"app", name}, {"version", "1.4.2"}}}}},
             {"spec",
              {{"containers",
                {{{"name", "app"},
                  {"image", "ghcr.io/example/" + name + ":1.4.2"},
                  {"ports", {{{"name", "http"}, {"containerPort", port}, {"protocol", "TCP"}}}},
                  {"env", {{{"name", "PORT"}, {"value", std::to_string(port)}}}},
                  {"resources", {{"requests", {{"cpu", "250m"}, {"memory", "256Mi"}}}}},
                  {"readinessProbe",
                   {{"httpGet", {{"path", probe}, {"port", port}, {"scheme", "HTTP"}}},
                    {"periodSeconds", 10}}}}}},
               {"restartPolicy", "Always"},
               {"dnsPolicy", "ClusterFirst"}}}}}}},
         {"status", {{"replicas", 2}, {"readyReplicas", 2}}}});
  }
  json service() const {
    return served(
        {{"apiVersion", "v1"},
         {"kind", "Service"},
         {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
         {"spec",
          {{"selector", {{"app", name}}},
           {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"targetPort", port}}}},
           {"clusterIP", "10.100.12.34"},
           {"clusterIPs", {"10.100.12.34"}},
           {"type", "ClusterIP"},
           {"sessionAffinity", "None"}}},
         {"status", {{"loadBalancer", json::object()}}}});
  }
  json route(const std::string& route_name) const {
    return served(
        {{"apiVersion", "gateway.networking.k8s.io/v1"},
         {"kind", "HTTPRoute"},
         {"metadata", {{"name", route_name}, {"namespace", ns}}},
         {"spec",
          {{"parentRefs",
            {{{"group", "gateway.networking.k8s.io"},
              {"kind", "Gateway"},
              {"name", kGateway},
              {"namespace", kGatewayNs},
              {"sectionName", "http"}}}},
           {"hostnames", {route_name + "." + ns + ".bench.internal"}},
           {"rules",
            {{{"matches", {{{"path", {{"type", "PathPrefix"}, {"value", "/" + route_name}}}}}},
              {"backendRefs",
               {{{"group", ""},
                 {"kind", "Service"},
                 {"name", name},
                 {"port", 80},
                 {"weight", 1}}}}}}}}},
         {"status", {{"parents", json::array()}}}});
  }
  json tgp(const std::string& tgp_name) const {
    return served({{"apiVersion", "application-networking.k8s.aws/v1alpha1"},
                   {"kind", "TargetGroupPolicy"},
                   {"metadata", {{"name", tgp_name}, {"namespace", ns}}},
                   {"spec",
                    {{"targetRef", {{"group", ""}, {"kind", "Service"}, {"name", name}}},
                     {"healthCheck",
                      {{"enabled", true},
                       {"path", probe},
                       {"port", port},
                       {"intervalSeconds", 10},
                       {"timeoutSeconds", 2},
                       {"unhealthyThresholdCount", 3},
                       {"statusMatch", "200-399"}}}}}});
  }
};

App app(int i, int namespaces) {
  static const char* kProbes[] = {"/healthz", "/readyz", "/health", "/v1/health"};
  static const int kPorts[] = {3000, 8080, 8443, 9000};
  char name[32];
  std::snprintf(name, sizeof name, "app-%05d", i);
  return App{ns_name(i % namespaces), name, kPorts[i % 4], kProbes[(i / 4) % 4]};
}

// The objects both servers share: the Lattice Gateway, its class and auth policy, and the
// namespaces of the reviewed objects.
void add_base(FakeApiServer& api) {
  api.add_object(namespace_obj(kGatewayNs, true));
  api.add_object(gateway_class());
  api.add_object(gateway(kGatewayNs, kGateway));
  api.add_object(auth_policy(kGatewayNs, std::string(kGateway) + "-auth", "Gateway", kGateway));
}
constexpr int kBaseObjects = 4;

// Returns the number of objects added.
int fill_large(FakeApiServer& api, const Options& o) {
  add_base(api);
  int n = kBaseObjects;
  for (int i = 0; i < o.per_kind; ++i) {
    App a = app(i, o.namespaces);
    api.add_object(a.deployment());
    api.add_object(a.service());
    api.add_object(a.route(a.name));
    api.add_object(a.tgp(a.name + "-tgp"));
    n += 4;
  }
  // "Others": per namespace the Namespace, a Gateway and its IAMAuthPolicy; IAMAuthPolicies on
  // the routes of production namespaces; ReferenceGrants for the rest.
  int others = o.per_kind - kBaseObjects;  // the base objects count as others too
  for (int i = 0; i < o.namespaces && others > 0; ++i) {
    std::string ns = ns_name(i);
    api.add_object(namespace_obj(ns, i % 2 == 0));
    api.add_object(gateway(ns, "gw-" + ns));
    api.add_object(auth_policy(ns, "gw-" + ns + "-auth", "Gateway", "gw-" + ns));
    others -= 3;
    n += 3;
  }
  for (int i = 0; i < o.per_kind && others > 0; ++i) {
    App a = app(i, o.namespaces);
    if ((i % o.namespaces) % 2 != 0) continue;
    api.add_object(auth_policy(a.ns, a.name + "-auth", "HTTPRoute", a.name));
    --others;
    ++n;
  }
  for (int i = 0; others > 0; ++i) {
    int ns = i % o.namespaces;
    char name[32];
    std::snprintf(name, sizeof name, "grant-%05d", i);
    api.add_object(reference_grant(ns_name(ns), name, ns_name((ns + 1) % o.namespaces)));
    --others;
    ++n;
  }
  return n;
}

// The small server: the reviewed app's neighbourhood as the large server has it (its Namespace,
// Deployment, Service, HTTPRoute and TargetGroupPolicy, the namespace's Gateway and the
// IAMAuthPolicies of both), so both webhooks read the same objects and reach the same decisions
// with the same rule work; what differs is only the ~50,000 objects no rule reads for these
// reviews.
int fill_small(FakeApiServer& api, const Options& o) {
  add_base(api);
  App a = app(0, o.namespaces);
  for (const json& obj : {namespace_obj(a.ns, true), a.deployment(), a.service(), a.route(a.name),
                          a.tgp(a.name + "-tgp"), gateway(a.ns, "gw-" + a.ns),
                          auth_policy(a.ns, "gw-" + a.ns + "-auth", "Gateway", "gw-" + a.ns),
                          auth_policy(a.ns, a.name + "-auth", "HTTPRoute", a.name)}) {
    api.add_object(obj);
  }
  return kBaseObjects + 8;
}

json review(const std::string& operation, const json& obj, const std::string& resource) {
  std::string av = obj["apiVersion"];
  std::string group = av.find('/') == std::string::npos ? "" : av.substr(0, av.find('/'));
  std::string version = av.substr(av.find('/') + 1);
  json gvk = {{"group", group}, {"version", version}, {"kind", obj["kind"]}};
  json gvr = {{"group", group}, {"version", version}, {"resource", resource}};
  json served_obj = obj;
  served_obj["metadata"]["uid"] = "7f0c2a4e-0000-4000-8000-000000000001";
  served_obj["metadata"]["resourceVersion"] = "123456";
  served_obj["metadata"]["creationTimestamp"] = "2026-11-26T22:37:12Z";
  return {{"kind", "AdmissionReview"},
          {"apiVersion", "admission.k8s.io/v1"},
          {"request",
           {{"uid", "0d6c5a2b-1111-4222-8333-" + resource.substr(0, 12)},
            {"kind", gvk},
            {"resource", gvr},
            {"requestKind", gvk},
            {"requestResource", gvr},
            {"name", obj["metadata"]["name"]},
            {"namespace", obj["metadata"]["namespace"]},
            {"operation", operation},
            {"userInfo", {{"username", "admin"}, {"groups", {"system:masters"}}}},
            {"object", served_obj},
            {"oldObject", nullptr},
            {"dryRun", false}}}};
}

// ---- processes and files ----------------------------------------------------------------------

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) die("cannot write " + p.string());
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An ephemeral port the kernel just handed out; a race with other processes is unlikely.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Starts argv with stdout/stderr to `log` (or /dev/null); returns the child's pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    int fd = open(log.empty() ? "/dev/null" : log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs to completion; returns (exit code, seconds).
std::pair<int, double> run_timed(const std::vector<std::string>& args, const fs::path& out) {
  auto t0 = Clock::now();
  int code = wait_exit(spawn(args, out));
  return {code, std::chrono::duration<double>(Clock::now() - t0).count()};
}

double status_mb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024;
  }
  return -1;
}

std::string loadavg() {
  std::string s = read_text("/proc/loadavg");
  size_t cut = 0;
  for (int spaces = 0; cut < s.size() && spaces < 3; ++cut) spaces += s[cut] == ' ';
  return s.substr(0, cut ? cut - 1 : 0);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

// A `latticeguard serve` child against one fake server.
class Webhook {
 public:
  Webhook(const Options& o, const fs::path& work, const fs::path& kubeconfig,
          const std::string& tag)
      : work_(work), port_(free_port()) {
    started_ = Clock::now();
    pid_ =
        spawn({o.latticeguard, "serve", "--listen", "127.0.0.1:" + std::to_string(port_),
               "--tls-cert", (work / "tls.crt").string(), "--tls-key", (work / "tls.key").string(),
               "--kubeconfig", kubeconfig.string(), "--audit-interval", "0", "--log-level", "info",
               "--config", (work / "synced.yaml").string()},
              work / ("serve-" + tag + ".log"));
  }
  ~Webhook() { stop(); }

  // Seconds from start to the first /readyz 200; dies when the child exits or after 300 s.
  double wait_ready() {
    httplib::SSLClient c("127.0.0.1", port_);
    c.set_ca_cert_path((work_ / "ca.crt").c_str());
    c.set_connection_timeout(std::chrono::seconds(1));
    c.set_read_timeout(std::chrono::seconds(2));
    while (Clock::now() - started_ < std::chrono::seconds(300)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        die("latticeguard serve exited during start-up; see its log in " + work_.string());
      }
      if (auto r = c.Get("/readyz"); r && r->status == 200) {
        return std::chrono::duration<double>(Clock::now() - started_).count();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    die("latticeguard serve not ready after 300 s");
  }

  // The decision for a body, to show that both servers agree.
  std::string decide(const std::string& body) {
    httplib::SSLClient c("127.0.0.1", port_);
    c.set_ca_cert_path((work_ / "ca.crt").c_str());
    auto r = c.Post("/validate", body, "application/json");
    if (!r || r->status != 200) die("POST /validate failed");
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) die("POST /validate: response is not JSON");
    const json& resp = j["response"];
    if (resp.value("allowed", false)) return "allowed";
    return "denied: " + resp["status"].value("message", "").substr(0, 160);
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/validate"; }
  pid_t pid() const { return pid_; }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    wait_exit(pid_);
    pid_ = -1;
  }

 private:
  fs::path work_;
  int port_;
  pid_t pid_ = -1;
  Clock::time_point started_;
};

// One side of a paired segment: where it sends, where its latencies (ns) are pooled, and its
// lg_paced "key=value ..." line once the segment has run.
struct Side {
  std::string url;
  std::vector<int64_t>* pool;
  std::map<std::string, double> line;
};

// One paired lg_paced segment: --rate in all, split evenly over `sides`, their sends alternating
// in the order given, so a slow spell of the machine falls on every side alike and the machine
// carries the same load as with one webhook at --rate. Fills each side's line and appends its
// latencies to its pool, so the segments of one side can be judged as one distribution.
void paced(const Options& o, std::vector<Side>& sides, const fs::path& body, const fs::path& work) {
  fs::path out = work / "paced.out";
  std::vector<std::string> cmd = {o.paced,
                                  "--body",
                                  body.string(),
                                  "--ca",
                                  (work / "ca.crt").string(),
                                  "--rate",
                                  std::to_string(o.rate / static_cast<double>(sides.size())),
                                  "--duration",
                                  std::to_string(o.duration_s),
                                  "--connections",
                                  "4"};
  auto samples = [&](size_t i) { return work / ("paced-" + std::to_string(i) + ".samples"); };
  for (size_t i = 0; i < sides.size(); ++i) {
    cmd.insert(cmd.end(), {"--url", sides[i].url, "--samples", samples(i).string()});
  }
  auto [code, secs] = run_timed(cmd, out);
  std::string text = read_text(out);
  if (code != 0) die("lg_paced exited " + std::to_string(code) + ": " + text);
  // One line per side, in --url order: "url=URL key=value ...".
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string url;
    fields >> url;
    auto side = std::find_if(sides.begin(), sides.end(),
                             [&](const Side& s) { return url == "url=" + s.url; });
    if (side == sides.end()) continue;
    for (std::string field; fields >> field;) {
      size_t eq = field.find('=');
      if (eq != std::string::npos) side->line[field.substr(0, eq)] = std::atof(&field[eq + 1]);
    }
  }
  for (size_t i = 0; i < sides.size(); ++i) {
    if (sides[i].line.count("p99_ms") == 0) {
      die("lg_paced printed no line for " + sides[i].url + ": " + text);
    }
    std::ifstream in(samples(i));
    for (int64_t ns; in >> ns;) sides[i].pool->push_back(ns);
  }
}

// The webhook's own time per review, from its decision log lines ("event=admission ...
// kind=K ... micros=N": from reading the body to the rendered answer), appended per kind in ns.
// Unlike lg_paced's latencies, these leave out the client, TLS and the scheduler, so they show
// what the cache itself costs a review.
void read_server_micros(const fs::path& log, std::map<std::string, std::vector<int64_t>>& by_kind) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("event=admission ") == std::string::npos) continue;
    size_t k = line.find(" kind="), m = line.rfind(" micros=");
    if (k == std::string::npos || m == std::string::npos) continue;
    std::string kind = line.substr(k + 6, line.find(' ', k + 6) - (k + 6));
    by_kind[kind].push_back(std::atoll(line.c_str() + m + 8) * 1000);
  }
}

fs::path write_kubeconfig(const fs::path& dir, const std::string& name, const FakeApiServer& api) {
  fs::path ca = dir / (name + "-ca.pem");
  write_file(ca, api.ca_pem());
  fs::path k = dir / (name + ".kubeconfig");
  write_file(k,
             "apiVersion: v1\nkind: Config\ncurrent-context: bench\nclusters:\n- name: bench\n"
             "  cluster:\n    server: " +
                 api.url() + "\n    certificate-authority: " + ca.string() +
                 "\ncontexts:\n- name: bench\n  context:\n    cluster: bench\n"
                 "    user: bench\nusers:\n- name: bench\n  user:\n    token: bench\n");
  return k;
}

struct Body {
  std::string name;
  fs::path path;
  std::string kind;  // of the reviewed object, as the decision log names it
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  for (const std::string& bin : {o.latticeguard, o.paced}) {
    if (access(bin.c_str(), X_OK) != 0) die(bin + " is not built");
  }
  std::string work_template = (fs::temp_directory_path() / "lg-bench-cluster.XXXXXX").string();
  if (!mkdtemp(work_template.data())) die("mkdtemp failed");
  fs::path work = work_template;
  std::printf("machine:   nproc=%u cpu=\"%s\" load=\"%s\"\n", std::thread::hardware_concurrency(),
              cpu_model().c_str(), loadavg().c_str());

  if (auto [code, secs] = run_timed(
          {o.latticeguard, "certs", "generate", "--out", work.string(), "--ip", "127.0.0.1"},
          work / "certs.log");
      code != 0) {
    die("latticeguard certs generate failed: " + read_text(work / "certs.log"));
  }

  // /readyz waits for the cache only when the webhook may not answer before it is synced.
  write_file(work / "synced.yaml", "failOpenUntilSynced: false\n");

  auto t0 = Clock::now();
  FakeApiServer large, small;
  int large_n = fill_large(large, o);
  int small_n = fill_small(small, o);
  // A real API server runs elsewhere and sends bookmarks about once a minute; the fake ones
  // share this machine's cores with what is measured, so their quiet watches should not wake
  // every 50 ms (28 watches: over 500 wake-ups a second).
  for (FakeApiServer* api : {&large, &small}) {
    api->set_bookmark_interval(std::chrono::seconds(60));
    api->set_watch_poll_interval(std::chrono::seconds(1));
  }
  if (!large.start() || !small.start()) die("fake API server did not start");
  fs::path large_k = write_kubeconfig(work, "large", large);
  fs::path small_k = write_kubeconfig(work, "small", small);
  std::printf("state:     large=%d objects in %d namespaces, small=%d objects (built in %.1f s)\n",
              large_n, o.namespaces, small_n,
              std::chrono::duration<double>(Clock::now() - t0).count());

  std::printf(
      "admission: %d req/s in all for %d s per segment, half to each webhook, their "
      "requests alternating (lg_paced, 4 keep-alive TLS connections each)\n",
      o.rate, o.duration_s);

  // The reviewed objects: a new route and policy for app 0, in a production namespace.
  App a = app(0, o.namespaces);
  std::vector<Body> bodies = {
      {"httproute-create", work / "httproute-create.json", "HTTPRoute"},
      {"targetgrouppolicy-create", work / "targetgrouppolicy-create.json", "TargetGroupPolicy"}};
  write_file(bodies[0].path, review("CREATE", a.route("bench-review"), "httproutes").dump());
  write_file(bodies[1].path,
             review("CREATE", a.tgp("bench-review-tgp"), "targetgrouppolicies").dump());

  std::vector<double> sync_s, rss_mb, hwm_mb, rss_after_mb, audit_s;
  // Per body: every segment's p99 and p50 on each side, and each round's large/small p99 ratio.
  std::map<std::string, std::vector<double>> p99_large, p99_small, p50_large, p50_small, ratios;
  // Per body and side: every latency of every segment of every run.
  std::map<std::string, std::vector<int64_t>> pool_large, pool_small;
  // Per kind and side: the webhook's own time for every review of every run.
  std::map<std::string, std::vector<int64_t>> server_large, server_small;
  for (int run = 1; run <= o.runs; ++run) {
    double ready = 0, rss = 0, hwm = 0, rss_after = 0;
    {
      Webhook large_w(o, work, large_k, "large");
      ready = large_w.wait_ready();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // last snapshot published
      rss = status_mb(large_w.pid(), "VmRSS");
      hwm = status_mb(large_w.pid(), "VmHWM");
      Webhook small_w(o, work, small_k, "small");
      small_w.wait_ready();
      if (run == 1) {
        for (const Body& b : bodies) {
          std::printf("decision:  %s: large %s, small %s\n", b.name.c_str(),
                      large_w.decide(read_text(b.path)).c_str(),
                      small_w.decide(read_text(b.path)).c_str());
        }
      }
      int segment = 0;
      for (int round = 0; round < o.rounds; ++round) {
        for (const Body& b : bodies) {
          // Both sides at once, their sends alternating; which one sends first alternates too.
          bool large_first = (segment++ % 2) == 0;
          std::vector<Side> sides = {{large_w.url(), &pool_large[b.name], {}},
                                     {small_w.url(), &pool_small[b.name], {}}};
          if (!large_first) std::swap(sides[0], sides[1]);
          paced(o, sides, b.path, work);
          std::map<std::string, double>& l = sides[large_first ? 0 : 1].line;
          std::map<std::string, double>& sm = sides[large_first ? 1 : 0].line;
          p99_large[b.name].push_back(l["p99_ms"]);
          p50_large[b.name].push_back(l["p50_ms"]);
          p99_small[b.name].push_back(sm["p99_ms"]);
          p50_small[b.name].push_back(sm["p50_ms"]);
          ratios[b.name].push_back(sm["p99_ms"] > 0 ? l["p99_ms"] / sm["p99_ms"] : 0);
        }
      }
      rss_after = status_mb(large_w.pid(), "VmRSS");
    }  // both webhooks stopped: their logs are flushed
    read_server_micros(work / "serve-large.log", server_large);
    read_server_micros(work / "serve-small.log", server_small);
    auto [code, secs] =
        run_timed({o.latticeguard, "audit", "--kubeconfig", large_k.string(), "-o", "json"},
                  work / "audit.json");
    if (code != 0 && code != 1) {
      die("latticeguard audit exited " + std::to_string(code) + ": " +
          read_text(work / "audit.json").substr(0, 400));
    }
    sync_s.push_back(ready);
    rss_mb.push_back(rss);
    hwm_mb.push_back(hwm);
    rss_after_mb.push_back(rss_after);
    audit_s.push_back(secs);
    std::printf(
        "run %d:     sync %.2f s  VmRSS %.1f MB (VmHWM %.1f, after admission %.1f)  "
        "audit %.2f s (exit %d, %zu bytes)\n",
        run, ready, rss, hwm, rss_after, secs, code,
        static_cast<size_t>(fs::file_size(work / "audit.json")));
    for (const Body& b : bodies) {
      size_t n = p99_large[b.name].size();
      std::printf("           %-26s p50/p99 ms per round, large | small:", b.name.c_str());
      for (size_t i = n - o.rounds; i < n; ++i) {
        std::printf("  %.2f/%.2f | %.2f/%.2f", p50_large[b.name][i], p99_large[b.name][i],
                    p50_small[b.name][i], p99_small[b.name][i]);
      }
      std::printf("\n");
    }
    std::fflush(stdout);
  }

  std::printf("\nmedians of %d runs, %d paced segments per body and webhook (load now \"%s\"):\n",
              o.runs, o.runs * o.rounds, loadavg().c_str());
  bool met = true;
  auto row = [&](const char* metric, double v, const char* unit, double target, bool ratio) {
    bool ok = v <= target;
    met = met && ok;
    std::printf("  %-44s %9.3f %-3s target <= %g%s  %s\n", metric, v, unit, target,
                ratio ? "x" : unit, ok ? "met" : "MISSED");
  };
  std::printf("  %-44s %9.3f s\n", "time to sync (start -> /readyz)", median(sync_s));
  row("VmRSS after sync", median(rss_mb), "MB", 100, false);
  std::printf("  %-44s %9.3f MB\n", "VmHWM after sync", median(hwm_mb));
  std::printf("  %-44s %9.3f MB\n", "VmRSS after admission runs", median(rss_after_mb));
  // Every pool sorted once, for the percentiles read from it below.
  for (auto* pools : {&pool_large, &pool_small, &server_large, &server_small}) {
    for (auto& [key, v] : *pools) std::sort(v.begin(), v.end());
  }
  for (const Body& b : bodies) {
    // The target is judged on the pooled distributions: p99 over every request sent to each
    // side. The median of the segments' p99 and of the per-segment ratios are shown beside it.
    double large_p99 = percentile_ms(pool_large[b.name], 0.99);
    double small_p99 = percentile_ms(pool_small[b.name], 0.99);
    std::printf("  %-44s %9.3f ms (small: %.3f ms; %zu / %zu requests)\n",
                (b.name + " p99 large, pooled").c_str(), large_p99, small_p99,
                pool_large[b.name].size(), pool_small[b.name].size());
    std::printf("  %-44s %9.3f ms (small: %.3f ms)\n", (b.name + " p50 large, pooled").c_str(),
                percentile_ms(pool_large[b.name], 0.5), percentile_ms(pool_small[b.name], 0.5));
    std::printf("  %-44s %9.3f x (segments' p99: large %.3f, small %.3f ms)\n",
                (b.name + " median of per-segment ratios").c_str(), median(ratios[b.name]),
                median(p99_large[b.name]), median(p99_small[b.name]));
    row((b.name + " p99 large/small, pooled").c_str(), small_p99 > 0 ? large_p99 / small_p99 : 0,
        "x", 1.2, true);
    std::vector<int64_t>&sl = server_large[b.kind], &ss = server_small[b.kind];
    if (sl.empty() || ss.empty()) {
      std::printf(
          "  %-44s no event=admission lines with kind=%s in serve-large.log or "
          "serve-small.log (--keep keeps them)\n",
          (b.name + " webhook's own time").c_str(), b.kind.c_str());
      continue;
    }
    double sl50 = percentile_ms(sl, 0.5) * 1000, ss50 = percentile_ms(ss, 0.5) * 1000;
    double sl99 = percentile_ms(sl, 0.99) * 1000, ss99 = percentile_ms(ss, 0.99) * 1000;
    std::printf("  %-44s %6.0f/%.0f us (small: %.0f/%.0f us; %.2fx / %.2fx; %zu / %zu reviews)\n",
                (b.name + " webhook's own p50/p99 large").c_str(), sl50, sl99, ss50, ss99,
                ss50 > 0 ? sl50 / ss50 : 0, ss99 > 0 ? sl99 / ss99 : 0, sl.size(), ss.size());
  }
  row("audit -o json wall time", median(audit_s), "s", 5, false);

  if (o.keep) {
    std::printf("kept %s\n", work.c_str());
  } else {
    fs::remove_all(work);
  }
  return met ? 0 : 1;
}
