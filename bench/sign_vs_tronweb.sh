#!/usr/bin/env bash
# Compares tronrelay's build+sign rate for a relayer DelegateResource transaction with its two
# baselines, measured in this same run: raw libsecp256k1 signing (the ceiling) and TronWeb (the
# incumbent). Prints the rates and the ratios the issue sets targets for.
# Usage: bench/sign_vs_tronweb.sh BUILD_DIR
#   TRONRELAY_ORACLE_DIR   npm prefix for TronWeb (default <repo>/var/oracle; installed if missing)
#   BENCH_SECONDS          seconds per TronWeb measurement (default 10)
#   BENCH_REPETITIONS      bench_chain repetitions; the median is used (default 5)
set -euo pipefail

die() { echo "sign_vs_tronweb: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 BUILD_DIR"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "$1" && pwd) || die "no build directory $1"
BENCH="$BUILD_DIR/bench/bench_chain"
[[ -x "$BENCH" ]] || die "$BENCH not built (cmake --build $BUILD_DIR --target bench_chain)"
ORACLE_DIR=${TRONRELAY_ORACLE_DIR:-$ROOT/var/oracle}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
REPETITIONS=${BENCH_REPETITIONS:-5}
OUT="$BUILD_DIR/bench/results"
mkdir -p "$OUT"

"$ROOT/tests/oracle/install.sh" "$ORACLE_DIR"

# Interleaved repetitions, so a burst of load from elsewhere hits both benchmarks alike.
echo "==> bench_chain: BM_BuildSignDelegate vs BM_RawSecp256k1Sign ($REPETITIONS repetitions)" >&2
"$BENCH" --benchmark_filter='^BM_(BuildSignDelegate|RawSecp256k1Sign)$' \
  --benchmark_repetitions="$REPETITIONS" --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=1 --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out_format=json --benchmark_out="$OUT/sign.json" >/dev/null

for mode in crypto trx trx-owner; do
  echo "==> TronWeb build+sign, mode $mode (${SECONDS_PER_RUN}s)" >&2
  node "$ROOT/bench/tronweb_sign_bench.js" --modules "$ORACLE_DIR" --mode "$mode" \
    --seconds "$SECONDS_PER_RUN" >"$OUT/tronweb_$mode.json"
done

node - "$OUT" <<'JS'
'use strict';
const fs = require('fs');
const dir = process.argv[2];
const chain = JSON.parse(fs.readFileSync(`${dir}/sign.json`, 'utf8'));
const median = (name) => {
  const row = chain.benchmarks.find((b) => b.run_name === name && b.aggregate_name === 'median');
  if (!row || row.error_occurred) throw new Error(`no median for ${name} in sign.json`);
  return row.items_per_second;  // Google Benchmark divides by CPU time: a per-core rate.
};
const ours = median('BM_BuildSignDelegate');
const raw = median('BM_RawSecp256k1Sign');
const tronweb = (mode) =>
  JSON.parse(fs.readFileSync(`${dir}/tronweb_${mode}.json`, 'utf8')).tx_per_cpu_sec;
const tw = tronweb('crypto');
const twTrx = tronweb('trx');
const twOwner = tronweb('trx-owner');

const rate = (x) => `${Math.round(x).toLocaleString('en-US')} /s`;
const ratio = (x) => `${x.toFixed(2)}x`;
const target = (x, min) => (x >= min ? `meets target >= ${min}x` : `MISSES target >= ${min}x`);
const rows = [
  ['ours: build+serialize+txid+sign DelegateResource (V3)', rate(ours), ''],
  ['raw libsecp256k1 sign_recoverable+serialize_compact', rate(raw), ''],
  ['TronWeb: build + utils.crypto.signTransaction (V3)', rate(tw), ''],
  ['TronWeb: build + trx.sign multisig (V3)', rate(twTrx), ''],
  ['TronWeb: build + trx.sign by owner (V1, DESIGN §10)', rate(twOwner), ''],
  ['ours / raw libsecp256k1', ratio(ours / raw), target(ours / raw, 0.8)],
  ['ours / TronWeb utils.crypto.signTransaction', ratio(ours / tw), target(ours / tw, 20)],
  ['ours / TronWeb trx.sign multisig', ratio(ours / twTrx), ''],
  ['ours / TronWeb trx.sign by owner', ratio(ours / twOwner), ''],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`per core: one thread, rates over CPU time; TronWeb ${JSON.parse(
  fs.readFileSync(`${dir}/tronweb_crypto.json`, 'utf8')).tronweb_version}, node ${process.version}`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd());
fs.writeFileSync(`${dir}/summary.json`, JSON.stringify({
  ours_tx_per_sec: ours,
  raw_sign_per_sec: raw,
  tronweb_crypto_tx_per_sec: tw,
  tronweb_trx_sign_tx_per_sec: twTrx,
  tronweb_trx_sign_owner_tx_per_sec: twOwner,
  ours_over_raw: ours / raw,
  ours_over_tronweb: ours / tw,
}, null, 2) + '\n');
JS
echo "(raw results in $OUT)" >&2
