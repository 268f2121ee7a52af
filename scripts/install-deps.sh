#!/usr/bin/env bash
# Installs the Debian packages xyserve needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [--bench]   (--bench adds the benchmark baselines oneDNN and OpenBLAS)
set -euo pipefail
pkgs=(cmake ninja-build g++ clang libclang-rt-14-dev nlohmann-json3-dev libboost-dev libspdlog-dev
      libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev)
if [[ "${1:-}" == "--bench" ]]; then pkgs+=(libdnnl-dev libopenblas-dev); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
