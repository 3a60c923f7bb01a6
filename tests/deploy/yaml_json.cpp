#include "yaml_json.h"

#include <libfyaml.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "re2/re2.h"

namespace latticeguard::testing {
namespace {

using nlohmann::json;

json scalar(fy_node* node) {
  size_t len = 0;
  const char* text = fy_node_get_scalar(node, &len);
  std::string s(text ? text : "", len);
  if (fy_node_get_style(node) != FYNS_PLAIN) return s;
  static const RE2 kInt(R"([-+]?[0-9]+)");
  static const RE2 kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (s == "true") return true;
  if (s == "false") return false;
  if (RE2::FullMatch(s, kInt)) return std::stoll(s);
  if (RE2::FullMatch(s, kFloat)) return std::stod(s);
  return s;
}

json convert(fy_node* node) {
  if (node == nullptr) return nullptr;
  switch (fy_node_get_type(node)) {
    case FYNT_SCALAR:
      return scalar(node);
    case FYNT_SEQUENCE: {
      json out = json::array();
      void* it = nullptr;
      while (fy_node* item = fy_node_sequence_iterate(node, &it)) out.push_back(convert(item));
      return out;
    }
    case FYNT_MAPPING: {
      json out = json::object();
      void* it = nullptr;
      while (fy_node_pair* pair = fy_node_mapping_iterate(node, &it)) {
        json key = convert(fy_node_pair_key(pair));
        out[key.is_string() ? key.get<std::string>() : key.dump()] =
            convert(fy_node_pair_value(pair));
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

Result<std::vector<json>> yaml_documents(const std::string& text) {
  fy_parse_cfg cfg{};
  cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_DEFAULT_PARSE);
  std::unique_ptr<fy_parser, void (*)(fy_parser*)> parser(fy_parser_create(&cfg),
                                                          fy_parser_destroy);
  if (!parser || fy_parser_set_string(parser.get(), text.data(), text.size()) != 0) {
    return Error{"cannot create YAML parser"};
  }
  std::vector<json> docs;
  while (fy_document* doc = fy_parse_load_document(parser.get())) {
    json j = convert(fy_document_root(doc));
    fy_parse_document_destroy(parser.get(), doc);
    if (!j.is_null()) docs.push_back(std::move(j));
  }
  if (fy_parser_get_stream_error(parser.get())) return Error{"YAML syntax error"};
  return docs;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace latticeguard::testing
