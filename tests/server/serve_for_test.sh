# Sourced by the Node suite runners. serve_for_test starts `xyserve serve` on a free loopback
# port and waits until it is healthy. Usage: serve_for_test <xyserve> <log file> <serve flags...>
# Sets server_pid and url; exits the calling script with the log on failure (node_suite_setup's
# EXIT trap kills $server_pid).
serve_for_test() {
  local xyserve=$1 log=$2
  shift 2
  "$xyserve" serve --port 0 "$@" >"$log" 2>&1 &
  server_pid=$!
  local port="" code=""
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.1
  done
  [[ -n "$port" ]] || { echo "server did not start"; cat "$log"; exit 1; }
  url="http://127.0.0.1:$port"
  # /health is 503 while the model loads, then 200.
  for _ in $(seq 1 1200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/health" || true)
    [[ "$code" == 200 ]] && break
    sleep 0.1
  done
  [[ "$code" == 200 ]] || { echo "server never became healthy"; cat "$log"; exit 1; }
}

# Prepares a Node suite: exits 77 (skipped) unless node and npm exist, installs the suite's
# pinned packages (package-lock.json) once, makes a scratch folder $work and an EXIT trap that
# kills $server_pid and removes it. Usage: node_suite_setup <suite dir> <packages to look for...>
node_suite_setup() {
  local dir=$1
  shift
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node/npm not installed (scripts/install-deps.sh --test installs them)"
    exit 77
  fi
  local package
  for package in "$@"; do
    if [[ ! -d "$dir/node_modules/$package" ]]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      break
    fi
  done
  work=$(mktemp -d "${TMPDIR:-/tmp}/xyserve-node-suite.XXXXXX")
  server_pid=""
  trap 'if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
}
