#!/usr/bin/env bash
# Runs the micro benchmarks (make bench). HTTP load against nginx comes with
# the performance work.
set -euo pipefail
BUILD=${1:-build}
"$BUILD/bench/engine_bench" --benchmark_min_time=1
"$BUILD/bench/hot_state_memory" 1000000 1024
# Takeover detections on a benign month with attacks mixed in: false alarms and catch rate.
"$BUILD/bench/takeover_replay" 10000 30 1000 2>/dev/null
