#!/usr/bin/env bash
# Runs the browser test of the web page (tests/server/web_ui) against a live `xyserve serve` of
# the shipped model with an API key, in Debian's headless chromium driven by puppeteer-core.
# Usage: run_web_ui_suite.sh <xyserve binary> <screenshot dir>
# Exit 77 (skipped) when node/npm or chromium is absent (scripts/install-deps.sh --test).
set -euo pipefail
xyserve=${1:?xyserve binary}
shots=${2:?screenshot dir}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/serve_for_test.sh"
suite="$here/web_ui"

chromium_bin=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$chromium_bin" ]]; then
  echo "SKIP: chromium not installed (scripts/install-deps.sh --test installs it)"
  exit 77
fi
# puppeteer-core, pinned by package-lock.json (it downloads no browser: Debian's is used).
node_suite_setup "$suite" puppeteer-core
mkdir -p "$shots"

serve_for_test "$xyserve" "$work/server.log" --model "$repo/models/xy-target" \
  --served-model-name xy-target --api-key web-key --threads 1 --kv-cache-memory 256MiB \
  --max-num-batched-tokens 256 --shutdown-timeout 3

# A sanitizer build (AddressSanitizer links libasan) is ~50x slower: the test scales its load.
slow=0
if ldd "$xyserve" 2>/dev/null | grep -q libasan; then slow=1; fi

status=0
XY_SLOW_BUILD=$slow XYSERVE_URL=$url XYSERVE_API_KEY=web-key XYSERVE_BIN=$xyserve XYSERVE_MODEL_DIR="$repo/models/xy-target" \
  CHROMIUM=$chromium_bin XY_SCREENSHOT_DIR=$shots \
  node --test --test-concurrency=1 "$suite/markdown.test.mjs" "$suite/web_ui.test.mjs" || status=$?
if [[ $status -ne 0 ]]; then echo "--- server log (tail)"; tail -n 40 "$work/server.log"; fi
exit $status
