#!/usr/bin/env bash
# Login results' tail latency at half rate, two mamorid binaries side by
# side under the same paced load, with where the request thread's waits
# come from (bench/sched_causes.py over `perf sched record`).
#
#   bench/tail_latency.sh BIN_A BIN_B
#
# Both run with bench/http.sh's config (1 worker pinned to core 0, the test
# GeoIP databases), wrk on the last core. The rate is half of BIN_A's
# maximum for the mix, measured first; the rounds then alternate A, B, A, B
# (ROUNDS of each), each on a fresh data dir, so load that changes during
# the run hits both alike. A round: 2 s warm-up, DURATION s measured, with
# perf recording the scheduler events of the server's threads meanwhile.
#
# Environment: DURATION [20], ROUNDS [2], MODE [mix] (or steady: ACCOUNTS
# accounts seeded first, as bench/http.sh does), PERF [1] (0: no perf).
# Every server started here is stopped by PID on exit.
set -euo pipefail
trap 'echo "bench/tail_latency.sh: line $LINENO: exit $?" >&2' ERR
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { sed -n 2,17p "$0"; exit 2; }
BIN_A=$(realpath "$1")
BIN_B=$(realpath "$2")
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-2}
MODE=${MODE:-mix}
PERF=${PERF:-1}
ACCOUNTS=${ACCOUNTS:-20000}
APP_TOKEN=bench-app-token
LAST=$(($(nproc) - 1))
WORK=$(mktemp -d /tmp/mamori-tail-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {  # BIN -> SERVER_PID, URL
  local dir="$WORK/m-$RANDOM" port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/mamori.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
threads = 1

[[tokens]]
token = "$APP_TOKEN"
role = "app"

[geoip]
city = "$PWD/tests/data/geoip/GeoLite2-City-Test.mmdb"
asn = "$PWD/tests/data/geoip/GeoLite2-ASN-Test.mmdb"
anonymous = "$PWD/tests/data/geoip/GeoIP2-Anonymous-IP-Test.mmdb"
EOF
  taskset -c 0 "$1" --config "$dir/mamori.toml" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  URL="http://127.0.0.1:$port"
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$URL/healthz" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/log" >&2; return 1; }
    sleep 0.05
  done
  echo "mamorid not ready" >&2
  return 1
}
stop() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  local rest=()
  for p in "${PIDS[@]}"; do [ "$p" = "$SERVER_PID" ] || rest+=("$p"); done
  PIDS=("${rest[@]}")
}

# load URL MODE SECONDS CONNECTIONS -> "requests duration_us rps p50_us p99_us non2xx errors"
load() {
  MAMORI_BENCH_ACCOUNTS=$ACCOUNTS taskset -c "$LAST" wrk -t1 -c"$4" -d"$3"s -s bench/wrk/login.lua \
    "$1" -- /v1/login/result "$APP_TOKEN" "$2" | awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7, $8}'
}
# Login results the server at URL has answered.
results() {
  curl -s "$URL/metrics" | awk '/^mamori_http_requests_total\{route="login_result"/ {n += $2} END {print n + 0}'
}
# The steady mix's accounts, one successful login each (as bench/http.sh):
# wrk's thread stops after its share, but wrk only at its duration, so it
# is interrupted once the server has answered them all.
seed() {
  [ "$MODE" = steady ] || return 0
  local before wrk_pid
  before=$(results)
  MAMORI_BENCH_ACCOUNTS=$ACCOUNTS MAMORI_BENCH_LIMIT=$ACCOUNTS taskset -c "$LAST" wrk -t1 -c16 \
    -d600s -s bench/wrk/login.lua "$URL" -- /v1/login/result "$APP_TOKEN" seed >/dev/null &
  wrk_pid=$!
  PIDS+=("$wrk_pid")
  while [ $(($(results) - before)) -lt "$ACCOUNTS" ] && kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 0.5
  done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
}

echo "load before: $(uptime)"
start "$BIN_A"
seed
load "$URL" "$MODE" 2 64 >/dev/null
read -r _ _ max_rps p50 _ <<<"$(load "$URL" "$MODE" 10 64)"
stop
half=${max_rps%.*}
half=$((half / 2))
conns=$(( (half * (2000 + p50) + 999999) / 1000000 ))
echo "A's maximum: $max_rps results/s; paced at about $half/s: $conns connections, 2 ms mean pause"

ROWS=()
for round in $(seq 1 "$ROUNDS"); do
  for which in A B; do
    if [ "$which" = A ]; then bin=$BIN_A; else bin=$BIN_B; fi
    start "$bin"
    seed
    MAMORI_BENCH_DELAY_MS=2 load "$URL" "$MODE" 2 "$conns" >/dev/null
    if [ "$PERF" = 1 ]; then
      perf sched record -a -q -o "$WORK/sched.data" -- sleep "$DURATION" 2>/dev/null &
      perf_pid=$!
      PIDS+=("$perf_pid")
    fi
    r=$(MAMORI_BENCH_DELAY_MS=2 load "$URL" "$MODE" "$DURATION" "$conns")
    read -r _ _ rps p50 p99 non2xx errors <<<"$r"
    echo
    echo "== $which ($bin) round $round: $rps results/s, p50 $p50 us, p99 $p99 us ($non2xx non-2xx, $errors errors); load $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$PERF" = 1 ]; then
      wait "$perf_pid" || true
      PIDS=("${PIDS[@]/$perf_pid/}")
      bench/sched_causes.py "$WORK/sched.data" "$SERVER_PID" || true
    fi
    ROWS+=("$(printf '%-3s %5s %9s %8s %8s' "$which" "$round" "$rps" "$p50" "$p99")")
    stop
  done
done
echo
echo "load after: $(uptime)"
printf '%-3s %5s %9s %8s %8s\n' bin round "req/s" "p50 us" "p99 us"
printf '%s\n' "${ROWS[@]}"
