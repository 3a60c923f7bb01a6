#include "rules/core/manifest.h"

#include <libfyaml.h>
#include <re2/re2.h>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "rules/core/utf8.h"

namespace latticeguard {
namespace {

struct ParserDeleter {
  void operator()(fy_parser* p) const { fy_parser_destroy(p); }
};
struct DiagDeleter {
  void operator()(fy_diag* d) const { fy_diag_destroy(d); }
};
struct DocumentDeleter {
  void operator()(fy_document* d) const { fy_document_destroy(d); }
};
using ParserPtr = std::unique_ptr<fy_parser, ParserDeleter>;
using DiagPtr = std::unique_ptr<fy_diag, DiagDeleter>;
using DocumentPtr = std::unique_ptr<fy_document, DocumentDeleter>;

// A parser over `text` that collects diagnostics instead of printing them.
struct Parser {
  DiagPtr diag;
  ParserPtr parser;

  explicit Parser(std::string_view text) {
    fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = nullptr;
    dcfg.output_fn = [](fy_diag*, void*, const char*, size_t) {};
    diag.reset(fy_diag_create(&dcfg));
    if (diag) fy_diag_set_collect_errors(diag.get(), true);
    fy_parse_cfg cfg{};
    cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2);
    cfg.diag = diag.get();
    parser.reset(fy_parser_create(&cfg));
    if (parser) fy_parser_set_string(parser.get(), text.data(), text.size());
  }

  Error error(std::string_view fallback, int line_offset) const {
    Error e{std::string(fallback)};
    if (diag) {
      void* it = nullptr;
      if (fy_diag_error* de = fy_diag_errors_iterate(diag.get(), &it)) {
        e.message = de->msg ? de->msg : e.message;
        e.line = de->line + 1 + line_offset;
        e.column = de->column + 1;
      }
    }
    return e;
  }
};

struct EventDeleter {
  fy_parser* p;
  void operator()(fy_event* e) const { fy_parser_event_free(p, e); }
};
using EventPtr = std::unique_ptr<fy_event, EventDeleter>;

std::string_view token_text(fy_token* t) {
  if (!t) return {};
  size_t len = 0;
  const char* s = fy_token_get_text(t, &len);
  return s ? std::string_view(s, len) : std::string_view{};
}

bool is_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  int base = 10;
  if (s.substr(i).starts_with("0x")) {
    base = 16;
    i += 2;
  } else if (s.substr(i).starts_with("0o")) {
    base = 8;
    i += 2;
  }
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  out = s[0] == '-' ? -v : v;
  return true;
}

bool is_float(std::string_view s, double& out) {
  if (s.empty() || s.find_first_of("0123456789") == std::string_view::npos) return false;
  if (s.find_first_not_of("0123456789+-.eE") != std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// YAML 1.2 core schema resolution for plain scalars.
json resolve_scalar(fy_event* ev) {
  fy_token* value = ev->scalar.value;
  std::string_view text = token_text(value);
  std::string_view tag = token_text(ev->scalar.tag);
  if (!tag.empty() && tag != "!") {
    if (tag.ends_with(":str") || tag == "!!str") return std::string(text);
  }
  if (fy_token_scalar_style(value) != FYSS_PLAIN) return std::string(text);
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t i;
  if (is_int(text, i)) return i;
  double d;
  if (is_float(text, d)) return d;
  if (text == ".inf" || text == ".Inf" || text == "+.inf")
    return std::numeric_limits<double>::infinity();
  return std::string(text);
}

// The text of a scalar that resolve_scalar would turn into the same string, for mapping keys:
// untagged, without an anchor, quoted or a plain word that is not null/true/false in any case.
std::optional<std::string_view> verbatim_key(fy_event* ev) {
  if (!token_text(ev->scalar.tag).empty() || !token_text(ev->scalar.anchor).empty()) {
    return std::nullopt;
  }
  std::string_view text = token_text(ev->scalar.value);
  if (fy_token_scalar_style(ev->scalar.value) != FYSS_PLAIN) return text;
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return std::nullopt;
  for (std::string_view word :
       {"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"}) {
    if (text == word) return std::nullopt;
  }
  return text;
}

std::pair<int, int> mark_of(fy_event* ev) {
  const fy_mark* m = fy_event_start_mark(ev);
  return m ? std::make_pair(m->line + 1, m->column + 1) : std::make_pair(0, 0);
}

// Builds one JSON value per document from the event stream, with depth and duplicate-key checks.
class Builder {
 public:
  Builder(const DecodeLimits& limits, int line_offset)
      : limits_(limits), line_offset_(line_offset) {}

  // Consumes events until the document ends. Returns the document value (null when empty).
  // `start` receives the document's first byte offset and line (0-based) in the stream.
  Result<json> document(fy_parser* p, Parser& owner, bool& stream_end, fy_mark& start) {
    json root;
    struct Frame {
      json* value;
      bool mapping;
      bool have_key = false;
      json* slot = nullptr;
      std::pair<int, int> key_mark = {};
    };
    std::vector<Frame> stack;
    // The slot is made with the key (one map lookup per key); a null value is what an empty
    // YAML value resolves to anyway, and the value replaces it.
    auto place_key = [&](std::string key, std::pair<int, int> mark) -> Result<json*> {
      Frame& f = stack.back();
      auto [it, fresh] = f.value->get_ref<json::object_t&>().try_emplace(std::move(key));
      if (!fresh) return err("duplicate key \"" + it->first + "\"", mark);
      f.slot = &it->second;
      f.have_key = true;
      f.key_mark = mark;
      return nullptr;
    };
    auto place = [&](json v, std::pair<int, int> mark) -> Result<json*> {
      if (stack.empty()) {
        root = std::move(v);
        return &root;
      }
      Frame& f = stack.back();
      if (!f.mapping) {
        f.value->push_back(std::move(v));
        return &f.value->back();
      }
      if (!f.have_key) {
        // v is the key.
        if (!v.is_string()) {
          if (v.is_number_integer()) {
            v = std::to_string(v.get<int64_t>());
          } else if (v.is_boolean()) {
            v = v.get<bool>() ? "true" : "false";
          } else if (v.is_null()) {
            v = "null";
          } else {
            return err("mapping keys must be scalars", mark);
          }
        }
        return place_key(std::move(v.get_ref<std::string&>()), mark);
      }
      f.have_key = false;
      *f.slot = std::move(v);
      return f.slot;
    };

    while (true) {
      EventPtr ev(fy_parser_parse(p), EventDeleter{p});
      if (!ev) {
        if (fy_parser_get_stream_error(p)) return owner.error("YAML syntax error", line_offset_);
        stream_end = true;
        return root;
      }
      switch (ev->type) {
        case FYET_STREAM_START:
          break;
        case FYET_DOCUMENT_START:
          if (const fy_mark* m = fy_event_start_mark(ev.get())) start = *m;
          break;
        case FYET_STREAM_END:
          stream_end = true;
          return root;
        case FYET_DOCUMENT_END:
          return root;
        case FYET_SCALAR: {
          if (!stack.empty() && stack.back().mapping && !stack.back().have_key) {
            // Most keys are plain words that resolve to their own text: no JSON value on the way.
            if (std::optional<std::string_view> k = verbatim_key(ev.get())) {
              Result<json*> r = place_key(std::string(*k), mark_of(ev.get()));
              if (!r) return r.error();
              break;
            }
          }
          json v = resolve_scalar(ev.get());
          std::string_view anchor = token_text(ev->scalar.anchor);
          if (!anchor.empty()) anchors_[std::string(anchor)] = v;
          Result<json*> r = place(std::move(v), mark_of(ev.get()));
          if (!r) return r.error();
          break;
        }
        case FYET_ALIAS: {
          auto it = anchors_.find(std::string(token_text(ev->alias.anchor)));
          if (it == anchors_.end()) return err("unknown alias", mark_of(ev.get()));
          Result<json*> r = place(it->second, mark_of(ev.get()));
          if (!r) return r.error();
          break;
        }
        case FYET_MAPPING_START:
        case FYET_SEQUENCE_START: {
          bool mapping = ev->type == FYET_MAPPING_START;
          if (static_cast<int>(stack.size()) >= limits_.max_depth) {
            return err("nesting deeper than " + std::to_string(limits_.max_depth) + " levels",
                       mark_of(ev.get()));
          }
          Result<json*> r = place(mapping ? json::object() : json::array(), mark_of(ev.get()));
          if (!r) return r.error();
          if (!*r) return err("mapping keys must be scalars", mark_of(ev.get()));
          fy_token* anchor = mapping ? ev->mapping_start.anchor : ev->sequence_start.anchor;
          std::string a(token_text(anchor));
          stack.push_back(Frame{*r, mapping});
          if (!a.empty()) pending_anchors_.emplace_back(stack.size(), a);
          break;
        }
        case FYET_MAPPING_END:
        case FYET_SEQUENCE_END: {
          if (!pending_anchors_.empty() && pending_anchors_.back().first == stack.size()) {
            anchors_[pending_anchors_.back().second] = *stack.back().value;
            pending_anchors_.pop_back();
          }
          stack.pop_back();
          break;
        }
        default:
          break;
      }
    }
  }

 private:
  Error err(std::string msg, std::pair<int, int> mark) const {
    Error e{std::move(msg)};
    e.line = mark.first + line_offset_;
    e.column = mark.second;
    return e;
  }
  const DecodeLimits& limits_;
  int line_offset_;
  std::unordered_map<std::string, json> anchors_;
  std::vector<std::pair<size_t, std::string>> pending_anchors_;
};

// Finds source positions lazily: re-parses one document's bytes only when a finding needs a
// line, so decoding pays nothing for positions.
class LazySourceMap final : public SourceMap {
 public:
  LazySourceMap(TextPtr text, std::string file, size_t begin, size_t end, int line_offset)
      : text_(std::move(text)),
        file_(std::move(file)),
        begin_(begin),
        end_(end),
        line_offset_(line_offset) {}

  const std::string& file() const override { return file_; }

  std::pair<int, int> position(std::string_view pointer) const override {
    std::vector<std::string> want = pointer_tokens(pointer);
    std::string_view slice(text_->data() + begin_, end_ - begin_);
    Parser parser(slice);
    if (!parser.parser) return {line_offset_ + 1, 1};
    fy_parser* p = parser.parser.get();
    struct Frame {
      bool mapping;
      size_t index = 0;
      bool have_key = false;
      std::string key = {};
      std::pair<int, int> key_mark = {};
    };
    std::vector<Frame> stack;
    std::vector<std::string> path;
    std::pair<int, int> best{1, 1};
    size_t best_depth = 0;
    bool root_seen = false;
    // Called when a value node starts at `mark` under the current path.
    auto on_value = [&](std::pair<int, int> mark) -> std::optional<std::string> {
      std::optional<std::string> seg;
      std::pair<int, int> at = mark;
      if (!stack.empty()) {
        Frame& f = stack.back();
        if (f.mapping) {
          seg = f.key;
          at = f.key_mark;  // report the field's key, where the user looks
          f.have_key = false;
        } else {
          seg = std::to_string(f.index++);
        }
      }
      size_t depth = path.size() + (seg ? 1 : 0);
      bool prefix = depth <= want.size();
      for (size_t i = 0; prefix && i < path.size(); ++i) prefix = path[i] == want[i];
      if (prefix && seg) prefix = *seg == want[depth - 1];
      if (prefix && (depth > best_depth || !root_seen)) {
        best = at;
        best_depth = depth;
        root_seen = true;
      }
      return seg;
    };
    while (true) {
      EventPtr ev(fy_parser_parse(p), EventDeleter{p});
      if (!ev || ev->type == FYET_DOCUMENT_END || ev->type == FYET_STREAM_END) break;
      if (ev->type == FYET_SCALAR || ev->type == FYET_ALIAS) {
        if (!stack.empty() && stack.back().mapping && !stack.back().have_key) {
          stack.back().key = std::string(token_text(ev->scalar.value));
          stack.back().key_mark = mark_of(ev.get());
          stack.back().have_key = true;
          continue;
        }
        on_value(mark_of(ev.get()));
      } else if (ev->type == FYET_MAPPING_START || ev->type == FYET_SEQUENCE_START) {
        std::optional<std::string> seg = on_value(mark_of(ev.get()));
        if (seg) path.push_back(*seg);
        stack.push_back(Frame{ev->type == FYET_MAPPING_START});
        if (best_depth == want.size() && path.size() >= want.size()) break;
      } else if (ev->type == FYET_MAPPING_END || ev->type == FYET_SEQUENCE_END) {
        stack.pop_back();
        if (!path.empty() && !stack.empty()) path.pop_back();
      }
      if (best_depth == want.size() && root_seen) break;
    }
    return {best.first + line_offset_, best.second};
  }

  std::optional<json> original() const override {
    std::string_view slice(text_->data() + begin_, end_ - begin_);
    Parser parser(slice);
    if (!parser.parser) return std::nullopt;
    DecodeLimits limits;
    Builder builder(limits, line_offset_);
    bool stream_end = false;
    fy_mark start{0, 0, 0};
    Result<json> doc = builder.document(parser.parser.get(), parser, stream_end, start);
    if (!doc) return std::nullopt;
    return std::move(*doc);
  }

 private:
  TextPtr text_;
  std::string file_;
  size_t begin_, end_;
  int line_offset_;
};

int count_lines(std::string_view s, size_t upto) {
  int n = 0;
  for (size_t i = 0; i < upto && i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

// YAML text must be Unicode, and libfyaml does not always stop on bytes that are not: an
// unknown directive line with an invalid byte loops forever. So text is checked first.
Status check_utf8(std::string_view bytes) {
  size_t at = invalid_utf8_at(bytes);
  if (at == std::string_view::npos) return Ok{};
  size_t line_start = bytes.rfind('\n', at == 0 ? 0 : at - 1);
  line_start = line_start == std::string_view::npos || at == 0 ? 0 : line_start + 1;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(bytes[at]));
  return Error{std::string("invalid UTF-8 (byte ") + hex +
                   "): YAML must be UTF-8 text; save the file as UTF-8",
               count_lines(bytes, at) + 1, static_cast<int>(at - line_start) + 1};
}

Status add_object(ManifestFile& out, json doc, std::string_view default_ns,
                  const std::shared_ptr<const SourceMap>& src, int doc_index,
                  const std::string& item_prefix) {
  Result<Object> o = Object::from_json(std::move(doc), default_ns, Origin::kFile);
  if (!o) {
    Error e = o.error();
    std::string ptr = item_prefix + e.pointer;
    auto [line, col] = src->position(ptr);
    e.line = line;
    e.column = col;
    if (!item_prefix.empty()) e.message = field_path(item_prefix) + ": " + e.message;
    return e;
  }
  o->document_index = doc_index;
  if (item_prefix.empty()) {
    o->set_source(src);
  } else {
    // Items of a List report positions relative to the item.
    struct ItemMap final : SourceMap {
      std::shared_ptr<const SourceMap> base;
      std::string prefix;
      std::pair<int, int> position(std::string_view p) const override {
        return base->position(prefix + std::string(p));
      }
      const std::string& file() const override { return base->file(); }
      std::optional<json> original() const override {
        std::optional<json> list = base->original();
        json::json_pointer at(prefix);
        if (!list || !list->contains(at)) return std::nullopt;
        return (*list)[at];
      }
    };
    auto im = std::make_shared<ItemMap>();
    im->base = src;
    im->prefix = item_prefix;
    o->set_source(im);
  }
  out.objects.push_back(std::make_shared<const Object>(std::move(*o)));
  return Ok{};
}

Status check_bytes(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return Error{"file is " + std::to_string(bytes.size() >> 20) + " MiB, over the " +
                     std::to_string(limits.max_bytes >> 20) + " MiB limit for manifests",
                 1, 1};
  }
  if (std::memchr(bytes.data(), '\0', bytes.size()) != nullptr) {
    size_t at =
        static_cast<const char*>(std::memchr(bytes.data(), '\0', bytes.size())) - bytes.data();
    return Error{"binary data (NUL byte): not a YAML or JSON file", count_lines(bytes, at) + 1, 1};
  }
  return check_utf8(bytes);
}

Result<ManifestFile> decode_text(TextPtr text, const std::string& path,
                                 std::string_view default_namespace, const DecodeLimits& limits) {
  ManifestFile out;
  out.path = path;
  out.text = text;
  Parser parser(*text);
  if (!parser.parser) return Error{"cannot create YAML parser", 1, 1};
  Builder builder(limits, 0);
  bool stream_end = false;
  int doc_index = 0;
  while (!stream_end) {
    fy_mark start{0, 0, 0};
    Result<json> doc = builder.document(parser.parser.get(), parser, stream_end, start);
    if (!doc) return doc.error();
    if (stream_end && doc->is_null()) break;
    auto src = std::make_shared<const LazySourceMap>(text, path, start.input_pos, text->size(),
                                                     start.line);
    out.documents++;
    if (!doc->is_null()) {
      if (!doc->is_object()) {
        auto [line, col] = src->position("");
        return Error{"document is not a mapping (a Kubernetes object)", line, col};
      }
      // kind: List (kubectl get -o yaml) holds objects in items.
      const json* kind = doc->contains("kind") ? &(*doc)["kind"] : nullptr;
      if (kind && kind->is_string() && kind->get<std::string>().ends_with("List") &&
          doc->contains("items")) {
        const json& items = (*doc)["items"];
        if (!items.is_array()) {
          auto [line, col] = src->position("/items");
          return Error{"items: expected a list", line, col};
        }
        for (size_t i = 0; i < items.size(); ++i) {
          if (Status s = add_object(out, items[i], default_namespace, src, doc_index,
                                    "/items/" + std::to_string(i));
              !s) {
            return s.error();
          }
        }
      } else if (Status s = add_object(out, std::move(*doc), default_namespace, src, doc_index, "");
                 !s) {
        return s.error();
      }
    }
    doc_index++;
  }
  return out;
}

}  // namespace

TextPtr text_of(std::string bytes) {
  struct Held {
    std::string bytes;
    std::string_view view;
  };
  auto held = std::make_shared<Held>();
  held->bytes = std::move(bytes);
  held->view = held->bytes;
  return TextPtr(held, &held->view);
}

Result<ManifestFile> decode_manifest(std::string_view bytes, const std::string& path,
                                     std::string_view default_namespace,
                                     const DecodeLimits& limits) {
  // Checked before copying: a 100 MB file is refused without a second 100 MB.
  if (Status s = check_bytes(bytes, limits); !s) return s.error();
  return decode_text(text_of(std::string(bytes)), path, default_namespace, limits);
}

Result<ManifestFile> decode_manifest(TextPtr bytes, const std::string& path,
                                     std::string_view default_namespace,
                                     const DecodeLimits& limits) {
  if (Status s = check_bytes(*bytes, limits); !s) return s.error();
  return decode_text(std::move(bytes), path, default_namespace, limits);
}

std::string format_error(const std::string& path, const Error& e) {
  std::string out = path;
  if (e.line > 0) out += ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
  return out + ": " + e.message;
}

Result<json> yaml_to_json(std::string_view text) {
  if (Status s = check_utf8(text); !s) return s.error();
  Parser parser(text);
  if (!parser.parser) return Error{"cannot create YAML parser"};
  DecodeLimits limits;
  Builder builder(limits, 0);
  bool stream_end = false;
  fy_mark start{0, 0, 0};
  Result<json> doc = builder.document(parser.parser.get(), parser, stream_end, start);
  return doc;
}

namespace {

fy_node* node_at(fy_node* root, const std::vector<std::string>& segs, size_t n) {
  fy_node* cur = root;
  for (size_t i = 0; i < n && cur; ++i) {
    if (fy_node_is_mapping(cur)) {
      cur = fy_node_mapping_lookup_by_string(cur, segs[i].data(), segs[i].size());
    } else if (fy_node_is_sequence(cur)) {
      cur = fy_node_sequence_get_by_index(cur, std::atoi(segs[i].c_str()));
    } else {
      return nullptr;
    }
  }
  return cur;
}

// YAML text for a value, in block style so inserted fields read like the rest of the file.
bool plain_safe(const std::string& s) {
  static const RE2 kPlain("[A-Za-z/][A-Za-z0-9/._-]*");
  static const RE2 kSpecial("(?i)(true|false|yes|no|on|off|null|y|n)");
  return RE2::FullMatch(s, kPlain) && !RE2::FullMatch(s, kSpecial);
}

std::string scalar_yaml(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return plain_safe(s) ? s : v.dump();
  }
  return v.dump();
}

void block_yaml(const json& v, int indent, std::string& out) {
  std::string pad(indent, ' ');
  if (v.is_object() && !v.empty()) {
    for (auto& [k, x] : v.items()) {
      out += pad + scalar_yaml(json(k)) + ":";
      if ((x.is_object() || x.is_array()) && !x.empty()) {
        out += "\n";
        block_yaml(x, x.is_array() ? indent : indent + 2, out);
      } else {
        out += " " +
               (x.is_object()  ? std::string("{}")
                : x.is_array() ? std::string("[]")
                               : scalar_yaml(x)) +
               "\n";
      }
    }
  } else if (v.is_array() && !v.empty()) {
    for (const json& x : v) {
      if (x.is_object() && !x.empty()) {
        std::string inner;
        block_yaml(x, indent + 2, inner);
        out += pad + "- " + inner.substr(indent + 2);
      } else {
        out += pad + "- " + scalar_yaml(x) + "\n";
      }
    }
  } else {
    out += pad +
           (v.is_object()  ? std::string("{}")
            : v.is_array() ? std::string("[]")
                           : scalar_yaml(v)) +
           "\n";
  }
}

fy_node* build_node(fy_document* fyd, const json& value) {
  std::string text;
  block_yaml(value, 0, text);
  // libfyaml keeps pointers into the source text: hand it a malloc'd copy it will own.
  char* buf = static_cast<char*>(std::malloc(text.size() + 1));
  if (!buf) return nullptr;
  std::memcpy(buf, text.data(), text.size() + 1);
  fy_node* n = fy_node_build_from_malloc_string(fyd, buf, text.size());
  if (!n) std::free(buf);
  return n;
}

Status apply_op(fy_document* fyd, const json& op) {
  std::string kind = op.value("op", "");
  std::string path = op.value("path", "");
  if (kind != "add" && kind != "replace") return Error{"unsupported fix operation " + kind};
  std::vector<std::string> segs = pointer_tokens(path);
  if (segs.empty()) return Error{"fix operation on the document root"};
  fy_node* parent = node_at(fy_document_root(fyd), segs, segs.size() - 1);
  if (!parent) return Error{"fix path " + path + " has no parent in the file"};
  fy_node* vnode = build_node(fyd, op.contains("value") ? op["value"] : json());
  if (!vnode) return Error{"cannot build YAML for fix value"};
  const std::string& last = segs.back();
  if (fy_node_is_mapping(parent)) {
    fy_node_pair* pair = fy_node_mapping_lookup_pair_by_string(parent, last.data(), last.size());
    if (pair) return fy_node_pair_set_value(pair, vnode) == 0 ? Status(Ok{}) : Error{"set failed"};
    fy_node* key = fy_node_create_scalar_copy(fyd, last.data(), last.size());
    return fy_node_mapping_append(parent, key, vnode) == 0 ? Status(Ok{}) : Error{"add failed"};
  }
  if (fy_node_is_sequence(parent) && last == "-") {
    return fy_node_sequence_append(parent, vnode) == 0 ? Status(Ok{}) : Error{"append failed"};
  }
  return Error{"fix path " + path + " does not name a mapping field"};
}

}  // namespace

namespace {

// Splits YAML text at "---" document markers (column 0). Returns the documents' texts, marker
// lines excluded; an empty preamble before a leading marker is dropped.
std::vector<std::string_view> split_documents(std::string_view text) {
  std::vector<std::string_view> out;
  size_t begin = 0, pos = 0;
  bool any_content = false;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    bool marker = line == "---" || line.starts_with("--- ") || line == "---\r";
    if (marker) {
      if (any_content || !out.empty()) out.push_back(text.substr(begin, pos - begin));
      begin = eol + 1;
      any_content = false;
    } else if (!line.empty() && line[0] != '#') {
      any_content = true;
    }
    pos = eol + 1;
  }
  if (begin < text.size()) out.push_back(text.substr(begin));
  return out;
}

std::string leading_comments(std::string_view doc) {
  std::string out;
  size_t pos = 0;
  while (pos < doc.size()) {
    size_t eol = doc.find('\n', pos);
    if (eol == std::string_view::npos) eol = doc.size();
    std::string_view line = doc.substr(pos, eol - pos);
    if (!line.starts_with("#") && !line.empty()) break;
    out += line;
    out += '\n';
    pos = eol + 1;
  }
  return out;
}

}  // namespace

Result<std::string> apply_ops_to_yaml(std::string_view bytes, const std::vector<json>& doc_ops) {
  fy_parse_cfg cfg{};
  cfg.flags = static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 |
                                              FYPCF_PARSE_COMMENTS);
  ParserPtr parser(fy_parser_create(&cfg));
  if (!parser) return Error{"cannot create YAML parser"};
  fy_parser_set_string(parser.get(), bytes.data(), bytes.size());
  std::vector<std::string> emitted;
  std::vector<bool> touched;
  while (true) {
    DocumentPtr doc(fy_parse_load_document(parser.get()));
    if (!doc) break;
    size_t index = emitted.size();
    bool has_ops = index < doc_ops.size() && doc_ops[index].is_array() && !doc_ops[index].empty();
    if (has_ops) {
      for (const json& op : doc_ops[index]) {
        if (Status s = apply_op(doc.get(), op); !s) return s.error();
      }
    }
    char* text = fy_emit_document_to_string(
        doc.get(), static_cast<fy_emitter_cfg_flags>(FYECF_MODE_ORIGINAL | FYECF_WIDTH_INF |
                                                     FYECF_OUTPUT_COMMENTS));
    if (!text) return Error{"cannot emit YAML"};
    std::string_view t(text);
    // The emitter writes an explicit document start marker; the caller adds separators.
    if (t.starts_with("---\n")) t.remove_prefix(4);
    if (t.starts_with("--- ")) t.remove_prefix(4);
    emitted.emplace_back(t);
    std::free(text);
    touched.push_back(has_ops);
  }
  if (fy_parser_get_stream_error(parser.get())) return Error{"YAML syntax error"};
  // Documents without fixes are kept byte for byte; fixed ones keep their leading comments,
  // which the emitter drops.
  std::vector<std::string_view> original = split_documents(bytes);
  bool aligned = original.size() == emitted.size();
  std::string out;
  for (size_t i = 0; i < emitted.size(); ++i) {
    if (i > 0) out += "---\n";
    if (aligned && !touched[i]) {
      out += original[i];
    } else {
      if (aligned) {
        std::string lead = leading_comments(original[i]);
        if (emitted[i].rfind(lead, 0) != 0) out += lead;
      }
      out += emitted[i];
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

}  // namespace latticeguard
