// Feeds arbitrary bytes to the AdmissionReview decoder and, when they decode, to the encoder: no
// input may crash, hang, overflow the stack or make either throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "webhook/admission.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace latticeguard::webhook;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = parse_review(body);
  if (!req) {
    (void)render_error_body(400, req.error().message);
    return 0;
  }
  (void)render_review(*req, allowed());
  (void)render_review(*req, denied(req->name + " " + req->kind, {req->ns}));
  (void)render_review(*req, patched(req->object.is_null() ? nlohmann::json::array()
                                                          : nlohmann::json::array({req->object})));
  return 0;
}
