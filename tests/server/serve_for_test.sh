# Sourced by the Node suite runners: starts `xyserve serve` on a free loopback port and waits
# until it is healthy. Usage: serve_for_test <xyserve> <log file> <serve flags...>
# Sets server_pid and url; exits the calling script with the log on failure. The caller's EXIT
# trap should kill $server_pid.
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
