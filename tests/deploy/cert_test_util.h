// Helpers shared by the certificate tests: a fixed fake clock and the default spec.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "certs/files.h"
#include "certs/rotation.h"

namespace latticeguard::certs::testing {

// A fixed instant (2030-01-01T00:00:00Z) so tests never depend on the wall clock.
inline TimePoint fake_epoch() { return Clock::from_time_t(1893456000); }

inline TimePoint days_after(TimePoint t, double days) {
  return t +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(days * 86400));
}

inline IssueSpec default_spec(int ca_days = 30, int days = 9) {
  CertsGenerateOptions o;
  o.ips = {"127.0.0.1"};
  o.dns_names = {"webhook.example.test"};
  o.ca_days = ca_days;
  o.days = days;
  return issue_spec(o);
}

// A bundle issued at fake_epoch() (CA 30 days, leaf 9 days unless the test changes spec_ in its
// constructor), and rotation steps at fake days after it.
class BundleFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<CertBundle> b = make_bundle(spec_, t0_);
    ASSERT_TRUE(b) << b.error().message;
    bundle_ = *b;
  }
  TimePoint at(double day) const { return days_after(t0_, day); }
  RotationPlan plan_at(double day, bool published = true) {
    Result<RotationPlan> p = plan_rotation(bundle_, spec_, at(day), published);
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : RotationPlan{};
  }
  void rotate_at(double day, bool published = true) {
    RotationPlan p = plan_at(day, published);
    Result<CertBundle> b = rotate(bundle_, p, spec_, at(day));
    ASSERT_TRUE(b) << b.error().message;
    bundle_ = *b;
  }
  size_t trusted_count() const {
    Result<std::vector<std::string>> v = split_pem_bundle(bundle_.trust_pem);
    return v ? v->size() : 0;
  }
  TimePoint t0_ = fake_epoch();
  IssueSpec spec_ = default_spec(30, 9);
  CertBundle bundle_;
};

}  // namespace latticeguard::certs::testing
