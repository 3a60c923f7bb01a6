#!/bin/sh
# Stand-in for `aws eks get-token`: prints an ExecCredential whose token is token-<n>, where n
# counts the runs (one line per run appended to $LG_EXEC_COUNTER), expiring $LG_EXEC_TTL seconds
# from now.
[ -n "$KUBERNETES_EXEC_INFO" ] || { echo "KUBERNETES_EXEC_INFO not set" >&2; exit 3; }
echo run >> "$LG_EXEC_COUNTER"
n=$(wc -l < "$LG_EXEC_COUNTER" | tr -d ' ')
exp=$(date -u -d "+${LG_EXEC_TTL:-3} seconds" +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"token-%s","expirationTimestamp":"%s"}}\n' "$n" "$exp"
