// Audit reports: findings over a whole cluster rendered for people (table, HTML, JUnit) and for
// dashboards (wgpolicyk8s.io/v1alpha2 PolicyReport per namespace + a ClusterPolicyReport).
//
//   AuditRun run = audit_index(index, config);                  // every object, closed world
//   std::cout << render_html(run);                               // one self-contained page
//   for (json& r : policy_reports(run, now, 1000)) write(r);     // create-or-update
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/finding.h"

namespace latticeguard::audit {

struct AuditRun {
  std::vector<Finding> findings;   // including suppressed ones (reported as skip)
  std::vector<ObjectPtr> checked;  // every object the rules ran on
  std::vector<std::string> unavailable_kinds;  // kinds not served by the cluster
};

// Runs every rule over every object of the index (lint's closed world), on every core.
AuditRun audit_index(const ObjectIndex& index, std::shared_ptr<const Config> config,
                     const std::string& only_namespace = "");

inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kReportName = "latticeguard";

// PolicyReports (one per namespace with checked objects) and one ClusterPolicyReport, each
// capped at `max_results` results (the report then says how many were left out).
std::vector<nlohmann::json> policy_reports(const AuditRun& run,
                                           std::chrono::system_clock::time_point now,
                                           size_t max_results = 1000);

std::string render_table(const AuditRun& run);
std::string render_html(const AuditRun& run, std::string_view title = "latticeguard audit");
std::string render_junit(const AuditRun& run);

}  // namespace latticeguard::audit
