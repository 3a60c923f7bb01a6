// Gateway API schema defaults and shape checks, applied to objects read from files so rules see
// what the API server would have stored (lattice-rules.md §7.1). Objects from the API server are
// already defaulted; applying again changes nothing.
//
//   if (Status s = apply_schema_defaults(kHTTPRoute, doc); !s) report(s.error());
//
// Shape errors (a string where a list is expected) come back with the field's pointer.
// Pure function; thread-safe.
#pragma once

#include "rules/core/object.h"
#include "rules/core/result.h"

namespace latticeguard {

Status apply_schema_defaults(Kind kind, json& doc);
// Whether apply_schema_defaults would write anything, or the shape error it would report before
// writing. Callers keep a pristine copy of the document, and apply, only when it would write:
// one read-only walk for the documents that need nothing (all the API server's).
Result<bool> schema_defaults_change(Kind kind, const json& doc);

}  // namespace latticeguard
