// libFuzzer target for the manifest decoder: any bytes must decode or fail with a positioned
// error; decoded objects must answer position lookups and survive the schema defaults.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/core/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  latticeguard::DecodeLimits limits;
  limits.max_bytes = 1 << 20;
  auto f = latticeguard::decode_manifest(bytes, "fuzz.yaml", "default", limits);
  if (f) {
    for (const auto& o : f->objects) {
      (void)o->source()->position("/spec/rules/0/backendRefs/0/port");
      (void)o->source()->position("");
      (void)o->display();
    }
  } else {
    (void)latticeguard::format_error("fuzz.yaml", f.error());
  }
  return 0;
}
