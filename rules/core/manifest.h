// Manifest decoding: YAML/JSON bytes -> Objects with source positions (libfyaml).
//
//   Result<ManifestFile> f = decode_manifest(bytes, "app/route.yaml", "default");
//   if (!f) print(f.error());              // file:line:col: message
//   for (ObjectPtr& o : f->objects) index.put(o);
//
// Handles multi-document YAML, `kind: List` (items), JSON files, and rejects what is not a
// Kubernetes object with a message naming the file, line, column and field. Decoding is
// re-entrant: separate calls may run on separate threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/core/object.h"
#include "rules/core/result.h"

namespace latticeguard {

// The bytes of one manifest file, shared by its objects' source maps. The pointer keeps alive
// whatever holds them: a string (text_of) or a read-only mapping of the file (lint).
using TextPtr = std::shared_ptr<const std::string_view>;
TextPtr text_of(std::string bytes);

struct ManifestFile {
  std::string path;
  std::vector<ObjectPtr> objects;
  int documents = 0;  // YAML documents, including empty ones
  // The bytes decoded; the objects' source maps share them (positions, raw() re-reads).
  TextPtr text;
};

struct DecodeLimits {
  size_t max_bytes = 64u << 20;  // larger files are refused, not parsed
  int max_depth = 256;           // nesting deeper than any Kubernetes object needs
};

Result<ManifestFile> decode_manifest(std::string_view bytes, const std::string& path,
                                     std::string_view default_namespace,
                                     const DecodeLimits& limits = {});
// The same without copying the bytes (files read whole for lint); they become ManifestFile::text.
Result<ManifestFile> decode_manifest(TextPtr bytes, const std::string& path,
                                     std::string_view default_namespace,
                                     const DecodeLimits& limits = {});

// "file:line:col: message" for an Error from decode_manifest.
std::string format_error(const std::string& path, const Error& e);

// Applies RFC 6902 "add"/"replace" operations to the YAML text of one file, keeping everything
// the operations do not touch (order, comments where libfyaml keeps them, other documents).
// `doc_ops[i]` are the operations for document i.
Result<std::string> apply_ops_to_yaml(std::string_view bytes, const std::vector<json>& doc_ops);

// Converts YAML text (one document) to JSON, for config files. Errors carry line/column.
Result<json> yaml_to_json(std::string_view text);

}  // namespace latticeguard
