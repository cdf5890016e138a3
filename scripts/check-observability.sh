#!/bin/sh
# Smoke check of a Numax node's observability endpoint: /health, /ready and /metrics.
#
#   scripts/check-observability.sh [BASE_URL]
#
# BASE_URL defaults to $NUMAX_OBSERVABILITY_URL, else http://127.0.0.1:9100 (start the node with
# --observability-listen 127.0.0.1:9100 or [observability] listen). Each request may take
# $CHECK_TIMEOUT_SECS seconds (default 5). Prints one line per check; exits 0 when all pass,
# 1 when one fails, 2 when it cannot run (no curl).
set -u

base="${1:-${NUMAX_OBSERVABILITY_URL:-http://127.0.0.1:9100}}"
base="${base%/}"
timeout_secs="${CHECK_TIMEOUT_SECS:-5}"

if ! command -v curl >/dev/null 2>&1; then
  echo "check-observability: curl is not installed" >&2
  exit 2
fi

body_file="$(mktemp)"
error_file="$(mktemp)"
trap 'rm -f "$body_file" "$error_file"' EXIT INT TERM

failures=0
fail() {
  echo "FAIL $1" >&2
  failures=$((failures + 1))
}

# get PATH: sets $status (HTTP code, or "none" when nothing answered) and leaves the body in $body_file.
get() {
  if status="$(curl -sS --max-time "$timeout_secs" -o "$body_file" -w '%{http_code}' "$base$1" 2>"$error_file")"; then
    return 0
  fi
  status="none"
  return 1
}

if ! get /health; then
  echo "FAIL cannot reach $base/health: $(head -n 1 "$error_file")" >&2
  echo "check-observability: is the node running with --observability-listen (or [observability] listen) at $base?" >&2
  exit 1
fi
if [ "$status" = "200" ] && grep -q '"status":"ok"' "$body_file"; then
  echo "ok   /health"
else
  fail "/health answered $status: $(head -c 300 "$body_file")"
fi

if ! get /ready; then
  fail "/ready did not answer: $(head -n 1 "$error_file")"
elif [ "$status" = "200" ]; then
  echo "ok   /ready"
else
  fail "/ready answered $status (not ready): $(head -c 300 "$body_file")"
fi

if ! get /metrics; then
  fail "/metrics did not answer: $(head -n 1 "$error_file")"
elif [ "$status" != "200" ]; then
  fail "/metrics answered $status"
elif ! grep -q '^numax_build_info{' "$body_file"; then
  fail "/metrics has no numax_build_info sample: is this a Numax node?"
else
  echo "ok   /metrics ($(grep -c '^# TYPE numax_' "$body_file") numax_ metrics)"
fi

if [ "$failures" -gt 0 ]; then
  echo "check-observability: $failures check(s) failed at $base" >&2
  exit 1
fi
echo "check-observability: all checks passed at $base"
