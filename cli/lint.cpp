#include "cli/lint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/heap.h"
#include "cli/output.h"
#include "rules/core/engine.h"
#include "rules/core/fix.h"
#include "rules/core/lattice.h"
#include "rules/registry.h"

namespace latticeguard {
namespace fs = std::filesystem;

namespace {

bool manifest_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

Result<std::vector<std::string>> expand(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const std::string& in : inputs) {
    if (in == "-") {
      out.push_back(in);
      continue;
    }
    std::error_code ec;
    fs::file_status st = fs::status(in, ec);
    if (ec || !fs::exists(st)) return Error{in + ": no such file or directory"};
    if (fs::is_directory(st)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_regular_file() && manifest_extension(it->path())) {
          found.push_back(it->path().string());
        }
      }
      if (ec) return Error{in + ": " + ec.message()};
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(in);
    }
  }
  return out;
}

// A read-only, private mapping of a whole file.
struct MappedFile {
  void* addr = MAP_FAILED;
  size_t size = 0;
  std::string_view view;
  ~MappedFile() {
    if (addr != MAP_FAILED) munmap(addr, size);
  }
};

// Large files are mapped instead of read: the page cache serves the bytes, which spares
// allocating, zeroing and copying a second copy of a multi-megabyte manifest set. Not when the
// files are about to be rewritten (--write), so a mapping never outlives its file's contents.
constexpr size_t kMapAtLeast = 1 << 20;

Result<TextPtr> read_all(const std::string& path, bool may_map) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return text_of(ss.str());
  }
  auto failed = [&](const char* what) {
    return Error{path + ": cannot " + what + ": " + std::strerror(errno)};
  };
  // One descriptor serves the size, the mapping or the read.
  struct Fd {
    int v;
    ~Fd() {
      if (v >= 0) ::close(v);
    }
  } fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (fd.v < 0 || ::fstat(fd.v, &st) != 0) return failed("read file");
  size_t size = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0;
  if (may_map && size >= kMapAtLeast) {
    auto m = std::make_shared<MappedFile>();
    m->size = size;
    m->addr = ::mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd.v, 0);
    if (m->addr == MAP_FAILED) return failed("map file");
    ::madvise(m->addr, m->size, MADV_SEQUENTIAL);
    m->view = std::string_view(static_cast<const char*>(m->addr), m->size);
    return TextPtr(m, &m->view);
  }
  // Sized once from the file (one allocation, no growing stream buffer), read to the end even
  // if it grew or is not a regular file.
  std::string text(size, '\0');
  size_t got = 0;
  for (;;) {
    if (got == text.size()) text.resize(std::max<size_t>(2 * text.size(), 64 << 10));
    ssize_t n = ::read(fd.v, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("read file");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text_of(std::move(text));
}

}  // namespace

Result<LoadedFiles> load_inputs(const std::vector<std::string>& inputs,
                                std::string_view default_namespace, bool may_map) {
  Result<std::vector<std::string>> paths = expand(inputs);
  if (!paths) return paths.error();
  LoadedFiles loaded;
  for (const std::string& p : *paths) {
    std::string display = p == "-" ? "<stdin>" : p;
    Result<TextPtr> text = read_all(p, may_map);
    if (!text) return text.error();
    Result<ManifestFile> f = decode_manifest(std::move(*text), display, default_namespace);
    if (!f) return Error{format_error(display, f.error())};
    loaded.files.push_back(std::move(*f));
  }
  return loaded;
}

namespace {

struct LintWork {
  LoadedFiles loaded;
  ObjectIndex index;
  std::vector<Finding> findings;
};

}  // namespace

int run_lint(const LintOptions& opts, std::ostream& out, std::ostream& err) {
  auto config = std::make_shared<Config>(Config::defaults());
  if (!opts.config_file.empty()) {
    Result<Config> c = Config::load(opts.config_file);
    if (!c) {
      err << "latticeguard: " << c.error().message << "\n";
      return 2;
    }
    *config = std::move(*c);
  }
  config->open_world = opts.open_world;
  config->assume_lattice = opts.assume_lattice;
  config->default_namespace = opts.default_namespace;

  if (opts.inputs.empty()) {
    err << "latticeguard: lint needs at least one -f FILE|DIR|-\n";
    return 2;
  }
  // A one-shot run does not free what it built (keep_until_exit).
  KeptUntilExit<LintWork> work(opts.one_shot);
  Result<LoadedFiles> read = load_inputs(opts.inputs, opts.default_namespace, !opts.write);
  if (!read) {
    err << "latticeguard: " << read.error().message << "\n";
    return 2;
  }
  work->loaded = std::move(*read);
  LoadedFiles* loaded = &work->loaded;

  ObjectIndex& index = work->index;
  if (opts.base) index = *opts.base;
  if (!opts.base) index.set_all_complete(!opts.open_world);
  // Positions re-parse a document, so they are looked up only for the error message.
  auto where = [](const Object& o) {
    auto [line, col] = o.source() ? o.source()->position("") : std::pair{0, 0};
    std::string file = o.source() ? o.source()->file() : "";
    return file + ":" + std::to_string(line) + ":" + std::to_string(col);
  };
  int objects = 0;
  for (const ManifestFile& f : loaded->files) {
    for (const ObjectPtr& o : f.objects) {
      // Objects from files have a source; a replaced one without is the cluster's (--cluster),
      // which the files are meant to override.
      if (ObjectPtr before = index.put(o); before && before->source()) {
        err << "latticeguard: " << where(*o) << ": duplicate object " << o->display()
            << " (first defined at " << where(*before) << ")\n";
        return 2;
      }
      ++objects;
    }
  }

  Engine engine(all_rules(), config);
  ClusterView view(index);
  std::vector<Finding>& findings = work->findings;
  // With a base (the live cluster), report only on the files' objects.
  FactMemo memo(view, *config);  // the view is fixed for the whole pass
  for (const ManifestFile& f : loaded->files) {
    for (const ObjectPtr& o : f.objects) {
      std::vector<Finding> fo = engine.check(o, view);
      std::move(fo.begin(), fo.end(), std::back_inserter(findings));
    }
  }
  if (!opts.include_audit) {
    std::erase_if(findings, [](const Finding& f) { return f.action == Action::kAudit; });
  }
  sort_findings(findings);
  // Stable, file-ordered output: by file, then line.
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    const SourceMap* sa = a.object->source();
    const SourceMap* sb = b.object->source();
    std::string fa = sa ? sa->file() : "", fb = sb ? sb->file() : "";
    if (fa != fb) return fa < fb;
    return (sa ? sa->position(a.pointer).first : 0) < (sb ? sb->position(b.pointer).first : 0);
  });
  Summary summary = summarize(findings, objects, static_cast<int>(loaded->files.size()));

  if (opts.fix) {
    for (size_t i = 0; i < loaded->files.size(); ++i) {
      const ManifestFile& f = loaded->files[i];
      std::vector<json> doc_ops(f.documents, json::array());
      bool changed = false;
      for (const ObjectPtr& o : f.objects) {
        std::vector<Finding> mine;
        for (const Finding& fd : findings) {
          if (fd.object == o) mine.push_back(fd);
        }
        std::vector<Fix> fixes = safe_fixes(view, *o, *config, Operation::kCreate, mine);
        if (fixes.empty()) continue;
        json fixed = apply_fixes(o->raw(), fixes);
        json patch = make_patch(o->raw(), fixed);
        if (patch.empty()) continue;
        if (o->document_index >= 0 && o->document_index < f.documents) {
          for (const json& op : patch) doc_ops[o->document_index].push_back(op);
          changed = true;
        }
      }
      std::string_view original = *loaded->files[i].text;
      Result<std::string> text = changed ? apply_ops_to_yaml(original, doc_ops)
                                         : Result<std::string>(std::string(original));
      if (!text) {
        err << "latticeguard: " << f.path << ": cannot apply fixes: " << text.error().message
            << "\n";
        return 2;
      }
      if (opts.write) {
        if (changed && f.path != "<stdin>") {
          std::ofstream o(f.path, std::ios::binary | std::ios::trunc);
          o << *text;
          if (!o) {
            err << "latticeguard: " << f.path << ": cannot write file\n";
            return 2;
          }
          err << "fixed " << f.path << "\n";
        }
      } else {
        if (i > 0) out << "---\n";
        out << *text;
      }
    }
    return summary.deny > 0 ? 1 : 0;
  }

  if (opts.output == "json") {
    out << to_json(findings, summary).dump(2) << "\n";
  } else if (opts.output == "sarif") {
    out << to_sarif(findings, LATTICEGUARD_VERSION).dump(2) << "\n";
  } else {
    print_text(out, findings);
    err << summary.objects << " objects in " << summary.files << " files: " << summary.deny
        << " deny, " << summary.warn << " warn, " << summary.audit << " audit\n";
  }
  return summary.deny > 0 ? 1 : 0;
}

}  // namespace latticeguard
