// Leader election on a coordination.k8s.io/v1 Lease, so that periodic work (audit) runs on one
// replica only.
//
//   LeaderElector::Options o{.ns = "latticeguard-system", .name = "latticeguard-leader",
//                            .identity = pod_name};
//   LeaderElector le(client, o, {.on_started_leading = start_audit,
//                                .on_stopped_leading = stop_audit});
//   le.start();  ...  le.stop();   // stop() releases the Lease so another replica takes over
//
// Acquire when the Lease is absent (create), free (empty holder) or expired (not renewed for
// lease_duration as observed on this replica's clock, so clock skew between nodes does not
// matter); writes carry the observed resourceVersion, so of two racing replicas one gets 409 and
// stays a follower. The leader renews every retry_period and steps down when it could not renew
// for renew_deadline.
//
// Thread safety: callbacks run on the elector's own thread, never concurrently with each other.
// is_leader() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kube/client.h"

namespace latticeguard::kube {

class LeaderElector {
 public:
  struct Options {
    std::string ns;
    std::string name;
    std::string identity;
    std::chrono::milliseconds lease_duration{15000};
    std::chrono::milliseconds renew_deadline{10000};
    std::chrono::milliseconds retry_period{2000};
  };
  struct Callbacks {
    std::function<void()> on_started_leading;
    std::function<void()> on_stopped_leading;
  };

  LeaderElector(Client& client, Options options, Callbacks callbacks);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();
  // Stops trying; a leader releases the Lease (empty holder) and calls on_stopped_leading.
  void stop();
  bool is_leader() const { return leader_.load(); }

  // One acquire-or-renew round; true when this replica holds the Lease afterwards. Public for
  // tests that drive the election step by step.
  bool try_acquire_or_renew();

 private:
  void loop();
  void release();

  Client& client_;
  Options options_;
  Callbacks callbacks_;
  std::string path_;
  std::atomic<bool> leader_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;

  // What this replica last saw, and when (its own clock).
  std::string observed_holder_;
  std::string observed_renew_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::steady_clock::time_point last_renew_{};
};

}  // namespace latticeguard::kube
