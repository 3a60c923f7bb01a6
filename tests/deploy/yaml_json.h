// Test helper: YAML (every document of a stream) to nlohmann::json via libfyaml. Plain scalars
// become null/bool/int/float where YAML 1.2 core schema says so; quoted scalars stay strings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rules/core/result.h"

namespace latticeguard::testing {

Result<std::vector<nlohmann::json>> yaml_documents(const std::string& text);
std::string read_text(const std::string& path);
std::vector<std::string> split_lines(
    const std::string&
        text);  // without the newlines  // empty when unreadable (the test then fails)

}  // namespace latticeguard::testing
