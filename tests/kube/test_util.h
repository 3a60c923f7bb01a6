// Helpers shared by the kube tests: a client configuration for a FakeApiServer, object builders
// shaped like the captured API objects, and a polling wait.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "kube/client.h"
#include "tests/kube/fake_apiserver.h"

namespace latticeguard::kube {

using json = nlohmann::json;
using namespace std::chrono_literals;

// ThreadSanitizer slows everything (TLS handshakes most) several times over: waits scale with it.
#if defined(__SANITIZE_THREAD__)
inline constexpr int kSlowdown = 8;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr int kSlowdown = 8;
#else
inline constexpr int kSlowdown = 1;
#endif
#else
inline constexpr int kSlowdown = 1;
#endif
inline constexpr std::chrono::milliseconds kWait = 10s * kSlowdown;

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

inline ClientConfig config_for(const testing::FakeApiServer& api) {
  ClientConfig c;
  c.server = api.url();
  c.ca_pem = api.ca_pem();
  c.request_timeout = 5s * kSlowdown;
  c.connect_timeout = 5s * kSlowdown;
  return c;
}

inline std::unique_ptr<Client> client_for(const testing::FakeApiServer& api) {
  auto c = Client::create(config_for(api));
  return c ? std::move(*c) : nullptr;
}

// A Service as kubectl client-side apply leaves it: managedFields, status, last-applied.
inline json service(const std::string& ns, const std::string& name, int port = 80) {
  return json::parse(
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name + R"(","namespace":")" +
      ns + R"(","labels":{"app":")" + name +
      R"("},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"},
      "managedFields":[{"manager":"kubectl-client-side-apply","operation":"Update"}]},
      "spec":{"ports":[{"name":"http","protocol":"TCP","port":)" +
      std::to_string(port) + R"(,"targetPort":8090}],"selector":{"app":")" + name +
      R"("}},"status":{"loadBalancer":{}}})");
}

inline json httproute(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "HTTPRoute"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"parentRefs", {{{"name", "my-hotel"}}}},
            {"rules", {{{"backendRefs", {{{"name", "inventory"}, {"port", 80}}}}}}}}}};
}

// Polls `pred` (anything testable as bool, e.g. an optional) until it holds or time runs out.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = kWait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (static_cast<bool>(pred())) return true;
    std::this_thread::sleep_for(10ms);
  }
  return static_cast<bool>(pred());
}

}  // namespace latticeguard::kube
