// `latticeguard serve`: the admission webhook process.
//
//   ServeOptions o; o.listen = "0.0.0.0:8443"; o.cert_file = ...; o.cluster_state_dir = "...";
//   return run_serve(o);   // blocks until SIGTERM/SIGINT; 0 on a clean shutdown, 1 on startup error
//
// Wires the HTTPS server (webhook/server.h), the admission decision (webhook/decision.h), the
// cluster state (manifests on disk, or the live watch cache), config reload and signals.
#pragma once

#include <string>

namespace latticeguard {

struct ServeOptions {
  std::string listen = "127.0.0.1:8443";
  std::string cert_file, key_file, client_ca_file;
  std::string config_file;
  std::string cluster_state_dir;  // manifests on disk instead of the live cluster
  std::string kubeconfig, context;
  std::string log_format = "text", log_level = "info";
  size_t max_body_bytes = 7u << 20;
  // Decoded cluster objects kept between admissions (rules/core/doc_cache.h).
  size_t doc_cache_bytes = 2u << 20;
  int threads = 8;
  int keep_alive_max = 1000;
  int keep_alive_timeout_s = 60;
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  int shutdown_delay_ms = 0;
  int config_poll_ms = 2000;
  // Periodic audit (live cluster only), on the replica holding the Lease.
  std::string audit_interval = "10m";
  std::string leader_election_namespace;
  std::string lease_name = "latticeguard-audit";
  // Self-managed certificates kept in a Secret (live cluster only).
  bool self_signed_certs = false;
  std::string cert_secret = "latticeguard-tls";
  std::string webhook_config_name = "latticeguard";
  std::string service = "latticeguard";
  std::string pod_namespace;  // defaults to $POD_NAMESPACE or latticeguard-system
  std::string cert_dir = "/etc/latticeguard/tls";
};

int run_serve(const ServeOptions& opts);

}  // namespace latticeguard
