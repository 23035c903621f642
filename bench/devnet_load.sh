#!/usr/bin/env bash
# Accepted broadcasts per second over HTTP: starts tron-devnet (ephemeral port, funded senders,
# 3000 ms blocks), signs N distinct transfers against its head block, and sends each exactly once
# with wrk through POST /wallet/broadcasthex. Baselines from the same run, same wrk settings:
# nginx serving a static 200-byte JSON (the HTTP ceiling of this machine), and the devnet's own
# GET /wallet/getnowblock and GET /admin/state (its HTTP stack with no chain work).
# Usage: bench/devnet_load.sh BUILD_DIR
#   DEVNET_BODIES     signed bodies to generate (default 250000; must outlast the broadcast run)
#   DEVNET_DURATION   seconds per wrk run (default 10)
#   DEVNET_WRK_ARGS   wrk load shape (default "-t2 -c32")
#   DEVNET_NGINX      0 skips the nginx baseline (default 1; skipped anyway if nginx is missing)
set -euo pipefail

die() { echo "devnet_load: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 BUILD_DIR"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=$(cd "$1" && pwd) || die "no build directory $1"
DEVNET="$BUILD_DIR/devnet/tron-devnet"
BENCH="$BUILD_DIR/bench/bench_devnet"
for bin in "$DEVNET" "$BENCH"; do
  [[ -x "$bin" ]] || die "$bin not built (cmake --build $BUILD_DIR --target tron-devnet bench_devnet)"
done
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps --bench)"
done
BODIES=${DEVNET_BODIES:-250000}
DURATION=${DEVNET_DURATION:-10}
read -r -a WRK_ARGS <<<"${DEVNET_WRK_ARGS:--t2 -c32}"
THREADS=2
CONNECTIONS=10  # wrk's default
for arg in "${WRK_ARGS[@]}"; do
  if [[ $arg =~ ^-t([0-9]+)$ ]]; then THREADS=${BASH_REMATCH[1]}; fi
  if [[ $arg =~ ^-c([0-9]+)$ ]]; then CONNECTIONS=${BASH_REMATCH[1]}; fi
done
OUT="$BUILD_DIR/bench/results"
mkdir -p "$OUT"

WORK=$(mktemp -d /tmp/devnet_load.XXXXXX)
chmod 755 "$WORK"  # nginx's workers run as another user and must read the static file
DEVNET_PID="" NGINX_PID=""
cleanup() {
  set +e
  if [[ -n $DEVNET_PID ]]; then kill "$DEVNET_PID" 2>/dev/null; wait "$DEVNET_PID" 2>/dev/null; fi
  if [[ -n $NGINX_PID ]]; then kill "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

# wrk_run NAME URL [SCRIPT SCRIPT_ARGS...]: runs wrk, keeps its output in
# $OUT/devnet_wrk_NAME.txt and prints Requests/sec.
wrk_run() {
  local name=$1 url=$2
  shift 2
  local script=()
  if [[ $# -gt 0 ]]; then
    script=(-s "$1")
    shift
  fi
  echo "==> wrk ${WRK_ARGS[*]} -d${DURATION}s ${script[*]} $url${*:+ -- $*}" >&2
  wrk "${WRK_ARGS[@]}" -d"${DURATION}s" --latency "${script[@]}" "$url" ${*:+--} "$@" \
    >"$OUT/devnet_wrk_$name.txt"
  awk '/^Requests\/sec:/ {print $2}' "$OUT/devnet_wrk_$name.txt"
}

# ---- tron-devnet ----
"$BENCH" --emit-genesis >"$WORK/genesis.json"
: >"$WORK/devnet.log"
"$DEVNET" --listen 127.0.0.1:0 --block-interval-ms 3000 --genesis "$WORK/genesis.json" \
  >"$WORK/devnet.log" 2>&1 &
DEVNET_PID=$!
URL=""
for _ in $(seq 100); do
  URL=$(sed -n 's/^tron-devnet listening on \(http:[^ ]*\)$/\1/p' "$WORK/devnet.log")
  [[ -n $URL ]] && break
  kill -0 "$DEVNET_PID" 2>/dev/null || die "tron-devnet exited: $(cat "$WORK/devnet.log")"
  sleep 0.1
done
[[ -n $URL ]] || die "tron-devnet did not start: $(cat "$WORK/devnet.log")"
echo "==> tron-devnet at $URL (pid $DEVNET_PID)" >&2

# ---- signed bodies against the current head ----
HEAD=$(curl -sf "$URL/wallet/getnowblock")
REF_ID=$(jq -r .blockID <<<"$HEAD")
REF_NUM=$(jq -r .block_header.raw_data.number <<<"$HEAD")
REF_TS=$(jq -r .block_header.raw_data.timestamp <<<"$HEAD")
[[ $REF_NUM == null ]] && REF_NUM=0  # java-tron omits zero fields: the genesis block has no number
echo "==> signing $BODIES transfers against block $REF_NUM ($REF_ID)" >&2
start=$(date +%s.%N)
"$BENCH" --emit-broadcasts "$BODIES" "$REF_ID" "$REF_NUM" "$REF_TS" >"$WORK/bodies.jsonl"
echo "    $(wc -l <"$WORK/bodies.jsonl") bodies in $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s" >&2

# ---- baselines ----
NGINX_RPS=""
if [[ ${DEVNET_NGINX:-1} != 0 ]] && command -v nginx >/dev/null; then
  mkdir -p "$WORK/nginx/www"
  # 200 bytes of JSON, about the size of a broadcast reply without the transaction echo.
  STATIC=$(printf '{"result":true,"code":"SUCCESS","message":"","txid":"%064d","pad":"' 0)
  PAD=$(head -c $((200 - ${#STATIC} - 2)) /dev/zero | tr '\0' x)
  printf '%s%s"}' "$STATIC" "$PAD" >"$WORK/nginx/www/static.json"
  start_static_nginx "$WORK/nginx" static.json application/json
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/static.json" >/dev/null && break; sleep 0.1; done
  if curl -sf "http://127.0.0.1:$NGINX_PORT/static.json" >/dev/null; then
    NGINX_RPS=$(wrk_run nginx "http://127.0.0.1:$NGINX_PORT/static.json")
  else
    echo "devnet_load: nginx did not start, skipping its baseline" >&2
  fi
  kill "$NGINX_PID" 2>/dev/null
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
fi
# The head blocks are still empty here, so getnowblock is a small reply.
NOWBLOCK_RPS=$(wrk_run getnowblock "$URL/wallet/getnowblock")
STATE_RPS=$(wrk_run state "$URL/admin/state")

# ---- the broadcasts ----
TX_BEFORE=$(curl -sf "$URL/admin/state" | jq .transactions)
wrk_run broadcast "$URL" "$HERE/devnet_broadcast.lua" "$WORK/bodies.jsonl" "$THREADS" >/dev/null
TX_AFTER=$(curl -sf "$URL/admin/state" | jq .transactions)
field() { awk -v k="$1" '$1 == "DEVNET" && $2 == k {print $3}' "$OUT/devnet_wrk_broadcast.txt"; }
ACCEPTED=$(field accepted)
REFUSED=$(field refused)
HTTP_ERRORS=$(field http_errors)
EXHAUSTED=$(field exhausted_threads)
DURATION_US=$(field duration_us)
P50_US=$(field latency_p50_us)
P99_US=$(field latency_p99_us)
[[ -n $ACCEPTED && -n $DURATION_US ]] ||
  die "wrk reported no counts: $(cat "$OUT/devnet_wrk_broadcast.txt")"
BROADCAST_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$OUT/devnet_wrk_broadcast.txt")
grep '^DEVNET first_refusal' "$OUT/devnet_wrk_broadcast.txt" >&2 || true
[[ $EXHAUSTED == 0 ]] ||
  echo "devnet_load: WARNING: $EXHAUSTED wrk thread(s) ran out of bodies; raise DEVNET_BODIES" >&2

python3 - "$OUT/devnet_load.json" <<PY
import json, sys
accepted, refused, http_errors = $ACCEPTED, $REFUSED, $HTTP_ERRORS
duration_s = $DURATION_US / 1e6
accepted_rps = accepted / duration_s
nginx = float("${NGINX_RPS:-0}") or None
nowblock, state = float("$NOWBLOCK_RPS"), float("$STATE_RPS")
chain_delta = $TX_AFTER - $TX_BEFORE
rows = [
    ("accepted broadcasts/s over HTTP (broadcasthex)", f"{accepted_rps:,.0f} /s",
     "meets target >= 2,000/s" if accepted_rps >= 2000 else "MISSES target >= 2,000/s"),
    ("  accepted / refused / HTTP errors", f"{accepted:,} / {refused:,} / {http_errors:,}", ""),
    # wrk drops the replies still in flight when its time is up; the node applied those too.
    ("  chain's transaction count grew by", f"{chain_delta:,}",
     f"= accepted + {chain_delta - accepted} in flight at the end"
     if 0 <= chain_delta - accepted <= $CONNECTIONS else "DIFFERS from accepted"),
    ("  latency p50 / p99", f"{$P50_US / 1e3:.2f} / {$P99_US / 1e3:.2f} ms", ""),
    ("devnet GET /wallet/getnowblock (empty head)", f"{nowblock:,.0f} /s", ""),
    ("devnet GET /admin/state", f"{state:,.0f} /s", ""),
]
if nginx:
    rows.append(("nginx static 200-byte JSON", f"{nginx:,.0f} /s", ""))
rows.append(("broadcasts / devnet GET /admin/state", f"{accepted_rps / state:.3f}x", ""))
rows.append(("broadcasts / devnet GET /wallet/getnowblock", f"{accepted_rps / nowblock:.3f}x", ""))
if nginx:
    rows.append(("broadcasts / nginx static", f"{accepted_rps / nginx:.3f}x", ""))
    rows.append(("devnet GET /admin/state / nginx static", f"{state / nginx:.2f}x", ""))
w0 = max(len(r[0]) for r in rows)
w1 = max(len(r[1]) for r in rows)
print("wrk ${WRK_ARGS[*]} -d${DURATION}s, sharing the machine's cores with the server")
for a, b, c in rows:
    print(f"{a.ljust(w0)}  {b.rjust(w1)}  {c}".rstrip())
json.dump({
    "accepted": accepted, "refused": refused, "http_errors": http_errors,
    "accepted_per_sec": accepted_rps, "broadcast_requests_per_sec": float("$BROADCAST_RPS"),
    "chain_transactions_added": chain_delta,
    "getnowblock_per_sec": nowblock, "admin_state_per_sec": state, "nginx_static_per_sec": nginx,
}, open(sys.argv[1], "w"), indent=2)
PY
echo "(raw results in $OUT)" >&2
