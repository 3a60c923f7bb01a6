// Baseline for the lint benchmark: parse a multi-document YAML file with libfyaml into
// documents and visit every node, nothing else. `latticeguard lint` on the same file is
// compared against this (bench/lint/run), so the ratio shows what decoding, indexing and the
// rules cost on top of the parser.
//
// Usage: lg_parse_only FILE    prints documents, nodes and scalar bytes; exit 2 on errors.

#include <libfyaml.h>

#include <cstdint>
#include <cstdio>
#include <memory>

namespace {

struct Counts {
  uint64_t documents = 0;
  uint64_t nodes = 0;
  uint64_t scalar_bytes = 0;
  uint64_t checksum = 0;  // keeps the scalar reads observable
};

void visit(fy_node* node, Counts& counts) {
  if (node == nullptr) return;
  ++counts.nodes;
  switch (fy_node_get_type(node)) {
    case FYNT_SCALAR: {
      size_t len = 0;
      const char* text = fy_node_get_scalar(node, &len);
      counts.scalar_bytes += len;
      if (text != nullptr && len > 0) {
        counts.checksum +=
            static_cast<unsigned char>(text[0]) + static_cast<unsigned char>(text[len - 1]);
      }
      break;
    }
    case FYNT_SEQUENCE: {
      void* iter = nullptr;
      while (fy_node* item = fy_node_sequence_iterate(node, &iter)) visit(item, counts);
      break;
    }
    case FYNT_MAPPING: {
      void* iter = nullptr;
      while (fy_node_pair* pair = fy_node_mapping_iterate(node, &iter)) {
        visit(fy_node_pair_key(pair), counts);
        visit(fy_node_pair_value(pair), counts);
      }
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  fy_parse_cfg cfg{};
  cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_DEFAULT_DOC);
  std::unique_ptr<fy_parser, decltype(&fy_parser_destroy)> parser(fy_parser_create(&cfg),
                                                                  &fy_parser_destroy);
  if (!parser || fy_parser_set_input_file(parser.get(), argv[1]) != 0) {
    std::fprintf(stderr, "%s: cannot open\n", argv[1]);
    return 2;
  }
  Counts counts;
  while (fy_document* doc = fy_parse_load_document(parser.get())) {
    ++counts.documents;
    visit(fy_document_root(doc), counts);
    fy_parse_document_destroy(parser.get(), doc);
  }
  if (fy_parser_get_stream_error(parser.get())) {
    std::fprintf(stderr, "%s: YAML error\n", argv[1]);
    return 2;
  }
  std::printf("documents=%llu nodes=%llu scalar_bytes=%llu checksum=%llu\n",
              static_cast<unsigned long long>(counts.documents),
              static_cast<unsigned long long>(counts.nodes),
              static_cast<unsigned long long>(counts.scalar_bytes),
              static_cast<unsigned long long>(counts.checksum));
  return 0;
}
