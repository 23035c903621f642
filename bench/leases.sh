#!/usr/bin/env bash
# Leases per second end to end (issue #6), beside PostgreSQL's own single-row insert rate measured in
# the same run on the same cluster. In one run:
#   - a private PostgreSQL cluster (scripts/pg, durable: fsync and synchronous_commit on, checked),
#   - tron-devnet with 100 ms blocks and a bench genesis: the demo pool K1 with 1e9 TRX staked for
#     energy (room for ~300k leases of 32,000 energy) and LEASES_RECEIVERS activated receivers,
#   - tronrelayd (config in a temp dir; K1 as an own pool, server threads and chain rate out of the
#     way), a tenant with 1e8 TRX of credit and a key, K1 registered through POST /v1/pools;
#   - for each concurrency C of LEASES_CONCURRENCY: bench/lease_load.py keeps C clients posting
#     inline leases (receiver, energy, duration_s, max_cost_sun) back to back, each client on its own
#     receivers (a receiver never has two leases in flight: that would be 409 by design; wrk cannot
#     promise that, its Lua API has no connection identity — see lease_load.py's header); after a
#     warm-up, over a fixed window it counts leases answered 201 "active" (leases/s, p50/p99), and
#     snapshots at both ends of the window: utime+stime of tronrelayd, tron-devnet and the cluster's
#     processes (/proc/PID/stat), PostgreSQL's commits (pg_stat_database), assigned xids and WAL
#     flushes (pg_stat_wal), and the daemon's tronrelay_chain_requests_total (/metrics);
#   - an idle window before the load: the same counters with no lease traffic (background work);
#   - pgbench on the same cluster, daemon idle: one INSERT of one row into a small table per
#     transaction (synchronous_commit on), with 1 client and with each C.
# Prints a result block (also BUILD_DIR/bench/results/leases.txt, raw figures in leases.json) and
# stops everything it started on exit.
# Usage: bench/leases.sh BUILD_DIR
#   LEASES_CONCURRENCY  clients per run, a list (default "8 32")
#   LEASES_WARMUP       seconds of load before each window (default 5)
#   LEASES_DURATION     seconds of each measured window (default 30)
#   LEASES_IDLE         seconds of the idle window (default 10)
#   LEASES_ENERGY       energy per lease (default 32000, the pricing minimum)
#   LEASES_DURATION_S   lease duration (default 3600: nothing expires, so no reclaim runs meanwhile)
#   LEASES_IDEMPOTENCY  1 (default): each POST carries a fresh Idempotency-Key, as a client that
#                       retries safely must; 0 leaves it out
#   LEASES_RECEIVERS    activated receivers in the genesis (default 1024; at least 2 per client)
#   LEASES_THREADS      tronrelayd [server] threads (default 64, the maximum: a lease holds its
#                       server thread until its block is seen, so threads bound leases in flight)
#   LEASES_POOL_SIZE    tronrelayd [database] pool_size (default 16)
#   LEASES_BLOCK_MS     devnet block interval (default 100)
#   LEASES_PGBENCH_SECONDS  seconds per pgbench run (default 10)
#   LEASES_PG_DIR       cluster directory (default ROOT/var/pg-leases; removed on exit if created)
#   LEASES_PG_PORT      its port (default 5473)
#   LEASES_CONFIRM_TIMEOUT_MS  diagnostic: [leases] confirm_timeout_ms (default: unset, the product's
#                       30 s): leases not in a block by then answer 202 and are not counted.
#                       (The daemon polls for the block every [chain] block_interval_ms, set to
#                       LEASES_BLOCK_MS here; before that setting it polled every 3 s, and this
#                       deadline was how the first runs showed what the block rate would give.)
#   LEASES_PGSS         1 loads pg_stat_statements (restarts the cluster) and appends the statements
#                       run per lease to the result, and samples pg_stat_activity during the load
#                       (what the daemon's backends wait for); off by default (it costs a little)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binaries "$@"
for tool in jq curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps --bench)"
done
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PSQL="$PG_BIN/psql"
PGBENCH="$PG_BIN/pgbench"
[[ -x $PGBENCH ]] || die "no pgbench in $PG_BIN (postgresql-15)"

read -r -a CONCURRENCY <<<"${LEASES_CONCURRENCY:-8 32}"
WARMUP=${LEASES_WARMUP:-5}
DURATION=${LEASES_DURATION:-30}
IDLE=${LEASES_IDLE:-10}
ENERGY=${LEASES_ENERGY:-32000}
LEASE_SECONDS=${LEASES_DURATION_S:-3600}
IDEMPOTENCY=${LEASES_IDEMPOTENCY:-1}
RECEIVERS=${LEASES_RECEIVERS:-1024}
THREADS=${LEASES_THREADS:-64}
POOL_SIZE=${LEASES_POOL_SIZE:-16}
BLOCK_MS=${LEASES_BLOCK_MS:-100}
PGBENCH_SECONDS=${LEASES_PGBENCH_SECONDS:-10}
PG_PORT=${LEASES_PG_PORT:-5473}
PGSS=${LEASES_PGSS:-0}
CONFIRM_TIMEOUT_MS=${LEASES_CONFIRM_TIMEOUT_MS:-}
if [[ -n ${LEASES_PG_DIR:-} ]]; then
  PG_DIR=$LEASES_PG_DIR
elif [[ $(id -u) -ne 0 ]] || runuser -u postgres -- test -x "$ROOT/var" 2>/dev/null; then
  PG_DIR=$ROOT/var/pg-leases
else
  # As root the server runs as postgres, which must reach the directory (as ./run's pg_dir).
  PG_DIR=/var/tmp/tronrelay-pg-leases
fi
for c in "${CONCURRENCY[@]}"; do
  [[ $c =~ ^[0-9]+$ && $c -ge 1 ]] || die "LEASES_CONCURRENCY: '$c' is not a positive number"
  ((RECEIVERS >= 2 * c + 1)) || die "LEASES_RECEIVERS=$RECEIVERS: need at least $((2 * c + 1)) for C=$c"
done
OUT="$BUILD_DIR/bench/results"
mkdir -p "$OUT" "$ROOT/var"

# The config must come from the file alone: drop TRONRELAY_* overrides from the environment.
for var in "${!TRONRELAY_@}"; do unset "$var"; done

WORK=$(mktemp -d /tmp/leases_bench.XXXXXX)
DEVNET_PID="" DAEMON_PID="" SAMPLER_PID="" PG_STARTED=0 PG_CREATED=0
stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  stop_pid "$SAMPLER_PID"
  stop_pid "$DAEMON_PID"
  stop_pid "$DEVNET_PID"
  if [[ $PG_STARTED == 1 ]]; then
    if [[ $PGSS == 1 && $PG_CREATED == 0 ]]; then
      "$ROOT/scripts/pg" psql "$PG_DIR" -c "ALTER SYSTEM RESET shared_preload_libraries" >/dev/null
      "$ROOT/scripts/pg" psql "$PG_DIR" -c "ALTER SYSTEM RESET pg_stat_statements.track_planning" >/dev/null
    fi
    "$ROOT/scripts/pg" stop "$PG_DIR" >/dev/null 2>&1
    if [[ $PG_CREATED == 1 ]]; then rm -rf "$PG_DIR"; fi
  fi
  [[ -f "$WORK/tronrelayd.log" ]] && {
    head -n 30 "$WORK/tronrelayd.log" >"$OUT/leases_tronrelayd.log"
    echo "... ($(wc -l <"$WORK/tronrelayd.log") lines; warnings and errors:)" >>"$OUT/leases_tronrelayd.log"
    grep -E '"level":"(warn|error)"' "$WORK/tronrelayd.log" | tail -n 50 >>"$OUT/leases_tronrelayd.log"
  }
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_line() {  # wait_line FILE SED_EXPR PID WHAT: prints the first match of SED_EXPR in FILE
  local file=$1 expr=$2 pid=$3 what=$4 found=""
  for _ in $(seq 200); do
    found=$(sed -n "$expr" "$file" | head -1)
    [[ -n $found ]] && { echo "$found"; return 0; }
    kill -0 "$pid" 2>/dev/null || die "$what exited: $(tail -20 "$file")"
    sleep 0.05
  done
  die "$what did not start: $(tail -20 "$file")"
}

# ---- PostgreSQL: durable, as the product runs ----
[[ -d "$PG_DIR/data" ]] || PG_CREATED=1
log "PostgreSQL in $PG_DIR (port $PG_PORT), fsync and synchronous_commit on"
PG_STARTED=1
"$ROOT/scripts/pg" start "$PG_DIR" "$PG_PORT" >/dev/null
if [[ $PGSS == 1 ]]; then
  "$ROOT/scripts/pg" psql "$PG_DIR" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
  "$ROOT/scripts/pg" stop "$PG_DIR"
  "$ROOT/scripts/pg" start "$PG_DIR" "$PG_PORT" >/dev/null
  # Known only once the library is loaded.
  "$ROOT/scripts/pg" psql "$PG_DIR" -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" \
    -c "SELECT pg_reload_conf()" >/dev/null
fi
DB_URL=$("$ROOT/scripts/pg" createdb "$PG_DIR" bench | tail -1)
pgq() { "$PSQL" -X -q -t -A -F ' ' -v ON_ERROR_STOP=1 "$DB_URL" -c "$1"; }
# The counters are read from another database, so that reading them adds no transaction to bench's.
STATS_URL="${DB_URL%/*}/tronrelay"
# `scripts/pg start` leaves a running cluster as it is: one started with --fast would still be fast.
read -r SYNC_COMMIT FSYNC WAL_SYNC_METHOD PG_VERSION < <(pgq \
  "SELECT current_setting('synchronous_commit'), current_setting('fsync'),
          current_setting('wal_sync_method'), current_setting('server_version')")
[[ $SYNC_COMMIT == on && $FSYNC == on ]] ||
  die "the cluster in $PG_DIR runs with synchronous_commit=$SYNC_COMMIT fsync=$FSYNC (started with --fast?): stop it first (scripts/pg stop $PG_DIR)"
if [[ $PGSS == 1 ]]; then
  "$ROOT/scripts/pg" psql "$PG_DIR" -d bench -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
fi
PG_MASTER=$(head -1 "$PG_DIR/data/postmaster.pid")

# ---- bench genesis: a big pool and many activated receivers ----
python3 - "$RECEIVERS" "$WORK/genesis.json" "$WORK/receivers.txt" <<'PY'
import hashlib, json, sys
n, genesis_path, receivers_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# Receivers need no key (they never sign): 41 + 20 bytes of SHA-256 of a fixed string, repeatable.
receivers = ["41" + hashlib.sha256(f"tronrelay bench receiver {i}".encode()).hexdigest()[:40]
             for i in range(n)]
accounts = [
    {"_role": "pool K1: 1e9 TRX staked for energy (each 32,000-energy lease takes ~3,100 TRX), "
              "1e7 TRX for the bandwidth of its delegations, 1e9 TRX balance",
     "address": "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC", "balance_sun": 10**15,
     "frozen_energy_sun": 10**15, "frozen_bandwidth_sun": 10**13},
    {"_role": "relayer K2", "address": "TEDapYSVvAZ3aYH7w8N9tMEEFKaNKUD5Bp", "balance_sun": 10**7},
]
accounts += [{"address": r, "balance_sun": 0} for r in receivers]
json.dump({"_comment": "bench/leases.sh: generated", "accounts": accounts}, open(genesis_path, "w"))
open(receivers_path, "w").write("\n".join(receivers) + "\n")
PY
tail -1 "$WORK/receivers.txt" >"$WORK/probe_receiver.txt"   # the sanity lease's; not in the load
head -n -1 "$WORK/receivers.txt" >"$WORK/load_receivers.txt"

# ---- tron-devnet ----
"$DEVNET" --listen 127.0.0.1:0 --block-interval-ms "$BLOCK_MS" --genesis "$WORK/genesis.json" \
  >"$WORK/devnet.log" 2>&1 &
DEVNET_PID=$!
CHAIN_URL=$(wait_line "$WORK/devnet.log" 's/^tron-devnet listening on \(http:[^ ]*\)$/\1/p' "$DEVNET_PID" tron-devnet)
log "tron-devnet at $CHAIN_URL (pid $DEVNET_PID), $BLOCK_MS ms blocks, $RECEIVERS receivers"

# ---- tronrelayd ----
# K1 (the demo pool) and K2 (the relayer) of shared/tron/vectors.json: public test keys.
(umask 077 && jq -r .pool.private_key "$ROOT/devnet/demo-accounts.json" >"$WORK/pool.key" &&
  jq -r .relayer.private_key "$ROOT/devnet/demo-accounts.json" >"$WORK/relayer.key")
POOL_ADDRESS=$(jq -r .pool.address "$ROOT/devnet/demo-accounts.json")
cat >"$WORK/tronrelayd.toml" <<TOML
[server]
listen = "127.0.0.1:0"
threads = $THREADS
max_connections = 1024

[database]
url = "$DB_URL"
pool_size = $POOL_SIZE

[chain]
endpoints = ["$CHAIN_URL"]
requests_per_second = 100000   # the devnet is local: the TronGrid-sized default (15) would be the limit
block_interval_ms = $BLOCK_MS  # the devnet's: a lease waits for its block at the chain's pace

[signer]
key_file = "$WORK/relayer.key"

[pools]
owner_key_files = ["$WORK/pool.key"]

[rate_limit]
requests_per_second = 1000000
burst = 1000000

[log]
level = "info"
TOML
if [[ -n $CONFIRM_TIMEOUT_MS ]]; then
  printf '\n[leases]\nconfirm_timeout_ms = %d   # diagnostic (LEASES_CONFIRM_TIMEOUT_MS)\n' \
    "$CONFIRM_TIMEOUT_MS" >>"$WORK/tronrelayd.toml"
fi
CTL_CMD=("$CTL" --config "$WORK/tronrelayd.toml")
"$DAEMON" --config "$WORK/tronrelayd.toml" >"$WORK/tronrelayd.log" 2>&1 &
DAEMON_PID=$!
LISTEN=$(wait_line "$WORK/tronrelayd.log" '/"msg":"serving"/s/.*"listen":"\([^"]*\)".*/\1/p' "$DAEMON_PID" tronrelayd)
DAEMON_URL="http://$LISTEN"
for _ in $(seq 100); do curl -sf -o /dev/null "$DAEMON_URL/health" && break; sleep 0.1; done
log "tronrelayd at $DAEMON_URL (pid $DAEMON_PID): threads $THREADS, pool_size $POOL_SIZE"

TENANT_ID=$("${CTL_CMD[@]}" tenant create bench | jq -r .id)
"${CTL_CMD[@]}" tenant credit "$TENANT_ID" 100000000000000 >/dev/null   # 1e8 TRX
SECRET=$("${CTL_CMD[@]}" keys create --tenant "$TENANT_ID" --scopes quote,lease,pools 2>/dev/null | jq -r .secret)
[[ $SECRET == trk_* ]] || die "tronrelayctl keys create gave no secret"
AUTH=(-H "Authorization: Bearer $SECRET" -H 'Content-Type: application/json')
POOL=$(curl -sS "${AUTH[@]}" "$DAEMON_URL/v1/pools" \
  -d "{\"address\":\"$POOL_ADDRESS\",\"kind\":\"own\",\"name\":\"bench pool\"}")
[[ $(jq -r .status <<<"$POOL") == active ]] || die "the own pool is not active: $POOL"
POOL_ID=$(jq -r .id <<<"$POOL")
log "tenant $TENANT_ID, own pool $POOL_ID ($POOL_ADDRESS): $(curl -sS "${AUTH[@]}" "$DAEMON_URL/v1/pools/$POOL_ID" |
  jq -c '{status, capacity}')"

# One lease by hand: the path works, and how long one takes on an idle daemon.
LEASE_BODY=$(printf '{"receiver":"%s","energy":%d,"duration_s":%d,"max_cost_sun":100000000}' \
  "$(cat "$WORK/probe_receiver.txt")" "$ENERGY" "$LEASE_SECONDS")
PROBE=$(curl -sS -o "$WORK/probe.json" -w '%{http_code} %{time_total}' "${AUTH[@]}" "$DAEMON_URL/v1/leases" -d "$LEASE_BODY")
[[ ${PROBE%% *} == 201 && $(jq -r .status "$WORK/probe.json") == active ]] ||
  die "a single lease was not answered 201 active: $PROBE $(cat "$WORK/probe.json")"
PROBE_MS=$(awk '{printf "%.0f", $2 * 1000}' <<<"$PROBE")
log "one lease, idle daemon: 201 active in $PROBE_MS ms (stake $(jq -r .stake_sun "$WORK/probe.json") sun, price $(jq -r .price.total_sun "$WORK/probe.json") sun)"

# ---- counters at the edges of a window ----
HZ=$(getconf CLK_TCK)
cat >"$WORK/snapshot.sh" <<SNAP
#!/usr/bin/env bash
# snapshot.sh LABEL: the counters of one window edge into $WORK/snap.\$LEASES_RUN.LABEL
set -euo pipefail
out="$WORK/snap.\${LEASES_RUN}.\$1"
ticks() { cut -d' ' -f14,15 "/proc/\$1/stat" 2>/dev/null | awk '{print \$1 + \$2}'; }
{
  echo "t \$EPOCHREALTIME"
  echo "daemon \$(ticks $DAEMON_PID)"
  echo "devnet \$(ticks $DEVNET_PID)"
  for pid in $PG_MASTER \$(ps -o pid= --ppid $PG_MASTER); do echo "pg \$pid \$(ticks \$pid)"; done
  awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += \$i; print "machine", t - \$5 - \$6, t}' /proc/stat
  echo "load \$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "db \$("$PSQL" -X -q -t -A -F ' ' "$STATS_URL" -c "SELECT d.xact_commit, d.xact_rollback,
      pg_snapshot_xmax(pg_current_snapshot()), w.wal_records, w.wal_bytes, w.wal_write, w.wal_sync,
      d.sessions FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = 'bench'")"
  # Last: when every server thread is busy with a lease, /metrics waits for one (see metrics_s).
  m0=\$EPOCHREALTIME
  curl -sf "$DAEMON_URL/metrics" | awk '
    /^tronrelay_chain_requests_total/ {c += \$NF}
    /^tronrelay_http_requests_total/ {h += \$NF}
    END {print "chain_requests", c + 0; print "http_requests", h + 0}'
  awk -v a="\$m0" -v b="\$EPOCHREALTIME" 'BEGIN {print "metrics_s", b - a}'
} >"\$out"
SNAP
chmod +x "$WORK/snapshot.sh"

# ---- idle window: what the daemon does with no lease traffic (pool monitor, sweeps, job poll) ----
log "idle window, ${IDLE}s"
LEASES_RUN=idle "$WORK/snapshot.sh" start
sleep "$IDLE"
LEASES_RUN=idle "$WORK/snapshot.sh" end

# ---- the lease load ----
SAMPLER_PID=""
if [[ $PGSS == 1 ]]; then
  "$ROOT/scripts/pg" psql "$PG_DIR" -d bench -c "SELECT pg_stat_statements_reset()" >/dev/null
  # What each busy backend of the daemon is doing, ~15 times a second: running, waiting (on what), or
  # idle inside a transaction while the daemon works (the last statement it ran).
  (while :; do
    "$PSQL" -X -q -t -A -F '|' "$STATS_URL" -c "SELECT
        CASE WHEN state = 'active' THEN coalesce(wait_event_type, 'CPU') ELSE 'idle in transaction' END,
        CASE WHEN state = 'active' THEN coalesce(wait_event, '-') ELSE '(the daemon)' END,
        left(regexp_replace(query, '\s+', ' ', 'g'), 70)
        FROM pg_stat_activity WHERE datname = 'bench' AND pid <> pg_backend_pid()
          AND state IN ('active', 'idle in transaction')"
    sleep 0.05
  done >"$WORK/activity.txt" 2>/dev/null) &
  SAMPLER_PID=$!
fi
for c in "${CONCURRENCY[@]}"; do
  log "leases: C=$c clients, ${WARMUP}s warm-up, ${DURATION}s window (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  LEASES_RUN=c$c python3 "$HERE/lease_load.py" --url "$DAEMON_URL" --key "$SECRET" \
    --receivers "$WORK/load_receivers.txt" --concurrency "$c" --warmup "$WARMUP" \
    --duration "$DURATION" --energy "$ENERGY" --duration-s "$LEASE_SECONDS" \
    --idempotency "$IDEMPOTENCY" --on-window "$WORK/snapshot.sh" >"$OUT/leases_load_c$c.json"
  jq -r '"    \(.active) active in \(.window_s | floor) s = \(.leases_per_s * 100 | round / 100) leases/s, p50 \(.latency_ms.p50 // 0 | round) ms, p99 \(.latency_ms.p99 // 0 | round) ms; outcomes \(.outcomes | tostring)"' \
    "$OUT/leases_load_c$c.json" >&2
done
PGSS_TEXT=""
if [[ $PGSS == 1 ]]; then
  stop_pid "$SAMPLER_PID"
  SAMPLER_PID=""
  # Every lease since the reset, warm-ups and tails included (the probe lease came before it).
  LEASES_SINCE_RESET=$(($(pgq "SELECT count(*) FROM leases") - 1))
  PGSS_TEXT=$("$ROOT/scripts/pg" psql "$PG_DIR" -d bench -P pager=off -c "
    SELECT round(calls::numeric / $LEASES_SINCE_RESET, 2) AS per_lease, calls,
           round(total_plan_time::numeric / nullif(plans, 0), 3) AS plan_ms,
           round(total_exec_time::numeric / nullif(calls, 0), 3) AS exec_ms,
           left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
    ORDER BY calls DESC LIMIT 40")
  PGSS_TEXT+=$'\n'$(pgq "SELECT 'per lease: ' || round(sum(calls)::numeric / $LEASES_SINCE_RESET, 1) ||
      ' statements, planning ' || round(sum(total_plan_time)::numeric / $LEASES_SINCE_RESET, 2) ||
      ' ms, executing ' || round(sum(total_exec_time)::numeric / $LEASES_SINCE_RESET, 2) ||
      ' ms (lock waits included); statements with a plan: ' ||
      round(sum(plans)::numeric / $LEASES_SINCE_RESET, 1)
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')")
  PGSS_TEXT+=$'\n\n'"pg_stat_activity samples of the daemon's busy backends during the load (warm-ups included): $(wc -l <"$WORK/activity.txt") backend-samples"$'\n'
  PGSS_TEXT+=$(python3 - "$WORK/activity.txt" <<'PY'
import collections, sys
rows = [line.rstrip("\n").split("|", 2) for line in open(sys.argv[1]) if line.count("|") >= 2]
total = len(rows) or 1
for title, key in (("by state", lambda r: f"{r[0]} {r[1]}"),
                   ("by state and statement (>= 1 %)", lambda r: f"{r[0]} {r[1]}: {r[2]}")):
    print(title + ":")
    for k, n in collections.Counter(map(key, rows)).most_common():
        if 100 * n / total >= 1:
            print(f"  {100 * n / total:5.1f} %  {k}")
PY
)
fi

# ---- PostgreSQL's own single-row insert rate, same cluster, daemon idle ----
pgq "CREATE TABLE IF NOT EXISTS pgbench_single_row (
       id bigserial PRIMARY KEY, client int NOT NULL, at timestamptz NOT NULL DEFAULT now())"
echo 'INSERT INTO pgbench_single_row (client) VALUES (:client_id);' >"$WORK/insert.sql"
: >"$WORK/pgbench.tsv"
for c in 1 "${CONCURRENCY[@]}"; do
  pgq "TRUNCATE pgbench_single_row"
  [[ $(pgq "SHOW synchronous_commit") == on ]] || die "synchronous_commit is not on for pgbench"
  jobs=$((c < 2 ? c : 2))
  log "pgbench: single-row INSERT, synchronous_commit on, $c client(s), ${PGBENCH_SECONDS}s"
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$PGBENCH" -n -M prepared -f "$WORK/insert.sql" -c "$c" -j "$jobs" -T "$PGBENCH_SECONDS" "$DB_URL" \
    >"$OUT/leases_pgbench_c$c.txt" 2>&1 || die "pgbench failed: $(cat "$OUT/leases_pgbench_c$c.txt")"
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$OUT/leases_pgbench_c$c.txt")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$OUT/leases_pgbench_c$c.txt")
  [[ -n $tps ]] || die "no tps in pgbench's output: $(cat "$OUT/leases_pgbench_c$c.txt")"
  printf '%s\t%s\t%s\t%s\n' "$c" "$tps" "$lat" "$load" >>"$WORK/pgbench.tsv"
  log "    $tps inserts/s, latency average $lat ms"
done

# ---- result ----
python3 - "$WORK" "$OUT" "$HZ" "$(nproc)" <<PY | tee "$OUT/leases.txt"
import json, sys
work, out, hz, nproc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = [int(c) for c in "${CONCURRENCY[*]}".split()]

def snap(run, label):
    s = {"pg": {}}
    for line in open(f"{work}/snap.{run}.{label}"):
        f = line.split()
        if f[0] == "pg":
            if len(f) == 3: s["pg"][f[1]] = int(f[2])
        elif f[0] in ("machine", "db", "load"):
            s[f[0]] = [float(x) for x in f[1:]]
        else:
            s[f[0]] = float(f[1]) if len(f) > 1 and f[1] else 0.0
    return s

def delta(run):
    a, b = snap(run, "start"), snap(run, "end")
    d = {"s": b["t"] - a["t"]}
    d["daemon_cpu_s"] = (b["daemon"] - a["daemon"]) / hz
    d["devnet_cpu_s"] = (b["devnet"] - a["devnet"]) / hz
    # A backend that appeared during the window counts from 0; one that ended is lost (the pool keeps
    # its connections, so that is only pgbench-free psql snapshots, which are not counted at all).
    d["pg_cpu_s"] = sum(t - a["pg"].get(p, 0) for p, t in b["pg"].items()) / hz
    busy, total = b["machine"][0] - a["machine"][0], b["machine"][1] - a["machine"][1]
    d["machine_pct"] = 100.0 * nproc * busy / total if total else 0.0
    names = ["xact_commit", "xact_rollback", "xid", "wal_records", "wal_bytes", "wal_write", "wal_sync",
             "sessions"]
    for i, n in enumerate(names):
        d[n] = b["db"][i] - a["db"][i]
    d["chain_requests"] = b["chain_requests"] - a["chain_requests"]
    d["http_requests"] = b["http_requests"] - a["http_requests"]
    d["load_start"], d["load_end"] = a["load"], b["load"]
    d["metrics_s"] = max(a.get("metrics_s", 0), b.get("metrics_s", 0))
    return d

idle = delta("idle")
pgbench = {}
for line in open(f"{work}/pgbench.tsv"):
    c, tps, lat, load = line.split("\t")
    pgbench[int(c)] = {"tps": float(tps), "latency_ms": float(lat), "load1": float(load)}

result = {"config": {"threads": $THREADS, "pool_size": $POOL_SIZE, "block_ms": $BLOCK_MS,
                     "energy": $ENERGY, "duration_s": $LEASE_SECONDS, "warmup_s": $WARMUP,
                     "window_s": $DURATION, "idempotency_key": bool($IDEMPOTENCY),
                     "receivers": $RECEIVERS, "postgres": "$PG_VERSION",
                     "synchronous_commit": "$SYNC_COMMIT", "fsync": "$FSYNC",
                     "wal_sync_method": "$WAL_SYNC_METHOD", "single_lease_ms": $PROBE_MS,
                     "confirm_timeout_ms": "${CONFIRM_TIMEOUT_MS:-default}"},
          "idle": idle, "runs": {}, "pgbench": pgbench}
print(f"tronrelayd leases end to end: devnet {$BLOCK_MS} ms blocks, tronrelayd threads={$THREADS} "
      f"pool_size={$POOL_SIZE}, PostgreSQL {result['config']['postgres']} synchronous_commit="
      f"{result['config']['synchronous_commit']} fsync={result['config']['fsync']} "
      f"({result['config']['wal_sync_method']}); {nproc} cores shared by everything")
print(f"inline leases of {$ENERGY} energy for {$LEASE_SECONDS} s, Idempotency-Key "
      f"{'on' if $IDEMPOTENCY else 'off'}; {$WARMUP} s warm-up, {$DURATION} s window; "
      f"one lease on the idle daemon: {$PROBE_MS} ms")
if "$CONFIRM_TIMEOUT_MS":
    print("DIAGNOSTIC: [leases] confirm_timeout_ms = $CONFIRM_TIMEOUT_MS (the daemon then polls for the "
          "block after that long instead of after 3 s)")
print(f"idle daemon ({idle['s']:.0f} s): {100 * idle['daemon_cpu_s'] / idle['s']:.1f} % of a core, "
      f"PostgreSQL {100 * idle['pg_cpu_s'] / idle['s']:.1f} %, "
      f"{idle['xact_commit'] / idle['s']:.1f} commits/s, {idle['chain_requests'] / idle['s']:.1f} chain "
      f"requests/s, devnet {100 * idle['devnet_cpu_s'] / idle['s']:.1f} % of a core")
print()
rows = []
for c in runs:
    load = json.load(open(f"{out}/leases_load_c{c}.json"))
    d = delta(f"c{c}")
    n = load["active"]
    per = (lambda x: x / n) if n else (lambda x: float("nan"))
    r = {"load": load, "window": d, "leases_per_s": load["leases_per_s"],
         "daemon_cpu_ms_per_lease": 1e3 * per(d["daemon_cpu_s"]),
         "devnet_cpu_ms_per_lease": 1e3 * per(d["devnet_cpu_s"]),
         "pg_cpu_ms_per_lease": 1e3 * per(d["pg_cpu_s"]),
         "client_cpu_ms_per_lease": 1e3 * per(load["client_cpu_s"]) if n else float("nan"),
         # The same, less what the idle window says the process burns per second with no leases.
         "daemon_net_cpu_ms_per_lease":
             1e3 * per(d["daemon_cpu_s"] - idle["daemon_cpu_s"] / idle["s"] * d["s"]),
         "pg_net_cpu_ms_per_lease": 1e3 * per(d["pg_cpu_s"] - idle["pg_cpu_s"] / idle["s"] * d["s"]),
         "pg_net_commits_per_lease":
             per(d["xact_commit"] + d["xact_rollback"] -
                 (idle["xact_commit"] + idle["xact_rollback"]) / idle["s"] * d["s"]),
         "chain_net_requests_per_lease":
             per(d["chain_requests"] - idle["chain_requests"] / idle["s"] * d["s"]),
         "pg_commits_per_lease": per(d["xact_commit"] + d["xact_rollback"]),
         "pg_write_xacts_per_lease": per(d["xid"]),
         "wal_syncs_per_lease": per(d["wal_sync"]),
         "wal_bytes_per_lease": per(d["wal_bytes"]),
         "chain_requests_per_lease": per(d["chain_requests"]),
         "inserts_1": pgbench[1]["tps"], "inserts_c": pgbench[c]["tps"]}
    r["ratio_1"] = r["leases_per_s"] / r["inserts_1"]
    r["ratio_c"] = r["leases_per_s"] / r["inserts_c"]
    result["runs"][c] = r
    lat = load["latency_ms"]
    other = {k: v for k, v in load["outcomes"].items() if k != "active"}
    rows += [
        (f"C = {c}", ""),
        ("  leases/s answered 201 active", f"{r['leases_per_s']:.2f}  ({n} in {d['s']:.1f} s; others: {other or 'none'})"),
        ("  latency p50 / p99 / max", f"{lat['p50'] or 0:.0f} / {lat['p99'] or 0:.0f} / {lat['max'] or 0:.0f} ms"),
        ("  CPU ms per lease: daemon / PG / devnet / client",
         f"{r['daemon_cpu_ms_per_lease']:.2f} / {r['pg_cpu_ms_per_lease']:.2f} / "
         f"{r['devnet_cpu_ms_per_lease']:.2f} / {r['client_cpu_ms_per_lease']:.2f}"),
        ("  the same less the idle rate: daemon / PG",
         f"{r['daemon_net_cpu_ms_per_lease']:.2f} / {r['pg_net_cpu_ms_per_lease']:.2f}"),
        ("  daemon CPU, % of a core", f"{100 * d['daemon_cpu_s'] / d['s']:.1f}  (machine {d['machine_pct']:.0f} % of {nproc}00)"),
        ("  PG commits / write xacts / WAL fsyncs per lease",
         f"{r['pg_commits_per_lease']:.1f} / {r['pg_write_xacts_per_lease']:.1f} / {r['wal_syncs_per_lease']:.1f}"
         f"  ({r['wal_bytes_per_lease'] / 1024:.1f} KiB WAL; commits less the idle rate "
         f"{r['pg_net_commits_per_lease']:.1f})"),
        ("  chain requests per lease", f"{r['chain_requests_per_lease']:.1f}  (less the idle rate "
         f"{r['chain_net_requests_per_lease']:.1f})" + (
             f"  UNRELIABLE: GET /metrics took {d['metrics_s']:.1f} s, every server thread was busy"
             if d["metrics_s"] > 1 else "")),
        ("  pgbench inserts/s: 1 client / C clients", f"{r['inserts_1']:,.0f} / {r['inserts_c']:,.0f}"),
        ("  leases/s ÷ inserts/s (1 / C clients)",
         f"{r['ratio_1']:.4f}x / {r['ratio_c']:.4f}x   target >= 0.25x: "
         f"{'met' if r['ratio_c'] >= 0.25 else 'MISSED'}"),
        ("  load average at window start / end",
         f"{' '.join(f'{x:.2f}' for x in d['load_start'])} / {' '.join(f'{x:.2f}' for x in d['load_end'])}"),
    ]
w = max(len(a) for a, _ in rows)
for a, b in rows:
    print(f"{a.ljust(w)}  {b}".rstrip())
print()
for c, p in sorted(pgbench.items()):
    print(f"pgbench -M prepared, one single-row INSERT per transaction, {c} client(s): "
          f"{p['tps']:,.0f} tx/s, latency {p['latency_ms']:.2f} ms (load1 {p['load1']:.2f})")
if result["runs"] and any(r["load"]["first_error"] for r in result["runs"].values()):
    print("first error reply:", next(r["load"]["first_error"] for r in result["runs"].values() if r["load"]["first_error"]))
json.dump(result, open(f"{out}/leases.json", "w"), indent=2, default=str)
PY
if [[ -n $PGSS_TEXT ]]; then
  { echo; echo "pg_stat_statements over all $LEASES_SINCE_RESET leases of the load (warm-ups and tails included), by calls:"; echo "$PGSS_TEXT"; } |
    tee -a "$OUT/leases.txt"
fi
echo "(raw results in $OUT: leases.txt, leases.json, leases_load_c*.json, leases_pgbench_c*.txt, leases_tronrelayd.log)" >&2
