#!/usr/bin/env bash
# Every benchmark: all of bench_chain, then the build+sign comparison with its baselines, then
# tron-devnet's: all of bench_devnet and the HTTP broadcast load with its baselines, then
# tronrelayd's HTTP API against nginx, then leases end to end beside pgbench's insert rate.
# Usage: bench/run_all.sh BUILD_DIR    (what `./run bench` calls after building)
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=$(cd "$1" && pwd)
OUT="$BUILD_DIR/bench/results"
mkdir -p "$OUT"

echo "==> bench_chain (all benchmarks)" >&2
"$BUILD_DIR/bench/bench_chain" --benchmark_out_format=json --benchmark_out="$OUT/bench_chain.json"
echo >&2
"$HERE/sign_vs_tronweb.sh" "$BUILD_DIR"
echo >&2
echo "==> bench_devnet (all benchmarks)" >&2
"$BUILD_DIR/bench/bench_devnet" --benchmark_out_format=json --benchmark_out="$OUT/bench_devnet.json"
echo >&2
"$HERE/devnet_load.sh" "$BUILD_DIR"
echo >&2 && "$HERE/http.sh" "$BUILD_DIR"
echo >&2 && "$HERE/leases.sh" "$BUILD_DIR"
