// Kubeconfig and in-cluster configuration loading (see client.h).
#include <libfyaml.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kube/client.h"
#include "kube/encoding.h"
#include "rules/core/base64.h"

namespace latticeguard::kube {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct FyDocFree {
  void operator()(fy_document* d) const { fy_document_destroy(d); }
};

json scalar_to_json(fy_node* n) {
  size_t len = 0;
  const char* p = fy_node_get_scalar(n, &len);
  std::string s(p ? p : "", len);
  if (fy_node_get_style(n) != FYNS_PLAIN) return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "null" || s == "~" || s == "Null" || s == "NULL") return nullptr;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end == '\0' && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) return v;
  return s;
}

json node_to_json(fy_node* n, int depth) {
  if (!n || depth > 64) return nullptr;
  switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
      return scalar_to_json(n);
    case FYNT_SEQUENCE: {
      json a = json::array();
      void* it = nullptr;
      while (fy_node* item = fy_node_sequence_iterate(n, &it))
        a.push_back(node_to_json(item, depth + 1));
      return a;
    }
    case FYNT_MAPPING: {
      json o = json::object();
      void* it = nullptr;
      while (fy_node_pair* pair = fy_node_mapping_iterate(n, &it)) {
        fy_node* k = fy_node_pair_key(pair);
        size_t len = 0;
        const char* kp = k ? fy_node_get_scalar(k, &len) : nullptr;
        o[std::string(kp ? kp : "", len)] = node_to_json(fy_node_pair_value(pair), depth + 1);
      }
      return o;
    }
  }
  return nullptr;
}

Result<std::string> decode_data(const std::string& in, const std::string& field) {
  auto out = base64_decode(in);
  if (!out) return Error{field + ": not valid base64"};
  return *out;
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).string();
}

// `<field>-data` (base64) wins over `<field>` (a file, relative to the kubeconfig's directory).
Result<std::string> data_or_file(const json& obj, const std::string& field,
                                 const std::string& base_dir) {
  if (auto d = obj.value(field + "-data", ""); !d.empty()) return decode_data(d, field + "-data");
  if (auto f = obj.value(field, ""); !f.empty()) {
    auto text = read_file(resolve(f, base_dir));
    if (!text) return Error{field + ": cannot read " + resolve(f, base_dir)};
    return *text;
  }
  return std::string();
}

struct Entry {
  json value;
  std::string dir;  // directory of the file that defined it
};

}  // namespace

Result<json> yaml_to_json(const std::string& text) {
  fy_parse_cfg cfg{};
  cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET);
  std::unique_ptr<fy_document, FyDocFree> doc(
      fy_document_build_from_string(&cfg, text.data(), text.size()));
  if (!doc) return Error{"not valid YAML"};
  return node_to_json(fy_document_root(doc.get()), 0);
}

Result<ClientConfig> load_kubeconfig(const std::vector<std::string>& paths,
                                     const std::string& context) {
  std::vector<std::string> files = paths;
  bool from_env = false;
  if (files.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
      std::stringstream ss(env);
      for (std::string p; std::getline(ss, p, ':');) {
        if (!p.empty()) files.push_back(p);
      }
      from_env = true;
    } else if (const char* home = std::getenv("HOME")) {
      files.push_back(std::string(home) + "/.kube/config");
    }
  }
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  int loaded = 0;
  for (const auto& file : files) {
    auto text = read_file(file);
    if (!text) {
      if (from_env) continue;  // kubectl skips missing KUBECONFIG entries
      return Error{"cannot read kubeconfig " + file};
    }
    auto doc = yaml_to_json(*text);
    if (!doc) return Error{"kubeconfig " + file + ": " + doc.error().message};
    ++loaded;
    if (!doc->is_object()) continue;
    std::string dir = fs::path(file).parent_path().string();
    auto merge = [&](const char* list, const char* inner, std::map<std::string, Entry>& into) {
      if (!doc->contains(list) || !(*doc)[list].is_array()) return;
      for (const auto& item : (*doc)[list]) {
        if (!item.is_object()) continue;
        std::string name = item.value("name", "");
        if (name.empty() || into.count(name)) continue;  // first file wins
        into[name] = Entry{item.contains(inner) ? item[inner] : json::object(), dir};
      }
    };
    merge("clusters", "cluster", clusters);
    merge("users", "user", users);
    merge("contexts", "context", contexts);
    if (current_context.empty() && (*doc).contains("current-context") &&
        (*doc)["current-context"].is_string()) {
      current_context = (*doc)["current-context"].get<std::string>();
    }
  }
  if (loaded == 0) return Error{"no kubeconfig found"};
  std::string ctx_name = context.empty() ? current_context : context;
  if (ctx_name.empty()) return Error{"kubeconfig has no current-context; pass --context"};
  auto ctx = contexts.find(ctx_name);
  if (ctx == contexts.end()) return Error{"context \"" + ctx_name + "\" not found in kubeconfig"};
  std::string cluster_name = ctx->second.value.value("cluster", "");
  std::string user_name = ctx->second.value.value("user", "");
  auto cl = clusters.find(cluster_name);
  if (cl == clusters.end()) {
    return Error{"cluster \"" + cluster_name + "\" of context \"" + ctx_name + "\" not found"};
  }
  ClientConfig out;
  const json& c = cl->second.value;
  out.server = c.value("server", "");
  if (out.server.empty()) return Error{"cluster \"" + cluster_name + "\" has no server"};
  auto ca = data_or_file(c, "certificate-authority", cl->second.dir);
  if (!ca) return ca.error();
  out.ca_pem = *ca;
  out.insecure_skip_tls_verify = c.value("insecure-skip-tls-verify", false);

  if (!user_name.empty()) {
    auto us = users.find(user_name);
    if (us == users.end()) {
      return Error{"user \"" + user_name + "\" of context \"" + ctx_name + "\" not found"};
    }
    const json& u = us->second.value;
    const std::string& dir = us->second.dir;
    auto cert = data_or_file(u, "client-certificate", dir);
    if (!cert) return cert.error();
    auto key = data_or_file(u, "client-key", dir);
    if (!key) return key.error();
    out.client_cert_pem = *cert;
    out.client_key_pem = *key;
    out.bearer_token = u.value("token", "");
    if (auto tf = u.value("tokenFile", ""); !tf.empty()) out.token_file = resolve(tf, dir);
    if (u.contains("auth-provider")) {
      return Error{"user \"" + user_name + "\": auth-provider is not supported; use exec"};
    }
    if (u.contains("exec") && u["exec"].is_object()) {
      const json& e = u["exec"];
      ExecConfig x;
      x.command = e.value("command", "");
      if (x.command.empty()) return Error{"user \"" + user_name + "\": exec has no command"};
      // kubectl: a command with a path separator is relative to the kubeconfig's directory.
      if (x.command.find('/') != std::string::npos) x.command = resolve(x.command, dir);
      x.api_version = e.value("apiVersion", x.api_version);
      if (x.api_version != "client.authentication.k8s.io/v1" &&
          x.api_version != "client.authentication.k8s.io/v1beta1") {
        return Error{"user \"" + user_name + "\": exec apiVersion " + x.api_version +
                     " is not supported (v1 or v1beta1)"};
      }
      for (const auto& a : e.value("args", json::array())) {
        if (a.is_string()) x.args.push_back(a.get<std::string>());
      }
      for (const auto& kv : e.value("env", json::array())) {
        if (kv.is_object()) x.env.emplace_back(kv.value("name", ""), kv.value("value", ""));
      }
      out.exec = std::move(x);
    }
  }
  if (out.insecure_skip_tls_verify) {
    spdlog::warn(
        "event=insecure_skip_tls_verify context={} msg=\"kubeconfig disables API server "
        "certificate verification\"",
        ctx_name);
  }
  return out;
}

Result<ClientConfig> load_in_cluster(const InClusterPaths& paths) {
  const char* host = std::getenv(paths.host_env.c_str());
  const char* port = std::getenv(paths.port_env.c_str());
  if (!host || !*host || !port || !*port) {
    return Error{"not running in a cluster: " + paths.host_env + " and " + paths.port_env +
                 " are not set"};
  }
  ClientConfig out;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 service address
  out.server = "https://" + h + ":" + port;
  auto ca = read_file(paths.ca_file);
  if (!ca) return Error{"cannot read service account CA " + paths.ca_file};
  out.ca_pem = *ca;
  if (!read_file(paths.token_file)) {
    return Error{"cannot read service account token " + paths.token_file};
  }
  out.token_file = paths.token_file;
  return out;
}

}  // namespace latticeguard::kube
