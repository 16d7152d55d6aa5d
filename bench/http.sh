#!/usr/bin/env bash
# HTTP load bench: mamorid's login calls against nginx answering a fixed JSON
# body on the same cores (the ceiling), side by side in one run, then p99 at
# half of mamorid's own maximum rate, then the rate and memory once 10 million
# distinct source IPs have been seen.
#
# The calls measured (bench/wrk/login.lua's modes):
#   attempt        login/attempt, first-day mix
#   result         login/result, first-day mix: 90 % accounts never seen, 10 %
#                  failures, IPv4 and IPv6, browser user agents
#   result steady  login/result, steady mix: ACCOUNTS accounts already known
#                  (one successful login each from their own address, browser
#                  and device first, unmeasured), 10 % failures
# mamorid runs with the example config's GeoIP databases (the test databases
# in tests/data/geoip) and an otherwise default config.
#
#   bench/http.sh [BUILD=build]        (also: make bench-http)
#
# Environment (defaults in brackets):
#   DURATION [10]        seconds per measured run (after a 2 s warm-up)
#   CONNECTIONS [64]     keep-alive connections per run
#   THREADS ["1 2"]      server worker counts to measure
#   IPS [10000000]       distinct source IPs and accounts for the "seen" phase (0: skip)
#   HOT_STATE_MB [4096]  mamorid's hot-state budget (state.memory_budget_mb)
#   PACED [1]            0: skip the half-rate latency runs
#   ACCOUNTS [20000]     accounts of the steady mix
#   PHASES ["calls ips"] the phases to run: calls (the side-by-side runs
#                        with nginx, paced ones included), ips (the "seen" phase)
#   PERF_DIR [unset]     ips phase: record `perf record -g` of mamorid during
#                        the cold and the after-preload login/result runs into
#                        this dir (perf-cold.data, perf-after.data, and each
#                        one's top symbols in perf-*.txt); RelWithDebInfo
#                        builds give the symbols
#
# Pinning (the machine may have only 2 cores): the servers run on core 0 for
# one worker and cores 0-1 for two; wrk runs on the last core. With two
# workers on a 2-core machine wrk shares core 1 with a server worker, for
# nginx and mamorid alike, so the ratio stays fair but both absolute figures
# are lower than on a machine with a spare core for the load generator.
# mamorid's store writer thread shares the server's cores.
#
# Every server started here is stopped by PID on exit.
set -euo pipefail
trap 'echo "bench/http.sh: line $LINENO: exit $?" >&2' ERR
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS-"1 2"}
IPS=${IPS:-10000000}
HOT_STATE_MB=${HOT_STATE_MB:-4096}
PACED=${PACED:-1}
ACCOUNTS=${ACCOUNTS:-20000}
PHASES=${PHASES-"calls ips"}
PERF_DIR=${PERF_DIR:-}
APP_TOKEN=bench-app-token
ADMIN_TOKEN=bench-admin-token

scripts/deps.sh bench
[ -x "$BUILD/mamorid" ] || make build BUILD="$BUILD"

NCPU=$(nproc)
LAST=$((NCPU - 1))
WORK=$(mktemp -d /tmp/mamori-http-bench-XXXXXX)
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

wait_ready() {  # URL PID
  for _ in $(seq 1 200); do
    kill -0 "$2" 2>/dev/null || { echo "server $2 exited; see $WORK" >&2; return 1; }
    curl -s -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "server $2 not ready at $1" >&2
  return 1
}

stop() {  # PID
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}
forget() {  # PID: no longer ours to stop
  local rest=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
  PIDS=("${rest[@]}")
}

cores_for() { [ "$1" -ge "$NCPU" ] && echo "0-$LAST" || echo "0-$(($1 - 1))"; }

# Peak RSS in KiB (VmHWM) of a process and its children.
peak_rss_kb() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# CPU time in clock ticks (user + system) of a process and its children.
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start_nginx() {  # THREADS -> sets SERVER_PID, URL
  local n=$1 dir="$WORK/nginx-$1" port
  port=$(free_port)
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
worker_processes $n;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port reuseport;
    location / {
      default_type application/json;
      return 200 '{"action":"allow"}';
    }
  }
}
EOF
  taskset -c "$(cores_for "$n")" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  URL="http://127.0.0.1:$port"
  wait_ready "$URL/" "$SERVER_PID"
}

start_mamorid() {  # THREADS -> sets SERVER_PID, URL
  local n=$1 dir="$WORK/mamorid-$1-$RANDOM" port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/mamori.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
threads = $n

[[tokens]]
token = "$ADMIN_TOKEN"
role = "admin"

[[tokens]]
token = "$APP_TOKEN"
role = "app"

[state]
memory_budget_mb = $HOT_STATE_MB

[geoip]
city = "$PWD/tests/data/geoip/GeoLite2-City-Test.mmdb"
asn = "$PWD/tests/data/geoip/GeoLite2-ASN-Test.mmdb"
anonymous = "$PWD/tests/data/geoip/GeoIP2-Anonymous-IP-Test.mmdb"
EOF
  taskset -c "$(cores_for "$n")" "$BUILD/mamorid" --config "$dir/mamori.toml" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  URL="http://127.0.0.1:$port"
  wait_ready "$URL/healthz" "$SERVER_PID"
}

# load URL PATH MODE SECONDS [CONNECTIONS] -> prints "requests duration_us rps p50_us p99_us non2xx errors"
load() {
  local c=${5:-$CONNECTIONS}
  taskset -c "$LAST" wrk -t1 -c"$c" -d"$4"s -s bench/wrk/login.lua "$1" -- "$2" "$APP_TOKEN" "$3" \
    | awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7, $8}'
}

# measure PID URL PATH MODE SECONDS [CONNECTIONS]: load plus the server's CPU
# time per answered request (microseconds), appended as an eighth field.
measure() {
  local pid=$1 c0 c1 r
  shift
  c0=$(cpu_ticks "$pid")
  r=$(load "$@")
  c1=$(cpu_ticks "$pid")
  echo "$r $(awk -v t=$(( (c1 - c0) * TICK_US )) -v n="${r%% *}" 'BEGIN {printf "%.1f", n ? t / n : 0}')"
}

fmt_ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }

ROWS=()
row() {  # target threads path rps p50_us p99_us ratio rss_kb cpu_us_per_request
  ROWS+=("$(printf '%-8s %7s  %-19s %9s %8s %8s %6s %9s %8s' "$1" "$2" "$3" "$4" "$(fmt_ms "$5")" \
    "$(fmt_ms "$6")" "$7" "$(awk -v k="$8" 'BEGIN {printf "%.1f", k / 1024}')" "$9")")
}

check_errors() {  # label result
  read -r _ _ _ _ _ non2xx errors _ <<<"$2"
  if [ "$non2xx" != 0 ] || [ "$errors" != 0 ]; then
    echo "warning: $1: $non2xx non-2xx answers, $errors socket errors" >&2
  fi
}

declare -A MAX_RPS P50
# Each measured call: PATH:MODE:LABEL.
CALLS="/v1/login/attempt:mix:attempt /v1/login/result:mix:result /v1/login/result:steady:result_steady"

# Login results mamorid at URL has answered.
results() {
  curl -s "$1/metrics" | awk '/^mamori_http_requests_total\{route="login_result"/ {n += $2} END {print n + 0}'
}

# drive URL N OUT COMMAND...: runs COMMAND, a wrk whose threads stop after
# their share (MAMORI_BENCH_LIMIT), until mamorid at URL has answered N more
# login results, then tells it to report (SIGINT): a stopped wrk thread does
# not end the run. Its output goes to OUT.
drive() {
  local url=$1 n=$2 out=$3 before wrk_pid
  shift 3
  before=$(results "$url")
  "$@" >"$out" 2>&1 &
  wrk_pid=$!
  PIDS+=("$wrk_pid")
  while [ $(( $(results "$url") - before )) -lt "$n" ]; do
    kill -0 "$wrk_pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  forget "$wrk_pid"
}

# seed URL: the steady mix's accounts, one successful login each, in turn.
seed() {
  MAMORI_BENCH_ACCOUNTS=$ACCOUNTS MAMORI_BENCH_LIMIT=$ACCOUNTS \
    drive "$1" "$ACCOUNTS" "$WORK/seed.out" taskset -c "$LAST" wrk -t1 -c16 -d3600s -s bench/wrk/login.lua "$1" -- \
    /v1/login/result "$APP_TOKEN" seed
}

has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
CALL_THREADS=$THREADS
has_phase calls || CALL_THREADS=""

echo "load before: $(uptime)"
echo "cores: $NCPU; servers on $(cores_for 1) (1 worker) / $(cores_for 2) (2 workers), wrk on core $LAST; $CONNECTIONS connections, ${DURATION}s per run"
for n in $CALL_THREADS; do
  start_nginx "$n"
  NGINX_PID=$SERVER_PID NGINX_URL=$URL
  start_mamorid "$n"
  MAMORID_PID=$SERVER_PID MAMORID_URL=$URL
  seed "$MAMORID_URL"
  for call in $CALLS; do
    IFS=: read -r path mode label <<<"$call"
    export MAMORI_BENCH_ACCOUNTS=$ACCOUNTS
    load "$NGINX_URL" "$path" "$mode" 2 >/dev/null
    ng=$(measure "$NGINX_PID" "$NGINX_URL" "$path" "$mode" "$DURATION")
    load "$MAMORID_URL" "$path" "$mode" 2 >/dev/null
    ma=$(measure "$MAMORID_PID" "$MAMORID_URL" "$path" "$mode" "$DURATION")
    check_errors "nginx $label" "$ng"
    check_errors "mamorid $label" "$ma"
    read -r _ _ ng_rps ng_p50 ng_p99 _ _ ng_cpu <<<"$ng"
    read -r _ _ ma_rps ma_p50 ma_p99 _ _ ma_cpu <<<"$ma"
    MAX_RPS[$n$label]=$ma_rps
    P50[$n$label]=$ma_p50
    row nginx "$n" "$label" "$ng_rps" "$ng_p50" "$ng_p99" "1.00" "$(peak_rss_kb "$NGINX_PID")" "$ng_cpu"
    row mamorid "$n" "$label" "$ma_rps" "$ma_p50" "$ma_p99" \
      "$(awk -v a="$ma_rps" -v b="$ng_rps" 'BEGIN {printf "%.2f", a / b}')" \
      "$(peak_rss_kb "$MAMORID_PID")" "$ma_cpu"
  done
  if [ "$PACED" = 1 ]; then
    # Half of mamorid's maximum rate: each connection pauses 2 ms on average
    # after every answer (drawn at random, see bench/wrk/login.lua), with as
    # many connections as that rate needs (wrk has no fixed rate mode, and
    # wrk2 is not packaged in Debian). nginx gets the same paced load, as
    # the reference for what the machine adds to the latency.
    for call in $CALLS; do
      IFS=: read -r path mode label <<<"$call"
      half=$(( ${MAX_RPS[$n$label]} / 2 ))
      conns=$(( (half * (2000 + ${P50[$n$label]}) + 999999) / 1000000 ))
      [ "$conns" -ge 1 ] || conns=1
      for target in nginx mamorid; do
        if [ "$target" = nginx ]; then pid=$NGINX_PID url=$NGINX_URL; else pid=$MAMORID_PID url=$MAMORID_URL; fi
        pa=$(MAMORI_BENCH_DELAY_MS=2 measure "$pid" "$url" "$path" "$mode" "$DURATION" "$conns")
        check_errors "$target paced $label" "$pa"
        read -r _ _ pa_rps pa_p50 pa_p99 _ _ pa_cpu <<<"$pa"
        row "$target" "$n" "$label @half" "$pa_rps" "$pa_p50" "$pa_p99" "paced" \
          "$(peak_rss_kb "$pid")" "$pa_cpu"
      done
    done
  fi
  stop "$NGINX_PID"
  stop "$MAMORID_PID"
done

if [ ${#ROWS[@]} -gt 0 ]; then
  echo
  echo "load after: $(uptime)"
  printf '%-8s %7s  %-19s %9s %8s %8s %6s %9s %8s\n' target threads call "req/s" "p50 ms" "p99 ms" \
    "ratio" "peak MiB" "CPU us/req"
  printf '%s\n' "${ROWS[@]}"
fi

if [ "$IPS" -gt 0 ] && has_phase ips; then
  echo
  echo "== $IPS distinct source IPs and accounts seen (1 worker, hot-state budget $HOT_STATE_MB MiB) =="
  start_mamorid 1
  # Both rates are measured after the page cache's dirty pages are written
  # out (sync), so the second one does not pay for writing back what the
  # preload wrote: the comparison is of the state's size, not of a disk
  # backlog. How much was dirty, and how long sync took, are printed.
  quiesce() {  # -> "MiB_dirty seconds"
    local dirty t0
    dirty=$(awk '/^(Dirty|Writeback):/ {kb += $2} END {printf "%.0f", kb / 1024}' /proc/meminfo)
    t0=$(date +%s.%N)
    sync
    echo "$dirty $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')"
  }
  # What says where a request's time goes once the state is big: the
  # journals' tails, runs and index raises, profile reads the filter
  # spared, the writer's commits, the hot state's size and evictions.
  store_metrics() {  # URL
    curl -s "$1/metrics" | awk '/^mamori_(store_(activity|profiles)_(tail_entries|runs|index_raises_total)|store_profiles_collections_total|store_profile_(reads_skipped_total|filter_layers)|store_commits_total|store_writes_total|hot_state_(entries|bytes|evictions_total)|http_requests_total\{route="login_(result|attempt)")/ {printf "  %-70s %s\n", $1, $2}'
  }
  major_faults() { awk '{print $12}' "/proc/$1/stat"; }
  # perf_load LABEL URL PATH MODE SECONDS: load's fields, then mamorid's CPU
  # time per answered request (us) and its major page faults (reads that
  # waited for the disk), with mamorid recorded
  # meanwhile when PERF_DIR is set: `perf record -g` (its top symbols in
  # perf-LABEL.txt) and `perf sched record` (what held the worker's core
  # while it waited, bench/sched_causes.py, in sched-LABEL.txt).
  perf_load() {
    local label=$1 perf_pids=() p
    shift
    if [ -n "$PERF_DIR" ]; then
      mkdir -p "$PERF_DIR"
      perf record -q -g -o "$PERF_DIR/perf-$label.data" -p "$SERVER_PID" >/dev/null 2>&1 &
      perf_pids+=($!)
      perf sched record -q -a -o "$PERF_DIR/sched-$label.data" >/dev/null 2>&1 &
      perf_pids+=($!)
      PIDS+=("${perf_pids[@]}")
    fi
    local c0 f0 r
    c0=$(cpu_ticks "$SERVER_PID")
    f0=$(major_faults "$SERVER_PID")
    r=$(load "$@")
    echo "$r $(awk -v t=$(( ($(cpu_ticks "$SERVER_PID") - c0) * TICK_US )) -v n="${r%% *}" \
      'BEGIN {printf "%.1f", n ? t / n : 0}') $(( $(major_faults "$SERVER_PID") - f0 ))"
    for p in "${perf_pids[@]}"; do
      kill -INT "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
      forget "$p"
    done
    if [ -n "$PERF_DIR" ]; then
      perf report -i "$PERF_DIR/perf-$label.data" --no-children -g none --percent-limit 0.5 \
        --sort symbol --stdio 2>/dev/null | grep -v '^#' | grep . >"$PERF_DIR/perf-$label.txt" || true
      /usr/bin/python3 bench/sched_causes.py "$PERF_DIR/sched-$label.data" "$SERVER_PID" 1 \
        >"$PERF_DIR/sched-$label.txt" 2>&1 || true
    fi
  }
  q_cold=$(quiesce)
  cold=$(perf_load cold "$URL" /v1/login/result mix "$DURATION")
  read -r _ _ cold_rps cold_p50 cold_p99 _ _ cold_cpu cold_faults <<<"$cold"
  # Attempts (allowed ones write nothing) show the hot state's own cost
  # apart from the store's, whose tables grow with the preload.
  cold_a=$(load "$URL" /v1/login/attempt mix "$DURATION")
  read -r _ _ cold_a_rps _ cold_a_p99 _ _ <<<"$cold_a"
  rss_cold=$(rss_kb "$SERVER_PID")
  t0=$(date +%s)
  # Two wrk threads (one per core when there are two), each request from a
  # new IP naming a new account, every other one failed and the others
  # successful (a new profile each), until mamorid has answered them all.
  MAMORI_BENCH_LIMIT=$((IPS / 2)) MAMORI_BENCH_BASE=$((1 << 30)) MAMORI_BENCH_NEW_ACCOUNTS=1 \
    drive "$URL" $(( IPS / 2 * 2 )) "$WORK/preload.out" wrk -t2 -c"$CONNECTIONS" -d36000s \
    -s bench/wrk/login.lua "$URL" -- /v1/login/result "$APP_TOKEN" unique
  t1=$(date +%s)
  status=$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$URL/v1/status")
  echo "after the preload ($(uptime)):"
  store_metrics "$URL"
  q_warm=$(quiesce)
  # The same mix as the cold runs, on accounts of its own: the cold runs'
  # accounts are no longer new (they have profiles now).
  export MAMORI_BENCH_BASE=$((1 << 29))
  warm=$(perf_load after "$URL" /v1/login/result mix "$DURATION")
  read -r _ _ warm_rps warm_p50 warm_p99 _ _ warm_cpu warm_faults <<<"$warm"
  warm_a=$(load "$URL" /v1/login/attempt mix "$DURATION")
  unset MAMORI_BENCH_BASE
  echo "after the runs ($(uptime)):"
  store_metrics "$URL"
  read -r _ _ warm_a_rps _ warm_a_p99 _ _ <<<"$warm_a"
  rss_warm=$(rss_kb "$SERVER_PID")
  hwm=$(peak_rss_kb "$SERVER_PID")
  stop "$SERVER_PID"
  # The cold rate once more, on a fresh mamorid after the others: the two
  # cold runs bracket the one after the preload, so a change in the
  # machine's other load over the preload's minutes shows as a gap between
  # them rather than as a change of the ratio.
  start_mamorid 1
  quiesce >/dev/null
  cold2=$(perf_load cold2 "$URL" /v1/login/result mix "$DURATION")
  read -r _ _ cold2_rps _ _ _ _ cold2_cpu _ <<<"$cold2"
  stop "$SERVER_PID"
  echo "load at the end: $(uptime)"
  /usr/bin/python3 - "$status" "$IPS" "$rss_cold" "$rss_warm" "$hwm" "$cold_rps" "$warm_rps" \
    "$cold_p99" "$warm_p99" "$((t1 - t0))" $q_cold $q_warm \
    "$cold_a_rps" "$warm_a_rps" "$cold_a_p99" "$warm_a_p99" \
    "$cold_cpu" "$warm_cpu" "$cold_faults" "$warm_faults" "$cold2_rps" "$cold2_cpu" <<'PY'
import json, sys
s = json.loads(sys.argv[1])["hot_state"]
ips, rss_cold, rss_warm, hwm = (int(x) for x in sys.argv[2:6])
cold, warm, cold_p99, warm_p99, secs = (float(x) for x in sys.argv[6:11])
dirty_cold, sync_cold, dirty_warm, sync_warm = (float(x) for x in sys.argv[11:15])
cold_a, warm_a, cold_a_p99, warm_a_p99 = (float(x) for x in sys.argv[15:19])
cold_cpu, warm_cpu, cold_faults, warm_faults = (float(x) for x in sys.argv[19:23])
cold2, cold2_cpu = (float(x) for x in sys.argv[23:25])
print(f"preload               {ips} login results, each from a new IP for a new account, half failed, in {secs:.0f} s ({ips / max(secs, 1):.0f}/s)")
print(f"hot-state entries     {s['entries']}")
print(f"hot-state bytes       {s['bytes']} ({s['bytes'] / 2**20:.0f} MiB; budget {s['budget_bytes'] / 2**20:.0f} MiB)")
print(f"evictions             {s['evictions']}")
print(f"bytes per IP+account  {s['bytes'] / ips:.0f} (hot state's own count)")
print(f"RSS                   cold {rss_cold / 1024:.0f} MiB, after {rss_warm / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB")
print(f"RSS growth per IP     {(rss_warm - rss_cold) * 1024 / ips:.0f} bytes")
print(f"sync before the runs  cold: {dirty_cold:.0f} MiB dirty, {sync_cold:.1f} s; after: {dirty_warm:.0f} MiB dirty, {sync_warm:.1f} s")
print(f"login/result req/s    cold {cold:.0f}, after {warm:.0f} ({warm / cold:.2f}x); p99 cold {cold_p99 / 1000:.2f} ms, after {warm_p99 / 1000:.2f} ms")
print(f"  cold again          {cold2:.0f} on a fresh mamorid after the others; after / mean of the colds: {2 * warm / (cold + cold2):.2f}x")
print(f"login/result CPU      cold {cold_cpu:.1f} us/request, after {warm_cpu:.1f} ({warm_cpu / max(cold_cpu, 0.1):.2f}x), cold again {cold2_cpu:.1f} (every mamorid thread); major faults cold {cold_faults:.0f}, after {warm_faults:.0f}")
print(f"login/attempt req/s   cold {cold_a:.0f}, after {warm_a:.0f} ({warm_a / cold_a:.2f}x); p99 cold {cold_a_p99 / 1000:.2f} ms, after {warm_a_p99 / 1000:.2f} ms")
PY
fi
