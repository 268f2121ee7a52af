#!/usr/bin/env bash
# Installs the Debian packages xyserve needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [--test | --bench]
#   (none)   what `make serve` needs to build the server (ccache too, to make rebuilds fast)
#   --test   adds what the test suites need: node/npm and headless chromium, clang's libFuzzer
#   --bench  adds the benchmark baselines oneDNN and OpenBLAS
set -euo pipefail
pkgs=(cmake ninja-build g++ nlohmann-json3-dev libboost-dev libspdlog-dev libucx-dev
      libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev ccache)
mode=${1:-}
if [[ "$mode" == "--bench" ]]; then pkgs+=(libdnnl-dev libopenblas-dev); fi
# The browser test (tests/server/web_ui) drives Debian's chromium through puppeteer-core.
# clang brings libFuzzer for the fuzz targets.
if [[ "$mode" == "--test" ]]; then pkgs+=(chromium clang libclang-rt-14-dev); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js + npm run the OpenAI SDK conformance tests (tests/server); any node >= 18 will do (a
# NodeSource install already ships npm, so only ask apt when a command is missing).
if [[ "$mode" == "--test" ]] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
