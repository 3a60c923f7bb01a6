#include "kube/lease.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>

namespace latticeguard::kube {
namespace {

using json = nlohmann::json;

// Lease times are MicroTime: RFC 3339 with exactly six fractional digits.
std::string micro_time_now() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(us % 1000000));
  return buf;
}

int duration_seconds(std::chrono::milliseconds d) {
  return std::max<int>(1, static_cast<int>((d.count() + 999) / 1000));
}

}  // namespace

LeaderElector::LeaderElector(Client& client, Options options, Callbacks callbacks)
    : client_(client), options_(std::move(options)), callbacks_(std::move(callbacks)) {
  path_ = "/apis/coordination.k8s.io/v1/namespaces/" + options_.ns + "/leases";
}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::try_acquire_or_renew() {
  auto now = std::chrono::steady_clock::now();
  std::string stamp = micro_time_now();
  auto current = client_.get(path_ + "/" + options_.name);
  if (!current) {
    if (!is_not_found(current.error())) {
      spdlog::warn("event=lease_get_failed lease={}/{} msg=\"{}\"", options_.ns, options_.name,
                   current.error().message);
      return false;
    }
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", duration_seconds(options_.lease_duration)},
                    {"acquireTime", stamp},
                    {"renewTime", stamp},
                    {"leaseTransitions", 0}}}};
    auto created = client_.create(path_, lease);
    if (!created) {
      // 409 AlreadyExists: another replica created it first.
      spdlog::debug("event=lease_create_lost msg=\"{}\"", created.error().message);
      return false;
    }
    observed_holder_ = options_.identity;
    observed_renew_ = stamp;
    observed_at_ = now;
    return true;
  }
  json& spec = (*current)["spec"];
  if (!spec.is_object()) spec = json::object();
  std::string holder = spec.value("holderIdentity", "");
  std::string renew = spec.value("renewTime", "");
  if (holder != observed_holder_ || renew != observed_renew_) {
    observed_holder_ = holder;
    observed_renew_ = renew;
    observed_at_ = now;
  }
  auto duration = std::chrono::seconds(spec.value("leaseDurationSeconds", 0));
  bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && now < observed_at_ + duration) return false;  // held by another

  if (!mine) {
    spec["acquireTime"] = stamp;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["renewTime"] = stamp;
  spec["leaseDurationSeconds"] = duration_seconds(options_.lease_duration);
  // metadata.resourceVersion stays as read: a concurrent writer makes this a 409.
  auto updated = client_.update(path_ + "/" + options_.name, *current);
  if (!updated) {
    spdlog::debug("event=lease_update_failed msg=\"{}\"", updated.error().message);
    return false;
  }
  observed_holder_ = options_.identity;
  observed_renew_ = stamp;
  observed_at_ = now;
  return true;
}

void LeaderElector::release() {
  auto current = client_.get(path_ + "/" + options_.name);
  if (!current) return;
  json& spec = (*current)["spec"];
  if (!spec.is_object() || spec.value("holderIdentity", "") != options_.identity) return;
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = micro_time_now();
  auto updated = client_.update(path_ + "/" + options_.name, *current);
  if (!updated) {
    spdlog::warn("event=lease_release_failed lease={}/{} msg=\"{}\"", options_.ns, options_.name,
                 updated.error().message);
  } else {
    spdlog::info("event=lease_released lease={}/{} identity={}", options_.ns, options_.name,
                 options_.identity);
  }
}

void LeaderElector::loop() {
  for (;;) {
    bool ok = try_acquire_or_renew();
    auto now = std::chrono::steady_clock::now();
    if (ok) {
      last_renew_ = now;
      if (!leader_.exchange(true)) {
        spdlog::info("event=leader_elected lease={}/{} identity={}", options_.ns, options_.name,
                     options_.identity);
        if (callbacks_.on_started_leading) callbacks_.on_started_leading();
      }
    } else if (leader_.load() && now - last_renew_ >= options_.renew_deadline) {
      leader_.store(false);
      spdlog::warn("event=leader_lost lease={}/{} identity={}", options_.ns, options_.name,
                   options_.identity);
      if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, options_.retry_period, [this] { return stopping_; })) break;
  }
  if (leader_.exchange(false)) {
    release();
    if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
  }
}

}  // namespace latticeguard::kube
