#include "webhook/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace latticeguard::webhook {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Metrics, RendersTheWebhookFamilies) {
  Metrics m;
  m.admission_requests().inc({"HTTPRoute", "CREATE", "deny"});
  m.admission_requests().inc({"HTTPRoute", "CREATE", "deny"});
  m.findings().inc({"lattice-backend-ref-orphaned", "deny"});
  m.cert_expiry().set({}, 1767225600);
  m.admission_duration().observe({}, 0.0003);
  m.admission_duration().observe({}, 7);
  const std::string text = m.render();
  EXPECT_TRUE(contains(text, "# TYPE latticeguard_admission_requests_total counter\n"));
  EXPECT_TRUE(contains(
      text,
      "latticeguard_admission_requests_total{kind=\"HTTPRoute\",operation=\"CREATE\",decision="
      "\"deny\"} 2\n"));
  EXPECT_TRUE(contains(text,
                       "latticeguard_findings_total{rule=\"lattice-backend-ref-orphaned\","
                       "action=\"deny\"} 1\n"));
  EXPECT_TRUE(contains(text, "latticeguard_cert_expiry_timestamp_seconds 1767225600\n"));
  EXPECT_TRUE(contains(text, "# TYPE latticeguard_admission_duration_seconds histogram\n"));
  // Buckets are cumulative; 7 s only lands in +Inf.
  EXPECT_TRUE(contains(text, "latticeguard_admission_duration_seconds_bucket{le=\"0.00025\"} 0\n"));
  EXPECT_TRUE(contains(text, "latticeguard_admission_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(contains(text, "latticeguard_admission_duration_seconds_bucket{le=\"5\"} 1\n"));
  EXPECT_TRUE(contains(text, "latticeguard_admission_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_TRUE(contains(text, "latticeguard_admission_duration_seconds_count 2\n"));
  EXPECT_TRUE(contains(text, "latticeguard_admission_duration_seconds_sum 7.0003\n"));
}

TEST(Metrics, EscapesLabelValues) {
  Metrics m;
  m.gauge("lg_test", "help with \\ and\nnewline", {"v"}).set({"a\"b\\c\nd"}, 1.5);
  const std::string text = m.render();
  EXPECT_TRUE(contains(text, "lg_test{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"));
  EXPECT_TRUE(contains(text, "# HELP lg_test help with \\\\ and\\nnewline\n"));
}

// A collector sets a counter from a count kept elsewhere when scraped.
TEST(Metrics, CollectorsRunAtEveryRender) {
  Metrics m;
  int outside = 0;
  MetricFamily& follows = m.counter("lg_test_total", "Follows `outside`.");
  m.add_collector([&] { follows.set_total({}, outside); });
  outside = 3;
  EXPECT_TRUE(contains(m.render(), "lg_test_total 3\n"));
  outside = 5;
  EXPECT_TRUE(contains(m.render(), "lg_test_total 5\n"));
}

// Concurrent scrapes may finish their reads out of order: a counter never goes down.
TEST(Metrics, SetTotalNeverLowersACounter) {
  Metrics m;
  MetricFamily& c = m.counter("lg_test_total", "A count kept elsewhere.", {"result"});
  c.set_total({"hit"}, 7);
  c.set_total({"hit"}, 4);  // an older read, landing late
  EXPECT_EQ(c.value({"hit"}), 7);
  c.set_total({"hit"}, 9);
  EXPECT_EQ(c.value({"hit"}), 9);
}

TEST(Metrics, ReRegisteringReturnsTheSameFamily) {
  Metrics m;
  MetricFamily& a = m.gauge("latticeguard_cache_objects", "Objects cached.", {"kind"});
  MetricFamily& b = m.gauge("latticeguard_cache_objects", "Objects cached.", {"kind"});
  EXPECT_EQ(&a, &b);
  a.set({"Service"}, 3);
  EXPECT_EQ(b.value({"Service"}), 3);
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  Metrics m;
  MetricFamily& c = m.counter("lg_concurrent_total", "x", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.inc({"a"});
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 100; ++i) (void)m.render();
  });
  for (auto& t : threads) t.join();
  renderer.join();
  EXPECT_EQ(c.value({"a"}), 40000);
}

}  // namespace
}  // namespace latticeguard::webhook
