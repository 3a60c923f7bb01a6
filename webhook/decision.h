// The admission decision: a pure function AdmissionRequest -> AdmissionResponse over the rule
// engine and a snapshot of the cluster. No HTTP here (server.cpp), no wire format (admission.cpp).
//
//   auto state = std::make_shared<StaticClusterState>(std::move(index));
//   Decider decider(state, std::make_shared<const Config>(config));
//   server.handle("/validate", [&](AdmissionRequest r) { return decider.validate(std::move(r)); });
//   server.handle("/mutate", [&](AdmissionRequest r) { return decider.mutate(std::move(r)); });
//   decider.set_config(new_config);   // on ConfigMap reload
//
// The object under review is laid over the cluster snapshot (on DELETE, removed from it) so
// rules see the cluster as it would be after admission. dryRun requests are evaluated exactly
// like others: the webhook has no side effects.
// Thread safety: validate/mutate may run concurrently on any number of threads; set_config swaps
// the engine atomically (readers keep the engine they started with).
#pragma once

#include <atomic>
#include <memory>

#include "rules/core/cluster_view.h"
#include "rules/core/config.h"
#include "rules/core/engine.h"
#include "webhook/admission.h"

namespace latticeguard::webhook {

// Where the webhook's view of the cluster comes from: manifests on disk or the watch cache.
class ClusterState {
 public:
  virtual ~ClusterState() = default;
  // An immutable snapshot; never blocks on writers.
  virtual std::shared_ptr<const ObjectIndex> snapshot() const = 0;
  // Every available kind has been listed; before that, absent objects are unknown.
  virtual bool synced() const = 0;
};

class StaticClusterState final : public ClusterState {
 public:
  explicit StaticClusterState(ObjectIndex index)
      : index_(std::make_shared<const ObjectIndex>(std::move(index))) {}
  std::shared_ptr<const ObjectIndex> snapshot() const override { return index_; }
  bool synced() const override { return true; }

 private:
  std::shared_ptr<const ObjectIndex> index_;
};

class Decider {
 public:
  Decider(std::shared_ptr<const ClusterState> state, std::shared_ptr<const Config> config);

  // By value: the objects under review are laid over the cluster view as they are, not copied.
  AdmissionResponse validate(AdmissionRequest req) const;
  AdmissionResponse mutate(AdmissionRequest req) const;

  void set_config(std::shared_ptr<const Config> config);
  std::shared_ptr<const Engine> engine() const { return engine_.load(); }

 private:
  std::shared_ptr<const ClusterState> state_;
  std::atomic<std::shared_ptr<const Engine>> engine_;
};

// Kinds latticeguard answers for (everything else is allowed at once, without findings).
bool handles_kind(std::string_view group, std::string_view kind);

}  // namespace latticeguard::webhook
