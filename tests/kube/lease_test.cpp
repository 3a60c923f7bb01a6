#include "kube/lease.h"

#include <gtest/gtest.h>

#include "tests/kube/test_util.h"

namespace latticeguard::kube {
namespace {

LeaderElector::Options options(const std::string& identity) {
  LeaderElector::Options o;
  o.ns = "latticeguard-system";
  o.name = "latticeguard-leader";
  o.identity = identity;
  o.lease_duration = 1000ms * kSlowdown;
  o.renew_deadline = 700ms * kSlowdown;
  o.retry_period = 50ms * kSlowdown;
  return o;
}

std::string holder(const testing::FakeApiServer& api) {
  auto l =
      api.get_object("coordination.k8s.io", "leases", "latticeguard-system", "latticeguard-leader");
  return l ? (*l)["spec"].value("holderIdentity", "") : "";
}

TEST(LeaderElectorTest, ExactlyOneLeadsAndTheOtherTakesOverWhenItStops) {
  testing::FakeApiServer api;
  ASSERT_TRUE(api.start());
  auto client = client_for(api);
  std::atomic<int> started_a{0}, started_b{0}, stopped_a{0};
  LeaderElector a(*client, options("replica-a"), {[&] { ++started_a; }, [&] { ++stopped_a; }});
  LeaderElector b(*client, options("replica-b"), {[&] { ++started_b; }, nullptr});
  a.start();
  b.start();
  ASSERT_TRUE(eventually([&] { return a.is_leader() || b.is_leader(); }));
  // Both keep trying for a while: never two leaders.
  for (int i = 0; i < 30; ++i) {
    EXPECT_FALSE(a.is_leader() && b.is_leader());
    std::this_thread::sleep_for(20ms);
  }
  LeaderElector& leader = a.is_leader() ? a : b;
  LeaderElector& follower = a.is_leader() ? b : a;
  std::string leader_id = a.is_leader() ? "replica-a" : "replica-b";
  EXPECT_EQ(holder(api), leader_id);
  EXPECT_EQ(started_a + started_b, 1);

  auto t0 = std::chrono::steady_clock::now();
  leader.stop();  // releases the Lease
  EXPECT_FALSE(leader.is_leader());
  ASSERT_TRUE(eventually([&] { return follower.is_leader(); }));
  // Released, not expired: the hand-over does not wait out the lease duration.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms * kSlowdown);
  EXPECT_NE(holder(api), leader_id);
  // is_leader() turns true just before the callback runs on the elector's thread.
  EXPECT_TRUE(eventually([&] { return started_a + started_b == 2; }));
  follower.stop();
  EXPECT_EQ(holder(api), "");
  auto lease =
      api.get_object("coordination.k8s.io", "leases", "latticeguard-system", "latticeguard-leader");
  ASSERT_TRUE(lease);
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 1);
}

TEST(LeaderElectorTest, ExpiredLeaseOfACrashedLeaderIsTakenOver) {
  testing::FakeApiServer api;
  ASSERT_TRUE(api.start());
  auto client = client_for(api);
  LeaderElector a(*client, options("replica-a"), {});
  LeaderElector b(*client, options("replica-b"), {});
  ASSERT_TRUE(a.try_acquire_or_renew());  // a leads, then "crashes": no renewals, no release
  EXPECT_FALSE(b.try_acquire_or_renew());
  std::this_thread::sleep_for(500ms * kSlowdown);
  EXPECT_FALSE(b.try_acquire_or_renew());  // still within leaseDurationSeconds as b observed it
  std::this_thread::sleep_for(700ms * kSlowdown);
  EXPECT_TRUE(b.try_acquire_or_renew());
  EXPECT_EQ(holder(api), "replica-b");
  EXPECT_FALSE(a.try_acquire_or_renew());  // a comes back: b holds a fresh lease
}

TEST(LeaderElectorTest, LeaderStepsDownWhenItCannotRenew) {
  testing::FakeApiServer api;
  ASSERT_TRUE(api.start());
  auto client = client_for(api);
  std::atomic<int> stopped{0};
  LeaderElector a(*client, options("replica-a"), {nullptr, [&] { ++stopped; }});
  a.start();
  ASSERT_TRUE(eventually([&] { return a.is_leader(); }));
  api.forbid("update", "coordination.k8s.io", "leases");
  api.forbid("get", "coordination.k8s.io", "leases");
  ASSERT_TRUE(eventually([&] { return !a.is_leader(); }));
  // is_leader() turns false before the callback runs on the elector's thread.
  EXPECT_TRUE(eventually([&] { return stopped == 1; }));
  a.stop();
}

}  // namespace
}  // namespace latticeguard::kube
