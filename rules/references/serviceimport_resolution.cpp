// REF-13: how a ServiceImport resolves to target groups (external ARN or export lookup).
#include <re2/re2.h>

#include "rules/core/lattice.h"
#include "rules/core/rule.h"

namespace latticeguard {
namespace {

constexpr Kind kSubjects[] = {kServiceImport};
constexpr Kind kReads[] = {kServiceExport};
constexpr std::string_view kArnAnnotation = "application-networking.k8s.aws/target-group-arn";
constexpr std::string_view kDiscovery[] = {"application-networking.k8s.aws/export-name",
                                           "application-networking.k8s.aws/aws-vpc",
                                           "application-networking.k8s.aws/aws-eks-cluster-name"};

std::string annotation_pointer(std::string_view key) {
  return "/metadata/annotations/" + pointer_escape(key);
}

// arn:partition:service:region:account:resource, as aws-sdk-go arn.Parse splits it.
std::vector<std::string> split_arn(std::string_view s) {
  std::vector<std::string> out;
  while (out.size() < 5) {
    size_t c = s.find(':');
    if (c == std::string_view::npos) break;
    out.emplace_back(s.substr(0, c));
    s.remove_prefix(c + 1);
  }
  out.emplace_back(s);
  return out;
}

void check_arn(const std::string& arn, RuleContext& ctx) {
  static const RE2 kResource("targetgroup/tg-[0-9a-z]{17}");
  const std::string ptr = annotation_pointer(kArnAnnotation);
  std::vector<std::string> p = split_arn(arn);
  if (p.size() != 6 || p[0] != "arn") {
    ctx.report(ptr, "target-group-arn \"" + arn + "\" is not an ARN");
    return;
  }
  if (p[2] != "vpc-lattice") {
    ctx.report(ptr, "target-group-arn is a " + p[2] + " ARN, not a vpc-lattice one");
    return;
  }
  if (!RE2::FullMatch(p[5], kResource)) {
    ctx.report(ptr, "target-group-arn resource \"" + p[5] + "\" is not targetgroup/tg-<17 chars>");
    return;
  }
  const json* region = child(ctx.options(), "region");
  if (region && region->is_string() && !region->get<std::string>().empty() &&
      p[3] != region->get<std::string>()) {
    ctx.report(ptr,
               "target group is in region " + p[3] + ", the controller runs in " +
                   region->get<std::string>() + "; cross-region ARNs do not resolve",
               Level::kWarn);
  }
}

void check(const Object& imp, RuleContext& ctx) {
  if (const std::string* arn = imp.annotation(kArnAnnotation)) {
    for (std::string_view key : kDiscovery) {
      if (imp.annotation(key)) {
        ctx.report(annotation_pointer(key),
                   "cannot be combined with target-group-arn; the "
                   "routes using this import get ConflictingServiceImportAnnotations");
      }
    }
    check_arn(*arn, ctx);
    return;
  }
  // Export discovery: tell the auditor when no export of that name is visible here. It may
  // live in another cluster, so this is only information.
  const ClusterView& v = ctx.cluster();
  const std::string* named = imp.annotation(kDiscovery[0]);
  std::string export_name = named && !named->empty() ? *named : imp.name();
  if (!v.complete(kServiceExport) || v.find(kServiceExport, imp.ns(), export_name)) return;
  ctx.report(named ? annotation_pointer(kDiscovery[0]) : "/metadata/name",
             "no ServiceExport " + imp.ns() + "/" + export_name +
                 " in this cluster; it must be exported from another cluster",
             Level::kInfo);
}

}  // namespace

extern constinit const Rule kServiceimportResolution{
    .id = "serviceimport-resolution",
    .catalogue = "REF-13",
    .group = "references",
    .summary = "A ServiceImport's target-group-arn or export annotations cannot resolve",
    .remediation =
        "Use either target-group-arn (a vpc-lattice targetgroup ARN in the "
        "controller's region) or the export-name/aws-vpc/aws-eks-cluster-name "
        "annotations, not both",
    .default_action = Action::kDeny,
    .subjects = kSubjects,
    .reads = kReads,
    .check = check,
};

}  // namespace latticeguard
