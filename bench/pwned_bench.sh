#!/usr/bin/env bash
# Breached-password store at scale: generates N random hashes (default 100
# million, ~4.4 GB of text), imports them with `mamori pwned import` under
# /usr/bin/time -v (throughput, peak memory), then measures lookups.
# Not part of `make test`. Needs about 12 GB free in WORK for 100 million.
#   bench/pwned_bench.sh [BUILD] ; env N=..., WORK=..., MEMORY_MB=...
set -euo pipefail
BUILD=${1:-build}
N=${N:-100000000}
WORK=${WORK:-$BUILD/pwned-bench}
MEMORY_MB=${MEMORY_MB:-256}
mkdir -p "$WORK"
df -h "$WORK"
need_kb=$(( N * 120 / 1000 ))  # text 45 B + runs 24 B + store 22 B per line, with margin
avail_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
if [ "$avail_kb" -lt "$need_kb" ]; then
  echo "pwned_bench: need about $((need_kb / 1048576)) GB free in $WORK, have $((avail_kb / 1048576)) GB; set N lower" >&2
  exit 1
fi
echo "== generating $N lines"
time "$BUILD/bench/pwned_bench" --generate "$WORK/input.txt" "$N"
ls -l "$WORK/input.txt"
echo "== importing (unsorted input, --memory $MEMORY_MB)"
/usr/bin/time -v "$BUILD/mamori" pwned import "$WORK/input.txt" --output "$WORK/pwned.bin" \
  --memory "$MEMORY_MB" 2>&1 | grep -E "mamori pwned: done|Maximum resident|Elapsed|wrote"
ls -l "$WORK/pwned.bin"
echo "== lookups"
"$BUILD/bench/pwned_bench" --store "$WORK/pwned.bin" --n "$N" --benchmark_min_time=2
[ "${KEEP:-0}" = 1 ] || rm -f "$WORK/input.txt"
