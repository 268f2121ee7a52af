#!/usr/bin/env bash
# Runs the router's Node suite: replicas and routers of a tiny generated model on loopback,
# driven by the official OpenAI SDK (the copy pinned in tests/server/openai_sdk).
# Usage: run_router_suite.sh <xyserve binary> [suite file]. Exit 77 (skipped) without node.
set -euo pipefail
xyserve=${1:?xyserve binary}
suite=${2:-router.test.mjs}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../server/serve_for_test.sh"
node_suite_setup "$here/../server/openai_sdk" openai
"$xyserve" make-model --preset tiny --out "$work/model" >/dev/null
status=0
XYSERVE_BIN=$xyserve XYSERVE_MODEL_DIR=$work/model XYSERVE_WORK=$work \
  node --test --test-concurrency=1 "$here/$suite" || status=$?
if [[ $status -ne 0 ]]; then
  for f in "$work"/*.log; do echo "--- $f (tail)"; tail -n 15 "$f"; done
fi
exit $status
