#!/usr/bin/env bash
# Runs one Node suite (conformance | robustness) against a live `xyserve serve` on 127.0.0.1 with
# a tiny generated model, then checks that SIGTERM with a request in flight exits 0.
# Usage: run_node_suite.sh <xyserve binary> <suite>. Exit 77 (skipped) when node is absent.
set -euo pipefail
xyserve=${1:?xyserve binary}
suite=${2:?suite name}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/serve_for_test.sh"
sdk="$here/openai_sdk"

# The official SDK, pinned by package-lock.json.
node_suite_setup "$sdk" openai ajv

"$xyserve" make-model --preset tiny --out "$work/model" >/dev/null

common=(--model "$work/model" --served-model-name tiny --max-request-bytes 1048576
        --max-num-batched-tokens 256 --kv-cache-memory 128MiB --threads 1 --shutdown-timeout 3)
case "$suite" in
  conformance) extra=(--api-key test-key --max-queued-requests 6 --max-num-seqs 4) ;;
  robustness)  extra=(--api-key test-key --max-queued-requests 4096 --max-num-seqs 64 --io-threads 2) ;;
  structured_output) extra=(--api-key test-key --max-num-seqs 16) ;;
  *) echo "unknown suite $suite" >&2; exit 2 ;;
esac
serve_for_test "$xyserve" "$work/server.log" "${common[@]}" "${extra[@]}"

status=0
XYSERVE_URL=$url XYSERVE_API_KEY=test-key XYSERVE_MODEL=tiny \
  node --test --test-concurrency=1 "$sdk/$suite.test.mjs" || status=$?

# Graceful shutdown: a request in flight when SIGTERM arrives, then exit code 0.
curl -s -N -o "$work/inflight.txt" -H 'authorization: Bearer test-key' -H 'content-type: application/json' \
  -d '{"model":"tiny","prompt":"hi","max_tokens":4000,"ignore_eos":true,"stream":true}' \
  "$url/v1/completions" &
curl_pid=$!
# Wait until the server has it (a loaded machine may take a while to connect).
for _ in $(seq 1 200); do
  curl -s "$url/metrics" | grep -q '^xyserve:http_requests_in_flight{[^}]*} [1-9]' && break
  sleep 0.02
done
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
wait "$curl_pid" || true
if [[ $rc -ne 0 ]]; then echo "server exited with $rc after SIGTERM"; status=1; fi
if ! grep -q 'data: \[DONE\]' "$work/inflight.txt"; then
  echo "the in-flight stream did not end with [DONE] on shutdown"; status=1
fi
if [[ $status -ne 0 ]]; then echo "--- server log (tail)"; tail -n 40 "$work/server.log"; fi
exit $status
