// Helpers shared by the certificate tests: a fixed fake clock and the default spec.
#pragma once

#include <chrono>

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

}  // namespace latticeguard::certs::testing
