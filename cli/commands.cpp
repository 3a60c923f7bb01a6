#include "cli/commands.h"

#include <fstream>
#include <iostream>

#include "audit/report.h"
#include "certs/files.h"
#include "cli/cluster.h"
#include "cli/heap.h"
#include "cli/output.h"
#include "cli/serve.h"
#include "webhook/logging.h"

namespace latticeguard {

struct CommandState {
  CLI::App* serve = nullptr;
  ServeOptions serve_opts;

  CLI::App* audit = nullptr;
  ConnectOptions audit_conn;
  std::string audit_ns;
  bool audit_all = false;
  std::string audit_output = "table";
  std::string audit_config;
  bool audit_write_reports = false;
  size_t audit_max_results = 1000;
  std::string audit_state_dir;  // audit manifests on disk instead of a cluster

  CLI::App* certs = nullptr;
  CLI::App* certs_generate = nullptr;
  certs::CertsGenerateOptions certs_opts;
};

void add_cluster_lint_flags(CLI::App& lint_cmd, ClusterFlags& flags) {
  lint_cmd.add_flag("--cluster", flags.cluster,
                    "Lay the files over the live cluster's state (what would be denied on apply)");
  lint_cmd.add_option("--kubeconfig", flags.kubeconfig, "kubeconfig file (with --cluster)");
  lint_cmd.add_option("--context", flags.context, "kubeconfig context (with --cluster)");
}

int run_lint_maybe_cluster(LintOptions& lint, const ClusterFlags& flags) {
  if (!flags.cluster) return run_lint(lint, std::cout, std::cerr);
  webhook::configure_logging("text", "warn");
  Result<std::unique_ptr<kube::Client>> client = connect({flags.kubeconfig, flags.context});
  if (!client) {
    std::cerr << "latticeguard: " << client.error().message << "\n";
    return 2;
  }
  Result<ClusterSnapshot> snap = list_cluster(**client, "");
  if (!snap) {
    std::cerr << "latticeguard: " << snap.error().message << "\n";
    return 2;
  }
  lint.base = &snap->index;
  return run_lint(lint, std::cout, std::cerr);
}

Commands add_commands(CLI::App& app) {
  auto st = std::make_shared<CommandState>();
  ServeOptions& s = st->serve_opts;
  st->serve = app.add_subcommand("serve", "Run the admission webhook (HTTPS)");
  st->serve->add_option("--listen", s.listen, "host:port to listen on")->capture_default_str();
  st->serve->add_option("--tls-cert", s.cert_file,
                        "Serving certificate (PEM); reloaded on change (with "
                        "--self-signed-certs: <cert-dir>/tls.crt)");
  st->serve->add_option("--tls-key", s.key_file, "Serving key (PEM); reloaded on change");
  st->serve->add_option("--client-ca", s.client_ca_file,
                        "Require client certificates from this CA");
  st->serve->add_option("--config", s.config_file, "Configuration file; reloaded on change");
  st->serve->add_option("--cluster-state", s.cluster_state_dir,
                        "Serve from manifests in this directory instead of the live cluster");
  st->serve->add_option("--kubeconfig", s.kubeconfig, "kubeconfig (default: in-cluster)");
  st->serve->add_option("--context", s.context, "kubeconfig context");
  st->serve->add_option("--log-format", s.log_format, "text | json")->capture_default_str();
  st->serve->add_option("--log-level", s.log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  st->serve->add_option("--max-body-bytes", s.max_body_bytes, "Largest AdmissionReview body")
      ->capture_default_str();
  st->serve
      ->add_option("--doc-cache-bytes", s.doc_cache_bytes,
                   "Decoded cluster objects kept between admissions, 0=off")
      ->capture_default_str();
  st->serve->add_option("--threads", s.threads, "Event loop threads")->capture_default_str();
  st->serve->add_option("--keep-alive-max", s.keep_alive_max, "Requests per connection")
      ->capture_default_str();
  st->serve->add_option("--keep-alive-timeout", s.keep_alive_timeout_s, "Idle seconds")
      ->capture_default_str();
  st->serve->add_option("--read-timeout", s.read_timeout_s, "Seconds to receive a request")
      ->capture_default_str();
  st->serve->add_option("--write-timeout", s.write_timeout_s, "Seconds to send a response")
      ->capture_default_str();
  st->serve
      ->add_option("--shutdown-delay-ms", s.shutdown_delay_ms,
                   "After SIGTERM, readiness is false this long before the listener closes")
      ->capture_default_str();
  st->serve->add_option("--config-poll-ms", s.config_poll_ms, "How often to check the config file")
      ->capture_default_str();
  st->serve
      ->add_option("--audit-interval", s.audit_interval, "Periodic audit (live cluster), 0=off")
      ->capture_default_str();
  st->serve->add_option("--leader-election-namespace", s.leader_election_namespace,
                        "Namespace of the audit Lease (default: the pod's)");
  st->serve->add_option("--lease-name", s.lease_name, "Name of the audit Lease")
      ->capture_default_str();
  st->serve->add_flag("--self-signed-certs", s.self_signed_certs,
                      "Issue and rotate the serving certificate, kept in a Secret");
  st->serve->add_option("--cert-secret", s.cert_secret, "Secret for self-signed certificates")
      ->capture_default_str();
  st->serve->add_option("--cert-dir", s.cert_dir, "Where self-signed certificates are written")
      ->capture_default_str();
  st->serve
      ->add_option("--webhook-config-name", s.webhook_config_name,
                   "Name of the webhook configurations to patch caBundle into")
      ->capture_default_str();
  st->serve->add_option("--service", s.service, "Service name (certificate DNS names)")
      ->capture_default_str();
  st->serve->add_option("--namespace", s.pod_namespace, "The webhook's namespace ($POD_NAMESPACE)");

  st->audit = app.add_subcommand("audit", "Run every rule over a live cluster and report");
  st->audit->add_option("--kubeconfig", st->audit_conn.kubeconfig, "kubeconfig file");
  st->audit->add_option("--context", st->audit_conn.context, "kubeconfig context");
  st->audit->add_option("-n,--namespace", st->audit_ns, "Only this namespace");
  st->audit->add_flag("-A,--all-namespaces", st->audit_all, "Every namespace (the default)");
  st->audit->add_option("-o,--output", st->audit_output, "table | json | sarif | junit | html")
      ->check(CLI::IsMember({"table", "json", "sarif", "junit", "html"}));
  st->audit->add_option("--config", st->audit_config, "Configuration file (YAML)");
  st->audit->add_flag("--write-reports", st->audit_write_reports,
                      "Create or update PolicyReports / ClusterPolicyReport in the cluster");
  st->audit->add_option("--max-results", st->audit_max_results, "Results per PolicyReport")
      ->capture_default_str();
  st->audit->add_option("--cluster-state", st->audit_state_dir,
                        "Audit manifests in this directory instead of a cluster");

  st->certs = app.add_subcommand("certs", "Issue the webhook's CA and serving certificate");
  st->certs->require_subcommand(1);
  certs::CertsGenerateOptions& c = st->certs_opts;
  st->certs_generate =
      st->certs->add_subcommand("generate", "Write ca.crt, ca.key, tls.crt, tls.key");
  st->certs_generate->add_option("--out", c.out_dir, "Output directory")->required();
  st->certs_generate->add_option("--service", c.service, "Service name")->capture_default_str();
  st->certs_generate->add_option("--namespace", c.ns, "Service namespace")->capture_default_str();
  st->certs_generate->add_option("--dns-name", c.dns_names, "Extra DNS SAN (repeatable)");
  st->certs_generate->add_option("--ip", c.ips, "IP SAN (repeatable)");
  st->certs_generate->add_option("--ca-days", c.ca_days, "CA validity in days")
      ->capture_default_str();
  st->certs_generate->add_option("--days", c.days, "Serving certificate validity in days")
      ->capture_default_str();
  st->certs_generate->add_flag("--force", c.force, "Overwrite existing files");
  return Commands{st};
}

namespace {

int run_audit(CommandState& st) {
  webhook::configure_logging("text", "warn");
  auto config = std::make_shared<Config>(Config::defaults());
  if (!st.audit_config.empty()) {
    Result<Config> c = Config::load(st.audit_config);
    if (!c) {
      std::cerr << "latticeguard: " << c.error().message << "\n";
      return 2;
    }
    *config = std::move(*c);
  }
  struct AuditWork {
    ObjectIndex index;
    audit::AuditRun run;
  };
  KeptUntilExit<AuditWork> work(/*one_shot=*/true);  // `audit` is a command: the process ends
  ObjectIndex& index = work->index;
  std::vector<std::string> unavailable;
  std::unique_ptr<kube::Client> client;
  if (!st.audit_state_dir.empty()) {
    Result<LoadedFiles> loaded = load_inputs({st.audit_state_dir}, "default");
    if (!loaded) {
      std::cerr << "latticeguard: " << loaded.error().message << "\n";
      return 2;
    }
    for (const ManifestFile& f : loaded->files) {
      for (const ObjectPtr& o : f.objects) index.put(o);
    }
  } else {
    Result<std::unique_ptr<kube::Client>> cl = connect(st.audit_conn);
    if (!cl) {
      std::cerr << "latticeguard: " << cl.error().message << "\n";
      return 2;
    }
    client = std::move(*cl);
    Result<ClusterSnapshot> snap = list_cluster(*client, st.audit_all ? "" : st.audit_ns);
    if (!snap) {
      std::cerr << "latticeguard: " << snap.error().message << "\n";
      return 2;
    }
    index = std::move(snap->index);
    unavailable = std::move(snap->unavailable);
  }
  audit::AuditRun& run = work->run;
  run = audit::audit_index(index, config, st.audit_all ? "" : st.audit_ns);
  run.unavailable_kinds = unavailable;
  Summary summary = summarize(run.findings, static_cast<int>(run.checked.size()), 0);
  if (st.audit_output == "json") {
    std::cout << to_json(run.findings, summary).dump(2) << "\n";
  } else if (st.audit_output == "sarif") {
    std::cout << to_sarif(run.findings, LATTICEGUARD_VERSION).dump(2) << "\n";
  } else if (st.audit_output == "junit") {
    std::cout << audit::render_junit(run);
  } else if (st.audit_output == "html") {
    std::cout << audit::render_html(run);
  } else {
    std::cout << audit::render_table(run);
  }
  if (st.audit_write_reports) {
    if (!client) {
      std::cerr << "latticeguard: --write-reports needs a cluster (not --cluster-state)\n";
      return 2;
    }
    auto reports =
        audit::policy_reports(run, std::chrono::system_clock::now(), st.audit_max_results);
    Result<ReportWrite> w = write_policy_reports(*client, reports);
    if (!w) {
      std::cerr << "latticeguard: writing PolicyReports: " << w.error().message << "\n";
      return 2;
    }
    std::cerr << "PolicyReports: " << w->created << " created, " << w->updated << " updated, "
              << w->deleted << " deleted\n";
  }
  return summary.deny > 0 ? 1 : 0;
}

int run_certs_generate_cmd(const certs::CertsGenerateOptions& o) {
  Result<std::string> bundle = certs::run_certs_generate(o);
  if (!bundle) {
    std::cerr << "latticeguard: " << bundle.error().message << "\n";
    return 2;
  }
  std::cout << *bundle << "\n";
  std::cerr << "wrote ca.crt, ca.key, tls.crt, tls.key to " << o.out_dir
            << " (keys 0600); the line above is the caBundle\n";
  return 0;
}

}  // namespace

int run_commands(const Commands& c) {
  CommandState& st = *c.state;
  if (st.serve && *st.serve) return run_serve(st.serve_opts);
  if (st.audit && *st.audit) return run_audit(st);
  if (st.certs_generate && *st.certs_generate) return run_certs_generate_cmd(st.certs_opts);
  return 2;
}

}  // namespace latticeguard
