#include "audit/report.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "rules/core/engine.h"
#include "rules/core/lattice.h"
#include "rules/registry.h"

namespace latticeguard::audit {
namespace {

std::string result_of(const Finding& f) {
  if (!f.suppressed.empty()) return "skip";
  if (f.action == Action::kDeny) return "fail";
  return "warn";
}

std::string severity_of(const Finding& f) {
  switch (f.action) {
    case Action::kDeny:
      return "high";
    case Action::kWarn:
      return "medium";
    default:
      return "info";
  }
}

json reference(const Object& o) {
  json r = {{"apiVersion", o.api_version()}, {"kind", o.kind_name()}, {"name", o.name()}};
  if (!o.ns().empty()) r["namespace"] = o.ns();
  DocPins pins;  // a cached object may be packed: decode it for this lookup only
  const json* md = child(o.doc(), "metadata");
  if (md && child(*md, "uid")) r["uid"] = (*md)["uid"];
  return r;
}

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string doc_link(const Finding& f) {
  return f.rule ? "https://github.com/latticeguard/latticeguard/blob/main/rules/" +
                      rule_stem(*f.rule) + ".md"
                : "";
}

}  // namespace

AuditRun audit_index(const ObjectIndex& index, std::shared_ptr<const Config> config,
                     const std::string& only_namespace) {
  AuditRun run;
  Engine engine(all_rules(), config);
  ClusterView view(index);
  for (const ObjectPtr& o : index.all()) {
    if (only_namespace.empty() || o->ns() == only_namespace) run.checked.push_back(o);
  }
  // The engine and the view are immutable, so objects are checked on every core in contiguous
  // slices; concatenating the slices in order keeps the result identical to one thread's.
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  threads = std::min(threads, std::max<size_t>(1, run.checked.size() / 256));
  std::vector<std::vector<Finding>> parts(threads);
  {
    // Declared before the pool: the threads read it until the pool's destructor joins them.
    size_t per = (run.checked.size() + threads - 1) / threads;
    std::vector<std::jthread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        FactMemo memo(view, *config);  // per thread: the view is fixed for the whole pass
        size_t end = std::min(run.checked.size(), (t + 1) * per);
        for (size_t i = t * per; i < end; ++i) {
          std::vector<Finding> f = engine.check(run.checked[i], view);
          std::move(f.begin(), f.end(), std::back_inserter(parts[t]));
        }
      });
    }
  }
  for (std::vector<Finding>& p : parts) {
    std::move(p.begin(), p.end(), std::back_inserter(run.findings));
  }
  sort_findings(run.findings);
  return run;
}

std::vector<json> policy_reports(const AuditRun& run, std::chrono::system_clock::time_point now,
                                 size_t max_results) {
  int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Namespace ("" = cluster) -> results; objects without findings get one pass result.
  std::map<std::string, std::vector<json>> results;
  std::map<std::string, json> summaries;
  std::set<const Object*> with_findings;
  auto summary = [&](const std::string& ns) -> json& {
    json& s = summaries[ns];
    if (s.is_null()) s = {{"pass", 0}, {"fail", 0}, {"warn", 0}, {"error", 0}, {"skip", 0}};
    return s;
  };
  for (const Finding& f : run.findings) {
    if (f.action == Action::kOff || !f.object) continue;
    const Object& o = *f.object;
    with_findings.insert(&o);
    std::string res = result_of(f);
    json r = {{"source", "latticeguard"},
              {"policy", std::string(rule_id(f))},
              {"rule", std::string(rule_id(f))},
              {"category", f.rule ? std::string(f.rule->group) : ""},
              {"severity", severity_of(f)},
              {"result", res},
              {"scored", f.action == Action::kDeny},
              {"timestamp", {{"seconds", seconds}, {"nanos", 0}}},
              {"resources", json::array({reference(o)})},
              {"message", field_path(f.pointer) + ": " + f.message},
              {"properties",
               {{"fieldPath", f.pointer},
                {"action", std::string(to_string(f.action))},
                {"docs", doc_link(f)}}}};
    if (!f.suppressed.empty()) r["properties"]["suppressed"] = f.suppressed;
    if (f.fix) r["properties"]["fix"] = f.fix->title;
    results[o.ns()].push_back(std::move(r));
    summary(o.ns())[res] = summary(o.ns())[res].get<int>() + 1;
  }
  for (const ObjectPtr& o : run.checked) {
    if (with_findings.count(o.get())) continue;
    json r = {{"source", "latticeguard"},
              {"policy", "latticeguard"},
              {"rule", "all-rules"},
              {"result", "pass"},
              {"scored", true},
              {"timestamp", {{"seconds", seconds}, {"nanos", 0}}},
              {"resources", json::array({reference(*o)})},
              {"message", "no findings"}};
    results[o->ns()].push_back(std::move(r));
    summary(o->ns())["pass"] = summary(o->ns())["pass"].get<int>() + 1;
  }
  std::vector<json> out;
  for (auto& [ns, rs] : results) {
    json report = {{"apiVersion", "wgpolicyk8s.io/v1alpha2"},
                   {"kind", ns.empty() ? "ClusterPolicyReport" : "PolicyReport"},
                   {"metadata",
                    {{"name", std::string(kReportName)},
                     {"labels", {{std::string(kManagedByLabel), std::string(kReportName)}}}}},
                   {"summary", summaries[ns]}};
    if (!ns.empty()) report["metadata"]["namespace"] = ns;
    // Failures first so a capped report keeps what matters.
    std::stable_sort(rs.begin(), rs.end(), [](const json& a, const json& b) {
      auto rank = [](const json& r) {
        std::string s = r["result"];
        return s == "fail" ? 0 : s == "warn" ? 1 : s == "skip" ? 2 : 3;
      };
      return rank(a) < rank(b);
    });
    if (rs.size() > max_results) {
      report["metadata"]["annotations"] = {
          {"latticeguard.io/results-capped",
           std::to_string(rs.size() - max_results) + " of " + std::to_string(rs.size()) +
               " results left out (limit " + std::to_string(max_results) + ")"}};
      rs.resize(max_results);
    }
    report["results"] = std::move(rs);
    out.push_back(std::move(report));
  }
  return out;
}

std::string render_table(const AuditRun& run) {
  std::ostringstream out;
  out << "ACTION  OBJECT                                            FIELD / MESSAGE\n";
  int deny = 0, warn = 0, audit = 0, skip = 0;
  for (const Finding& f : run.findings) {
    if (f.action == Action::kOff) continue;
    std::string action = f.suppressed.empty() ? std::string(to_string(f.action)) : "skip";
    if (!f.suppressed.empty()) {
      ++skip;
    } else if (f.action == Action::kDeny) {
      ++deny;
    } else if (f.action == Action::kWarn) {
      ++warn;
    } else {
      ++audit;
    }
    std::string obj = f.object ? f.object->display() : "";
    out << action << std::string(action.size() < 8 ? 8 - action.size() : 1, ' ') << obj
        << std::string(obj.size() < 50 ? 50 - obj.size() : 1, ' ') << to_warning(f) << "\n";
  }
  out << "\n"
      << run.checked.size() << " objects: " << deny << " deny, " << warn << " warn, " << audit
      << " audit, " << skip << " suppressed\n";
  for (const std::string& k : run.unavailable_kinds) {
    out << "note: " << k << " is not served by this cluster; rules reading it were skipped\n";
  }
  return out.str();
}

std::string render_junit(const AuditRun& run) {
  std::map<std::string, std::vector<const Object*>> by_ns;
  std::map<const Object*, std::vector<const Finding*>> by_obj;
  for (const ObjectPtr& o : run.checked)
    by_ns[o->ns().empty() ? "(cluster)" : o->ns()].push_back(o.get());
  for (const Finding& f : run.findings) {
    if (f.object && f.action != Action::kOff) by_obj[f.object.get()].push_back(&f);
  }
  std::ostringstream out;
  int tests = 0, failures = 0;
  std::ostringstream suites;
  for (auto& [ns, objs] : by_ns) {
    int suite_fail = 0;
    std::ostringstream cases;
    for (const Object* o : objs) {
      cases << "    <testcase classname=\"" << escape_html(ns) << "\" name=\""
            << escape_html(o->kind_name() + " " + o->name()) << "\"";
      std::vector<const Finding*> deny, rest;
      for (const Finding* f : by_obj[o]) {
        (f->suppressed.empty() && f->action == Action::kDeny ? deny : rest).push_back(f);
      }
      if (deny.empty() && rest.empty()) {
        cases << "/>\n";
        continue;
      }
      cases << ">\n";
      if (!deny.empty()) {
        ++suite_fail;
        cases << "      <failure message=\"" << escape_html(to_warning(*deny[0]))
              << "\" type=\"deny\">";
        for (const Finding* f : deny) cases << escape_html(to_warning(*f)) << "\n";
        cases << "</failure>\n";
      }
      if (!rest.empty()) {
        cases << "      <system-out>";
        for (const Finding* f : rest) {
          cases << escape_html(
                       (f->suppressed.empty() ? std::string(to_string(f->action)) : "skip") + ": " +
                       to_warning(*f))
                << "\n";
        }
        cases << "</system-out>\n";
      }
      cases << "    </testcase>\n";
    }
    tests += static_cast<int>(objs.size());
    failures += suite_fail;
    suites << "  <testsuite name=\"" << escape_html(ns) << "\" tests=\"" << objs.size()
           << "\" failures=\"" << suite_fail << "\" errors=\"0\" skipped=\"0\">\n"
           << cases.str() << "  </testsuite>\n";
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"latticeguard audit\" "
         "tests=\""
      << tests << "\" failures=\"" << failures << "\">\n"
      << suites.str() << "</testsuites>\n";
  return out.str();
}

std::string render_html(const AuditRun& run, std::string_view title) {
  std::map<std::string, std::vector<const Finding*>> by_ns;
  std::map<std::string, int> objects_per_ns;
  std::map<std::string, std::array<int, 4>> per_rule;  // deny, warn, audit, skip
  std::array<int, 4> totals{0, 0, 0, 0};
  for (const ObjectPtr& o : run.checked) objects_per_ns[o->ns().empty() ? "(cluster)" : o->ns()]++;
  for (const Finding& f : run.findings) {
    if (f.action == Action::kOff || !f.object) continue;
    int idx = !f.suppressed.empty()       ? 3
              : f.action == Action::kDeny ? 0
              : f.action == Action::kWarn ? 1
                                          : 2;
    totals[idx]++;
    per_rule[std::string(rule_id(f))][idx]++;
    by_ns[f.object->ns().empty() ? "(cluster)" : f.object->ns()].push_back(&f);
  }
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
    << escape_html(title) << "</title>\n<style>\n"
    << "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d2330}"
    << "h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ccd}"
    << "table{border-collapse:collapse;width:100%;margin:.5em 0}"
    << "th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid "
       "#e3e6ee;vertical-align:top}"
    << "th{background:#f3f5fa}code{font-size:.92em}"
    << ".deny{color:#fff;background:#c62828}.warn{background:#f9a825}.audit{background:#cfd8dc}"
    << ".skip{background:#e0e0e0}.badge{padding:.1em .5em;border-radius:.3em;font-weight:600}"
    << ".totals span{margin-right:1.2em}.fix{color:#2e7d32}\n</style></head><body>\n";
  h << "<h1>" << escape_html(title) << "</h1>\n<p class=\"totals\"><span>" << run.checked.size()
    << " objects</span><span class=\"badge deny\">" << totals[0]
    << " deny</span><span class=\"badge warn\">" << totals[1]
    << " warn</span><span class=\"badge audit\">" << totals[2]
    << " audit</span><span class=\"badge skip\">" << totals[3] << " suppressed</span></p>\n";
  if (!run.unavailable_kinds.empty()) {
    h << "<p>Not served by this cluster (rules reading them were skipped): ";
    for (const std::string& k : run.unavailable_kinds)
      h << "<code>" << escape_html(k) << "</code> ";
    h << "</p>\n";
  }
  h << "<h2>By rule</h2>\n<table><tr><th>rule</th><th>deny</th><th>warn</th><th>audit</th>"
       "<th>suppressed</th></tr>\n";
  for (const auto& [id, c] : per_rule) {
    const Rule* r = find_rule(id);
    h << "<tr><td><a href=\""
      << escape_html(r ? "https://github.com/latticeguard/latticeguard/blob/main/rules/" +
                             rule_stem(*r) + ".md"
                       : "")
      << "\">" << escape_html(id) << "</a></td><td>" << c[0] << "</td><td>" << c[1] << "</td><td>"
      << c[2] << "</td><td>" << c[3] << "</td></tr>\n";
  }
  h << "</table>\n<h2>By namespace</h2>\n<table><tr><th>namespace</th><th>objects</th>"
       "<th>findings</th></tr>\n";
  for (const auto& [ns, n] : objects_per_ns) {
    h << "<tr><td><a href=\"#ns-" << escape_html(ns) << "\">" << escape_html(ns) << "</a></td><td>"
      << n << "</td><td>" << by_ns[ns].size() << "</td></tr>\n";
  }
  h << "</table>\n";
  for (const auto& [ns, fs] : by_ns) {
    h << "<h2 id=\"ns-" << escape_html(ns) << "\">" << escape_html(ns) << "</h2>\n"
      << "<table><tr><th>action</th><th>object</th><th>field</th><th>message</th><th>rule</th>"
         "<th>fix</th></tr>\n";
    for (const Finding* f : fs) {
      std::string action = f->suppressed.empty() ? std::string(to_string(f->action)) : "skip";
      h << "<tr><td><span class=\"badge " << action << "\">" << action << "</span></td><td>"
        << escape_html(f->object->kind_name() + " " + f->object->name()) << "</td><td><code>"
        << escape_html(field_path(f->pointer)) << "</code></td><td>" << escape_html(f->message);
      if (!f->suppressed.empty())
        h << " <em>(suppressed: " << escape_html(f->suppressed) << ")</em>";
      h << "</td><td><a href=\"" << escape_html(doc_link(*f)) << "\">" << escape_html(rule_id(*f))
        << "</a></td><td class=\"fix\">"
        << escape_html(f->fix ? f->fix->title : (f->rule ? std::string(f->rule->remediation) : ""))
        << "</td></tr>\n";
    }
    h << "</table>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace latticeguard::audit
