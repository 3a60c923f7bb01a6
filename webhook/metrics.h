// A small Prometheus registry rendered in the text exposition format 0.0.4 (GET /metrics).
//
//   Metrics m;                                   // the webhook's families are pre-registered
//   m.admission_requests().inc({"HTTPRoute", "CREATE", "deny"});
//   m.admission_duration().observe({}, 0.00042);
//   MetricFamily& cached = m.gauge("latticeguard_cache_objects", "Objects in the cache.",
//   {"kind"}); cached.set({"Service"}, 412); std::string text = m.render();
//
// Registering a name again returns the same family (so callers may look families up lazily);
// registering it with another type or label set is a programming error and aborts.
// Thread safety: all methods are safe to call concurrently. Family references stay valid for the
// registry's lifetime; each family has its own lock, so hot counters do not contend with render().
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace latticeguard::webhook {

class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  using Labels = std::initializer_list<std::string_view>;

  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names,
               std::vector<double> buckets);
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // Label values are given in the order of the family's label names.
  void inc(Labels labels = {}, double v = 1);  // counter or gauge
  void set(Labels labels, double v);           // gauge
  // Counter: raises it to `v`, a count kept elsewhere and read when scraped (a collector); a
  // lower `v` (an older read finishing late) leaves it as it is, so it never goes down.
  void set_total(Labels labels, double v);
  void observe(Labels labels, double v);   // histogram
  double value(Labels labels = {}) const;  // counter/gauge; histogram: count
  void clear();                            // drop all series (e.g. gauges rebuilt)

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  void render(std::string& out) const;

 private:
  struct Series {
    double value = 0;                    // counter/gauge; histogram: sum
    std::uint64_t count = 0;             // histogram
    std::vector<std::uint64_t> buckets;  // histogram, not cumulative
  };
  Series& series(Labels labels);  // requires mu_

  const std::string name_, help_;
  const Type type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Series> series_;
};

class Metrics {
 public:
  // Upper bounds in seconds; admission answers are expected well under 1 ms, the API server gives
  // up at the webhook's timeoutSeconds (5 s by default).
  static const std::vector<double>& latency_buckets();

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  MetricFamily& counter(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names = {});
  MetricFamily& gauge(std::string_view name, std::string_view help,
                      std::vector<std::string> label_names = {});
  MetricFamily& histogram(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names, std::vector<double> buckets);

  // latticeguard_admission_requests_total{kind,operation,decision}
  MetricFamily& admission_requests() { return *requests_; }
  // latticeguard_admission_duration_seconds
  MetricFamily& admission_duration() { return *duration_; }
  // latticeguard_findings_total{rule,action}
  MetricFamily& findings() { return *findings_; }
  // latticeguard_cert_expiry_timestamp_seconds
  MetricFamily& cert_expiry() { return *cert_expiry_; }

  // Runs `collect` at the start of every render(), to set families from state kept elsewhere
  // when scraped (like the Go client's GaugeFunc and CounterFunc: set and set_total): no ticker,
  // and no figure older than the scrape. Concurrent scrapes run collectors concurrently. A
  // collector must not call render() or add_collector().
  void add_collector(std::function<void()> collect);

  // Text exposition format 0.0.4, families sorted by name.
  std::string render() const;

 private:
  MetricFamily& add(std::string_view name, std::string_view help, MetricFamily::Type type,
                    std::vector<std::string> label_names, std::vector<double> buckets);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;
  std::vector<std::function<void()>> collectors_;
  MetricFamily* requests_;
  MetricFamily* duration_;
  MetricFamily* findings_;
  MetricFamily* cert_expiry_;
};

// Label value escaping of the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view v);

}  // namespace latticeguard::webhook
