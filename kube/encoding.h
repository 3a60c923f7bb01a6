// Whole-file reads for the Kubernetes client code and its tests (kubeconfig, token and certificate
// files). Base64 lives in rules/core/base64.h. Thread-safe.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace latticeguard::kube {

inline std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace latticeguard::kube
