// The live cluster behind `serve` (and `audit`, `lint --cluster`): Kubernetes API access, the
// watch cache feeding a copy-on-write ObjectIndex, periodic audit on the Lease holder, and
// self-managed certificates.
//
//   auto live = LiveCluster::start(opts, metrics);    // connects, discovers, starts watching
//   Decider decider(live->state(), config);           // snapshots never block on the watchers
//   live->before_serving();  server.start();  live->after_serving(server, decider);
//   ... live->stop();
//
// Thread safety: state() snapshots may be taken from any thread; start/stop from one thread.
#pragma once

#include <memory>

#include "cli/serve.h"
#include "rules/core/result.h"
#include "webhook/decision.h"
#include "webhook/metrics.h"
#include "webhook/server.h"

namespace latticeguard {

class LiveCluster {
 public:
  static Result<std::unique_ptr<LiveCluster>> start(const ServeOptions& opts,
                                                    webhook::Metrics& metrics);
  virtual ~LiveCluster() = default;
  virtual std::shared_ptr<webhook::ClusterState> state() = 0;
  // Runs before the HTTPS server loads its certificate (self-managed certificates).
  virtual Status before_serving() = 0;
  // Starts what needs the running server and decider (periodic audit, certificate rotation).
  virtual void after_serving(webhook::Server& server, webhook::Decider& decider) = 0;
  virtual void stop() = 0;
};

}  // namespace latticeguard
