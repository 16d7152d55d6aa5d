#!/usr/bin/env bash
# Many nodes, against a real Redis Cluster (six redis-server from
# scripts/redis_cluster.py) and a real PostgreSQL 15 (scripts/postgresql.py,
# fsync as PG_FSYNC says):
#   1. side by side: one node on the embedded backend (memory + SQLite), one
#      sharing hot state over Redis (SQLite store) and one on both distributed
#      backends (Redis + PostgreSQL), loaded at once (so all see the same
#      machine): login results/s at full load, then p50/p99 at one paced load;
#   2. login results/s per node and in total for one, two and three nodes on
#      both distributed backends, with Redis commands (INFO commandstats of
#      the primaries) and round trips (the nodes' mamori_redis_round_trips_total)
#      per decision, and PostgreSQL round trips (commits: pipelined batches;
#      reads) per result (the nodes' mamori_pg_round_trips_total);
#   3. a new node replaying the three-node run's streams: start to ready;
#   4. bench/redis_round_trip: one round trip per decision against the
#      batched streams.
#
#   bench/redis_cluster.sh [BUILD=build]
#
# BASELINE=path/to/an/older/mamorid adds a fourth node to the side-by-side
# run: that binary on both distributed backends, so that a change to the
# PostgreSQL path is measured against the code before it in the same run.
# SIDE_ONLY=1 runs the side-by-side part only.
#
# Load: bench/wrk/login.lua's first-day mix on /v1/login/result (90 % new
# accounts, 10 % failures: every answer publishes one observation), one wrk
# (one thread, CONNECTIONS connections) per node, all at once. Every process
# shares the machine's cores (no pinning): on a 2-core machine N nodes, N wrk
# and six redis-server compete for the same two cores, so the total cannot
# grow with N here; what the figures show is what sharing costs a node.
#
# Environment: DURATION [8] seconds a run, CONNECTIONS [16] per node,
# DELAY_MS [20] the paced runs' pause per connection after each answer,
# PG_FSYNC [on] PostgreSQL's fsync: on flushes every commit to disk (survives
# a power cut); off keeps the embedded store's promise (survives kill -9 of
# either process, not a power cut) and measures the rest; THREADS [1] each
# node's worker threads (the profile of an account not cached is read in a
# batch off the workers; other reads of the PostgreSQL store, the admin
# routes', still hold their worker for the round trip).
# Every process started here is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-16}
DELAY_MS=${DELAY_MS:-20}
PG_FSYNC=${PG_FSYNC:-on}
THREADS=${THREADS:-1}
BASELINE=${BASELINE:-}
SIDE_ONLY=${SIDE_ONLY:-0}
TOKEN=bench-app-token
[ -x "$BUILD/mamorid" ] || { echo "build $BUILD first (cmake --build $BUILD --target mamorid redis_round_trip)" >&2; exit 1; }
command -v wrk >/dev/null || scripts/deps.sh bench

WORK=$(mktemp -d /tmp/mamori-redis-bench-XXXXXX)
# Its own directory right under /tmp: the postgres user must reach it.
PG_DIR=$(mktemp -d /tmp/mamori-pg-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -f "$WORK/redis/cluster.json" ] && /usr/bin/python3 scripts/redis_cluster.py stop "$WORK/redis"
  [ "$PG_STARTED" = 1 ] && /usr/bin/python3 scripts/postgresql.py stop "$PG_DIR"
  rm -rf "$PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
PG_STARTED=0

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

NODES=$(/usr/bin/python3 scripts/redis_cluster.py start "$WORK/redis")
PG_STARTED=1
PG_URL=$(/usr/bin/python3 scripts/postgresql.py start "$PG_DIR" $([ "$PG_FSYNC" = on ] && echo --fsync))
SEEDS=$(echo "$NODES" | head -3 | sed 's/.*/"&"/' | paste -sd, -)
PRIMARIES=$(redis-cli -p "$(echo "$NODES" | head -1 | cut -d: -f2)" cluster nodes |
  awk '$3 ~ /master/ {split($2, a, "[:@]"); print a[2]}')

URLS=()
start_node() {  # NAME STATE_BACKEND [KEY_PREFIX] [STORE_BACKEND] [MAMORID] -> appends to URLS
  local dir="$WORK/$1" port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/mamori.toml" <<EOT
[server]
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
threads = $THREADS
[[tokens]]
token = "$TOKEN"
role = "app"
[state]
backend = "$2"
[redis]
nodes = [$SEEDS]
key_prefix = "${3:-bench-$1}"
[store]
backend = "${4:-sqlite}"
[postgresql]
url = "$PG_URL"
EOT
  "${5:-$BUILD/mamorid}" --config "$dir/mamori.toml" >"$dir/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
  URLS+=("http://127.0.0.1:$port")
}
stop_nodes() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=(); URLS=()
}

# run SECONDS DELAY_MS: one wrk per node in URLS at once; prints "rps p50_us p99_us" per node.
run() {
  local i=0 outs=()
  for u in "${URLS[@]}"; do
    MAMORI_BENCH_DELAY_MS=$2 MAMORI_BENCH_BASE=$((RANDOM * 65536 + i * 4194304)) \
      wrk -t1 -c"$CONNECTIONS" -d"$1"s -s bench/wrk/login.lua "$u" -- /v1/login/result "$TOKEN" mix \
      >"$WORK/wrk.$i" 2>&1 &
    outs+=($!)
    i=$((i + 1))
  done
  for p in "${outs[@]}"; do wait "$p"; done
  for j in $(seq 0 $((i - 1))); do
    grep '^RESULT' "$WORK/wrk.$j" | awk '{printf "%d %d %d\n", $4, $5, $6}'
  done
}
xcalls() {  # XADD + XREAD calls on the primaries so far
  local total=0 p
  for p in $PRIMARIES; do
    total=$((total + $(redis-cli -p "$p" info commandstats | tr -d '\r' |
      awk -F'[=,:]' '/^cmdstat_(xadd|xread):/ {s += $3} END {print s + 0}')))
  done
  echo "$total"
}
metric() {  # URL NAME
  curl -s "$1/metrics" | awk -v n="$2" '$1 == n {print $2}'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; ${DURATION}s runs, $CONNECTIONS connections a node; $THREADS worker thread(s) a node; PostgreSQL fsync $PG_FSYNC"
echo
echo "== side by side: embedded, redis and redis + postgresql nodes under load at once =="
start_node side-embedded memory
start_node side-redis redis
start_node side-both redis "" postgresql
[ -n "$BASELINE" ] && start_node side-both-baseline redis "" postgresql "$BASELINE"
read -r -d '' per <<<"$(run "$DURATION" 0)" || true
e=$(echo "$per" | sed -n 1p | cut -d' ' -f1); r=$(echo "$per" | sed -n 2p | cut -d' ' -f1)
b=$(echo "$per" | sed -n 3p | cut -d' ' -f1)
echo "full load: embedded $e/s, redis $r/s ($(awk -v a="$r" -v b="$e" 'BEGIN {printf "%.3f", a / b}') x)," \
     "redis + postgresql $b/s ($(awk -v a="$b" -v b="$e" 'BEGIN {printf "%.3f", a / b}') x)"
if [ -n "$BASELINE" ]; then
  o=$(echo "$per" | sed -n 4p | cut -d' ' -f1)
  echo "   baseline $BASELINE on redis + postgresql: $o/s ($(awk -v a="$o" -v b="$e" 'BEGIN {printf "%.3f", a / b}') x embedded)"
  for u in "${URLS[@]:2}"; do
    echo "   $u: profile batches $(metric "$u" 'mamori_profile_batches_total{result="ok"}'), accounts read in them $(metric "$u" mamori_profile_batch_accounts_total), PostgreSQL reads $(metric "$u" 'mamori_pg_round_trips_total{op="read"}')"
  done
fi
read -r -d '' per <<<"$(run "$DURATION" "$DELAY_MS")" || true
read -r e_rps e50 e99 <<<"$(echo "$per" | sed -n 1p)"
read -r r_rps r50 r99 <<<"$(echo "$per" | sed -n 2p)"
read -r b_rps b50 b99 <<<"$(echo "$per" | sed -n 3p)"
echo "paced (${DELAY_MS} ms pause a connection): embedded $e_rps/s p50 $e50 us p99 $e99 us;" \
     "redis $r_rps/s p50 $r50 us p99 $r99 us (added: p50 $((r50 - e50)) us, p99 $((r99 - e99)) us);" \
     "redis + postgresql $b_rps/s p50 $b50 us p99 $b99 us (added: p50 $((b50 - e50)) us, p99 $((b99 - e99)) us)"
if [ -n "$BASELINE" ]; then
  read -r o_rps o50 o99 <<<"$(echo "$per" | sed -n 4p)"
  echo "   baseline on redis + postgresql: $o_rps/s p50 $o50 us p99 $o99 us (added: p50 $((o50 - e50)) us, p99 $((o99 - e99)) us)"
fi
stop_nodes
[ "$SIDE_ONLY" = 1 ] && exit 0
echo
echo "== full load: login results/s (first-day mix), 1-3 nodes on redis + postgresql =="
sum_metric() {  # NAME: summed over the nodes in URLS
  local t=0 u v
  for u in "${URLS[@]}"; do v=$(metric "$u" "$1"); t=$((t + ${v:-0})); done
  echo "$t"
}
for n in 1 2 3; do
  for k in $(seq 1 "$n"); do start_node "r$n-$k" redis "bench-r$n" postgresql; done
  before=$(xcalls)
  rts_before=$(sum_metric mamori_redis_round_trips_total)
  commits_before=$(sum_metric 'mamori_pg_round_trips_total{op="commit"}')
  reads_before=$(sum_metric 'mamori_pg_round_trips_total{op="read"}')
  per=$(run "$DURATION" 0)
  after=$(xcalls)
  rts_after=$(sum_metric mamori_redis_round_trips_total)
  commits_after=$(sum_metric 'mamori_pg_round_trips_total{op="commit"}')
  reads_after=$(sum_metric 'mamori_pg_round_trips_total{op="read"}')
  total=$(echo "$per" | awk '{s += $1} END {print s}')
  echo "redis + postgresql, $n node(s): per node $(echo "$per" | awk '{printf "%s/s ", $1}')| total $total/s"
  awk -v c=$((after - before)) -v r=$((rts_after - rts_before)) -v d="$total" -v s="$DURATION" \
    'BEGIN {printf "   Redis commands per decision %.4f (%.0f/s), round trips per decision %.4f (%.0f/s)\n", c / (d * s), c / s, r / (d * s), r / s}'
  awk -v c=$((commits_after - commits_before)) -v r=$((reads_after - reads_before)) -v d="$total" -v s="$DURATION" \
    'BEGIN {printf "   PostgreSQL commits (one round trip each) per result %.4f (%.0f/s), reads per result %.4f (%.0f/s)\n", c / (d * s), c / s, r / (d * s), r / s}'
  stop_nodes
done
echo
echo "== restart: a new node replays the three-node run's streams =="
t0=$(date +%s%N)
start_node r3-replay redis bench-r3
t1=$(date +%s%N)
replayed=$(grep -o 'replayed from the cluster: [0-9]*' "$WORK/r3-replay/log" | grep -o '[0-9]*$' || echo 0)
echo "start to ready: $(( (t1 - t0) / 1000000 )) ms, $replayed observations replayed"
stop_nodes
echo
echo "== one round trip per decision against batched observations =="
if [ -x "$BUILD/bench/redis_round_trip" ]; then
  "$BUILD/bench/redis_round_trip" "$(echo "$NODES" | head -1)" 20000
else
  echo "(build the redis_round_trip target for this part)"
fi
