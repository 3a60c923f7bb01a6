#include "webhook/metrics.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace latticeguard::webhook {
namespace {

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    // Whole numbers (counts, timestamps) print without exponent; others shortest round-trip.
    const bool whole = std::abs(v) < 1e15 && v == std::floor(v);
    auto [end, ec] = whole ? std::to_chars(buf, buf + sizeof(buf), static_cast<long long>(v))
                           : std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"` without the closing brace, so a histogram can add `le`.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "{" : ",";
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
}

[[noreturn]] void misuse(std::string_view name, std::string_view what) {
  spdlog::critical("event=metrics_misuse metric={} error=\"{}\"", name, what);
  std::abort();
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

MetricFamily::MetricFamily(std::string name, std::string help, Type type,
                           std::vector<std::string> label_names, std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(buckets)) {}

MetricFamily::Series& MetricFamily::series(Labels labels) {
  if (labels.size() != label_names_.size()) {
    misuse(name_, "wrong number of label values");
  }
  std::vector<std::string> key(labels.begin(), labels.end());
  auto it = series_.find(key);
  if (it == series_.end()) {
    it = series_.emplace(std::move(key), Series{}).first;
    if (type_ == Type::kHistogram) {
      it->second.buckets.assign(bounds_.size(), 0);
    }
  }
  return it->second;
}

void MetricFamily::inc(Labels labels, double v) {
  if (type_ == Type::kHistogram) {
    misuse(name_, "inc on a histogram");
  }
  std::lock_guard lock(mu_);
  series(labels).value += v;
}

void MetricFamily::set(Labels labels, double v) {
  if (type_ != Type::kGauge) {
    misuse(name_, "set on a non-gauge");
  }
  std::lock_guard lock(mu_);
  series(labels).value = v;
}

void MetricFamily::set_total(Labels labels, double v) {
  if (type_ != Type::kCounter) {
    misuse(name_, "set_total on a non-counter");
  }
  std::lock_guard lock(mu_);
  Series& s = series(labels);
  s.value = std::max(s.value, v);
}

void MetricFamily::observe(Labels labels, double v) {
  if (type_ != Type::kHistogram) {
    misuse(name_, "observe on a non-histogram");
  }
  std::lock_guard lock(mu_);
  Series& s = series(labels);
  s.value += v;
  ++s.count;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      ++s.buckets[i];
      break;
    }
  }
}

double MetricFamily::value(Labels labels) const {
  std::vector<std::string> key(labels.begin(), labels.end());
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    return 0;
  }
  return type_ == Type::kHistogram ? static_cast<double>(it->second.count) : it->second.value;
}

void MetricFamily::clear() {
  std::lock_guard lock(mu_);
  series_.clear();
}

void MetricFamily::render(std::string& out) const {
  static constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + " ";
  out += kTypeNames[static_cast<int>(type_)];
  out += '\n';
  std::lock_guard lock(mu_);
  for (const auto& [values, s] : series_) {
    if (type_ != Type::kHistogram) {
      out += name_;
      append_labels(out, label_names_, values);
      out += values.empty() ? " " : "} ";
      append_number(out, s.value);
      out += '\n';
      continue;
    }
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      const bool inf = i == bounds_.size();
      cumulative = inf ? s.count : cumulative + s.buckets[i];
      out += name_ + "_bucket";
      append_labels(out, label_names_, values);
      out += values.empty() ? "{le=\"" : ",le=\"";
      append_number(out, inf ? INFINITY : bounds_[i]);
      out += "\"} " + std::to_string(cumulative) + "\n";
    }
    for (auto [suffix, is_sum] : {std::pair{"_sum", true}, {"_count", false}}) {
      out += name_ + suffix;
      append_labels(out, label_names_, values);
      out += values.empty() ? " " : "} ";
      if (is_sum) {
        append_number(out, s.value);
      } else {
        out += std::to_string(s.count);
      }
      out += '\n';
    }
  }
}

const std::vector<double>& Metrics::latency_buckets() {
  static const std::vector<double> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  return kBuckets;
}

Metrics::Metrics() {
  requests_ = &counter("latticeguard_admission_requests_total",
                       "Admission reviews answered, by object kind, operation and decision.",
                       {"kind", "operation", "decision"});
  duration_ = &histogram("latticeguard_admission_duration_seconds",
                         "Time from receiving an admission review to writing the answer.", {},
                         latency_buckets());
  findings_ = &counter("latticeguard_findings_total", "Rule findings, by rule id and action.",
                       {"rule", "action"});
  cert_expiry_ = &gauge("latticeguard_cert_expiry_timestamp_seconds",
                        "Expiry (notAfter) of the serving certificate, in Unix seconds.");
}

MetricFamily& Metrics::add(std::string_view name, std::string_view help, MetricFamily::Type type,
                           std::vector<std::string> label_names, std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second->type() != type || it->second->label_names() != label_names) {
      misuse(name, "registered twice with different type or labels");
    }
    return *it->second;
  }
  auto family = std::make_unique<MetricFamily>(std::string(name), std::string(help), type,
                                               std::move(label_names), std::move(buckets));
  MetricFamily& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

MetricFamily& Metrics::counter(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names) {
  return add(name, help, MetricFamily::Type::kCounter, std::move(label_names), {});
}

MetricFamily& Metrics::gauge(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names) {
  return add(name, help, MetricFamily::Type::kGauge, std::move(label_names), {});
}

MetricFamily& Metrics::histogram(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> buckets) {
  return add(name, help, MetricFamily::Type::kHistogram, std::move(label_names),
             std::move(buckets));
}

void Metrics::add_collector(std::function<void()> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Metrics::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  // Outside mu_: a collector sets families, which take their own locks, and may register one.
  for (const auto& collect : collectors) collect();
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    family->render(out);
  }
  return out;
}

}  // namespace latticeguard::webhook
