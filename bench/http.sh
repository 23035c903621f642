#!/usr/bin/env bash
# tronrelayd's HTTP API under load, with nginx as the baseline, in one run on this machine.
# Starts a private PostgreSQL (scripts/pg), tron-devnet and tronrelayd (ephemeral ports, config in
# a temp dir, rate limit out of the way), creates a tenant and an admin key with tronrelayctl, then:
#   - start-to-READY (exec → the "serving" log line, and → the first 200 from GET /health), for a
#     first start on an empty database (applies the migrations) and a restart (schema current);
#   - idle RSS (VmRSS of /proc/PID/status) after each start, and RSS after the load;
#   - wrk against nginx serving the exact bytes of /health's body (a static file, same path, same
#     Content-Type), GET /health and GET /v1/account (Bearer key): requests/s, p50/p99, errors, and
#     the CPU each process used while wrk ran.
# Prints a summary table; every process it started and the PG cluster are stopped on exit.
# Usage: bench/http.sh BUILD_DIR
#   HTTP_DURATION    seconds per wrk run (default 10)
#   HTTP_WRK_ARGS    wrk load shape (default "-t2 -c64")
#   HTTP_THREADS     tronrelayd [server] threads (default 8)
#   HTTP_POOL_SIZE   tronrelayd [database] pool_size (default 8)
#   HTTP_PG_DIR      PostgreSQL cluster directory (default ROOT/var/pg-bench; removed on exit if
#                    this run created it)
#   HTTP_PG_PORT     its port (default 5441)
#   HTTP_IDLE_WAIT   seconds to let tronrelayd settle before reading its idle RSS (default 1)
#   HTTP_DIAG        1 (default): after the measured runs, switch the log level to warn (SIGHUP) and
#                    run /health and /v1/account again, to show what the per-request log line costs
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binaries "$@"
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v jq >/dev/null; then
  log "installing wrk, nginx, jq (scripts/install-deps --bench)"
  "$ROOT/scripts/install-deps" --bench
fi
for tool in wrk nginx jq curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps --bench)"
done

DURATION=${HTTP_DURATION:-10}
read -r -a WRK_ARGS <<<"${HTTP_WRK_ARGS:--t2 -c64}"
THREADS=${HTTP_THREADS:-8}
POOL_SIZE=${HTTP_POOL_SIZE:-8}
PG_DIR=${HTTP_PG_DIR:-$ROOT/var/pg-bench}
PG_PORT=${HTTP_PG_PORT:-5441}
IDLE_WAIT=${HTTP_IDLE_WAIT:-1}
DIAG=${HTTP_DIAG:-1}
OUT="$BUILD_DIR/bench/results"
mkdir -p "$OUT"
RESULTS="$OUT/http_runs.tsv"
: >"$RESULTS"

# The config must come from the file alone: drop TRONRELAY_* overrides from the environment.
for var in "${!TRONRELAY_@}"; do unset "$var"; done

WORK=$(mktemp -d /tmp/http_bench.XXXXXX)
chmod 755 "$WORK"  # nginx's workers run as another user and must read the static file
DEVNET_PID="" DAEMON_PID="" NGINX_PID="" PG_STARTED=0 PG_CREATED=0
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
  stop_pid "$DAEMON_PID"
  stop_pid "$NGINX_PID"
  stop_pid "$DEVNET_PID"
  if [[ $PG_STARTED == 1 ]]; then
    "$ROOT/scripts/pg" stop "$PG_DIR" >/dev/null 2>&1
    if [[ $PG_CREATED == 1 ]]; then rm -rf "$PG_DIR"; fi
  fi
  # Keep the start of the daemon's logs (the rest is one line per request); the rest goes.
  for n in 1 2; do
    [[ -f "$WORK/tronrelayd.$n.log" ]] && head -n 40 "$WORK/tronrelayd.$n.log" >"$OUT/http_tronrelayd.$n.log"
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# ---- CPU accounting (from /proc, no perf or top needed) ----
# Clock ticks (utime + stime) of the given pids; a pid that is gone counts 0.
ticks_of() {
  local total=0 pid fields
  for pid in "$@"; do
    fields=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + ${fields% *} + ${fields#* }))
  done
  echo "$total"
}
children_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr '\n' ' '; }
# The cluster's server processes: the postmaster and its children (the pooled backends persist).
pg_pids() {
  local master
  master=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
  echo "$master $(children_of "$master")"
}
# busy and total jiffies of the whole machine (busy excludes idle and iowait).
machine_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
HZ=$(getconf CLK_TCK)
NPROC=$(nproc)

# wrk_run NAME URL SERVER_PIDS... [-- WRK_EXTRA...]: runs wrk, keeps its output in
# $OUT/http_wrk_NAME.txt and appends a row to $RESULTS: name rps p50 p99 non2xx socket_errors,
# then CPU during the run in % of one core: server, PostgreSQL, wrk, everything else (the devnet,
# this script and whatever else runs on the machine), the whole machine; then load1.
wrk_run() {
  local name=$1 url=$2
  shift 2
  local pids=() extra=()
  while [[ $# -gt 0 && $1 != -- ]]; do pids+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  extra=("$@")
  log "wrk ${WRK_ARGS[*]} -d${DURATION}s --latency${extra[*]:+ -H 'Authorization: Bearer trk_…'} $url"
  local server0 m0 t0 server1 pg m1 t1 elapsed0 elapsed1 pgp kids pid
  local -A pg0=()
  # Servers may fork (nginx workers): count children too.
  local all_pids=("${pids[@]}")
  for pid in "${pids[@]}"; do read -r -a kids <<<"$(children_of "$pid")"; all_pids+=("${kids[@]}"); done
  read -r -a pgp <<<"$(pg_pids)"
  for pid in "${pgp[@]}"; do pg0[$pid]=$(ticks_of "$pid"); done
  server0=$(ticks_of "${all_pids[@]}")
  times >"$WORK/times.0"  # not in $(…): a subshell has no children of its own yet
  read -r m0 t0 < <(machine_ticks)
  elapsed0=$EPOCHREALTIME
  wrk "${WRK_ARGS[@]}" -d"${DURATION}s" --latency "${extra[@]}" "$url" >"$OUT/http_wrk_$name.txt"
  elapsed1=$EPOCHREALTIME
  read -r m1 t1 < <(machine_ticks)
  times >"$WORK/times.1"
  server1=$(ticks_of "${all_pids[@]}")
  # The pool opens backends on demand: one that appeared during the run counts from 0.
  read -r -a pgp <<<"$(pg_pids)"
  pg=0
  for pid in "${pgp[@]}"; do pg=$((pg + $(ticks_of "$pid") - ${pg0[$pid]:-0})); done
  python3 - "$OUT/http_wrk_$name.txt" "$name" "$((server1 - server0))" "$pg" \
    "$WORK/times.0" "$WORK/times.1" "$((m1 - m0))" "$((t1 - t0))" "$elapsed0" "$elapsed1" "$HZ" \
    "$NPROC" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS" <<'PY'
import re, sys
path, name, server, pg, times0, times1, busy, total, e0, e1, hz, nproc, load1 = sys.argv[1:]
text = open(path).read()
def dur_ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]
def children_s(path):  # second line of bash `times`: user and system time of waited-for children
    return sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", open(path).read().splitlines()[1]))
rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
lat = {p: dur_ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
elapsed = float(e1) - float(e0)
server_pct = 100.0 * float(server) / float(hz) / elapsed
pg_pct = 100.0 * float(pg) / float(hz) / elapsed
wrk_pct = 100.0 * (children_s(times1) - children_s(times0)) / elapsed
machine_pct = 100.0 * int(nproc) * float(busy) / float(total)
other_pct = max(0.0, machine_pct - server_pct - pg_pct - wrk_pct)
print("\t".join(str(x) for x in [
    name, f"{rps:.0f}", f"{lat['50']:.3f}", f"{lat['99']:.3f}",
    non2xx.group(1) if non2xx else 0, sum(map(int, sock.groups())) if sock else 0,
    f"{server_pct:.0f}", f"{pg_pct:.0f}", f"{wrk_pct:.0f}", f"{other_pct:.0f}", f"{machine_pct:.0f}",
    load1]))
PY
  tail -1 "$RESULTS" | awk -F'\t' '{printf "    %s req/s, p50 %s ms, p99 %s ms, non-2xx %s, socket errors %s\n", $2, $3, $4, $5, $6}' >&2
}

# ---- PostgreSQL ----
[[ -d "$PG_DIR/data" ]] || PG_CREATED=1
log "PostgreSQL in $PG_DIR (port $PG_PORT)"
PG_STARTED=1
"$ROOT/scripts/pg" start "$PG_DIR" "$PG_PORT" >/dev/null
DB_URL=$("$ROOT/scripts/pg" createdb "$PG_DIR" bench | tail -1)

# ---- tron-devnet ----
"$DEVNET" --listen 127.0.0.1:0 --genesis "$ROOT/devnet/demo-genesis.json" >"$WORK/devnet.log" 2>&1 &
DEVNET_PID=$!
CHAIN_URL=""
for _ in $(seq 100); do
  CHAIN_URL=$(sed -n 's/^tron-devnet listening on \(http:[^ ]*\)$/\1/p' "$WORK/devnet.log")
  [[ -n $CHAIN_URL ]] && break
  kill -0 "$DEVNET_PID" 2>/dev/null || die "tron-devnet exited: $(cat "$WORK/devnet.log")"
  sleep 0.1
done
[[ -n $CHAIN_URL ]] || die "tron-devnet did not start: $(cat "$WORK/devnet.log")"
log "tron-devnet at $CHAIN_URL (pid $DEVNET_PID)"

# ---- tronrelayd ----
# K2 of shared/tron/vectors.json, as ./run up uses: a public test key.
(umask 077 && echo 1234567890123456789012345678901234567890123456789012345678901234 >"$WORK/relayer.key")
write_config() {
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

[signer]
key_file = "$WORK/relayer.key"

[rate_limit]
requests_per_second = 1000000
burst = 1000000

[log]
level = "$1"
TOML
}
write_config info
CTL_CMD=("$CTL" --config "$WORK/tronrelayd.toml")

# start_daemon N: starts tronrelayd with its log in $WORK/tronrelayd.N.log and sets DAEMON_PID,
# DAEMON_URL, and START_SERVING_MS / START_HEALTH_MS (exec → "serving" line / → first /health 200).
start_daemon() {
  local n=$1 logf="$WORK/tronrelayd.$1.log"
  : >"$logf"
  # The subshell records the time, then becomes tronrelayd: $! is the daemon's pid.
  (echo "$EPOCHREALTIME" >"$WORK/exec.$n" && exec "$DAEMON" --config "$WORK/tronrelayd.toml" >"$logf" 2>&1) &
  DAEMON_PID=$!
  local listen="" health_at=""
  for _ in $(seq 1000); do
    if [[ -z $listen ]]; then
      listen=$(grep -m1 '"msg":"serving"' "$logf" | jq -r .listen 2>/dev/null || true)
    fi
    if [[ -n $listen ]] && curl -sf -o /dev/null "http://$listen/health"; then
      health_at=$EPOCHREALTIME
      break
    fi
    kill -0 "$DAEMON_PID" 2>/dev/null || die "tronrelayd exited: $(cat "$logf")"
    sleep 0.005
  done
  [[ -n $health_at ]] || die "tronrelayd did not become healthy: $(tail -20 "$logf")"
  DAEMON_URL="http://$listen"
  local serving_ts
  serving_ts=$(grep -m1 '"msg":"serving"' "$logf" | jq -r .ts)
  read -r START_SERVING_MS START_HEALTH_MS < <(python3 - "$(cat "$WORK/exec.$n")" "$serving_ts" "$health_at" <<'PY'
import sys
from datetime import datetime
exec_at, serving_ts, health_at = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
serving = datetime.fromisoformat(serving_ts.replace("Z", "+00:00")).timestamp()
print(f"{(serving - exec_at) * 1e3:.0f} {(health_at - exec_at) * 1e3:.0f}")
PY
  )
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

log "tronrelayd, first start on an empty database (applies the migrations)"
start_daemon 1
COLD_SERVING=$START_SERVING_MS COLD_HEALTH=$START_HEALTH_MS
sleep "$IDLE_WAIT"
COLD_RSS=$(rss_kb "$DAEMON_PID")
log "    serving after $COLD_SERVING ms, /health 200 after $COLD_HEALTH ms, idle RSS $COLD_RSS kB"
stop_pid "$DAEMON_PID"
DAEMON_PID=""

log "tronrelayd, restart (schema current): the instance under load"
start_daemon 2
WARM_SERVING=$START_SERVING_MS WARM_HEALTH=$START_HEALTH_MS
sleep "$IDLE_WAIT"
WARM_RSS=$(rss_kb "$DAEMON_PID")
log "    $DAEMON_URL (pid $DAEMON_PID): serving after $WARM_SERVING ms, /health 200 after $WARM_HEALTH ms, idle RSS $WARM_RSS kB"

# ---- tenant and admin key ----
TENANT_ID=$("${CTL_CMD[@]}" tenant create bench | jq -r .id)
"${CTL_CMD[@]}" tenant credit "$TENANT_ID" 1000000000 >/dev/null
SECRET=$("${CTL_CMD[@]}" keys create --tenant "$TENANT_ID" --scopes admin 2>/dev/null | jq -r .secret)
[[ $SECRET == trk_* ]] || die "tronrelayctl keys create gave no secret"
ACCOUNT=$(curl -sf -H "Authorization: Bearer $SECRET" "$DAEMON_URL/v1/account") ||
  die "GET /v1/account with the new key failed"
log "tenant $TENANT_ID: $ACCOUNT"

# ---- nginx serving /health's exact body ----
mkdir -p "$WORK/nginx/www" "$WORK/nginx/logs"
curl -sf -D "$WORK/health.headers" -o "$WORK/nginx/www/health" "$DAEMON_URL/health" ||
  die "GET /health is not 200"
HEALTH_TYPE=$(awk -F': ' 'tolower($1) == "content-type" {sub(/\r$/, "", $2); print $2}' "$WORK/health.headers")
HEALTH_BYTES=$(wc -c <"$WORK/nginx/www/health")
start_static_nginx "$WORK/nginx" health "$HEALTH_TYPE"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/health"
for _ in $(seq 50); do curl -sf -o /dev/null "$NGINX_URL" && break; sleep 0.1; done
curl -sf -D "$WORK/nginx.headers" -o "$WORK/nginx.body" "$NGINX_URL" || die "nginx did not start: $(cat "$WORK/nginx/logs/error.log")"
cmp -s "$WORK/nginx.body" "$WORK/nginx/www/health" || die "nginx does not serve /health's bytes"
grep -qi "^content-type: $HEALTH_TYPE" "$WORK/nginx.headers" || die "nginx's Content-Type differs"
log "nginx at $NGINX_URL: the same $HEALTH_BYTES bytes, Content-Type $HEALTH_TYPE"
cp "$WORK/health.headers" "$OUT/http_headers_tronrelayd.txt"
cp "$WORK/nginx.headers" "$OUT/http_headers_nginx.txt"

# ---- load ----
wrk_run nginx "$NGINX_URL" "$NGINX_PID"
wrk_run health "$DAEMON_URL/health" "$DAEMON_PID"
wrk_run account "$DAEMON_URL/v1/account" "$DAEMON_PID" -- -H "Authorization: Bearer $SECRET"
LOADED_RSS=$(rss_kb "$DAEMON_PID")
if [[ $DIAG == 1 ]]; then
  # A path no route matches: tronrelayd's HTTP stack, router, error reply and log line, no database.
  log "diagnostic: GET /no-route (404 without touching PostgreSQL)"
  wrk_run noroute "$DAEMON_URL/no-route" "$DAEMON_PID"
  log "diagnostic: log level warn (SIGHUP): the same runs without the per-request log line"
  write_config warn
  kill -HUP "$DAEMON_PID"
  for _ in $(seq 50); do grep -q '"msg":"configuration reloaded"' "$WORK/tronrelayd.2.log" && break; sleep 0.1; done
  wrk_run health_warn "$DAEMON_URL/health" "$DAEMON_PID"
  wrk_run account_warn "$DAEMON_URL/v1/account" "$DAEMON_PID" -- -H "Authorization: Bearer $SECRET"
  wrk_run noroute_warn "$DAEMON_URL/no-route" "$DAEMON_PID"
fi

# ---- summary ----
python3 - "$RESULTS" "$OUT/http.json" <<PY
import csv, json, sys
rows = {r[0]: r for r in csv.reader(open(sys.argv[1]), delimiter="\t")}
def f(name, i): return float(rows[name][i])
out = {"wrk": "${WRK_ARGS[*]} -d${DURATION}s", "threads": $THREADS, "pool_size": $POOL_SIZE,
       "health_body_bytes": $HEALTH_BYTES, "runs": {}}
lines = []
def add(a, b="", c=""): lines.append((a, b, c))
print(f"wrk ${WRK_ARGS[*]} -d${DURATION}s --latency; tronrelayd threads=$THREADS, pool_size=$POOL_SIZE; "
      f"nginx 2 workers; $(nproc) cores shared by all; /health body $HEALTH_BYTES bytes")
hdr = ("run", "req/s", "p50 ms", "p99 ms", "non-2xx", "sock err", "server", "PG", "wrk", "other", "machine", "load1")
table = [hdr]
for name, label in [("nginx", "nginx static /health bytes"), ("health", "tronrelayd GET /health"),
                    ("account", "tronrelayd GET /v1/account"),
                    ("noroute", "  diag: GET /no-route (404, no DB)"),
                    ("health_warn", "  diag: /health, log level warn"),
                    ("account_warn", "  diag: /v1/account, log level warn"),
                    ("noroute_warn", "  diag: /no-route, log level warn")]:
    if name not in rows: continue
    r = rows[name]
    table.append((label,) + tuple(f"{int(r[1]):,}" if i == 1 else r[i] for i in range(1, 12)))
    out["runs"][name] = dict(zip(["rps", "p50_ms", "p99_ms", "non2xx", "socket_errors", "server_cpu_pct",
                                  "pg_cpu_pct", "wrk_cpu_pct", "other_cpu_pct", "machine_cpu_pct", "load1"],
                                 [float(x) for x in r[1:]]))
widths = [max(len(str(row[i])) for row in table) for i in range(len(hdr))]
print("CPU columns: % of one core while wrk ran (machine = all cores busy, max $(nproc)00; other = "
      "machine - server - PG - wrk: the devnet, this script and any other work on the machine)")
for row in table:
    print("  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(row)))
print()
ratio = f("health", 1) / f("nginx", 1)
p99 = f("account", 3)
errors = sum(int(rows[n][4]) + int(rows[n][5]) for n in ("nginx", "health", "account"))
cold_s, warm_s = $COLD_SERVING, $WARM_SERVING
cold_h, warm_h = $COLD_HEALTH, $WARM_HEALTH
rss_cold, rss_warm, rss_loaded = $COLD_RSS / 1024, $WARM_RSS / 1024, $LOADED_RSS / 1024
def verdict(ok): return "met" if ok else "MISSED"
checks = [
    ("/health ÷ nginx requests/s", f"{ratio:.2f}×", "≥ 0.5×", ratio >= 0.5),
    ("/v1/account p99 at 64 connections", f"{p99:.2f} ms", "< 10 ms", p99 < 10),
    ("idle RSS after start (restart / first start)", f"{rss_warm:.1f} / {rss_cold:.1f} MB", "< 50 MB",
     max(rss_warm, rss_cold) < 50),
    ("start → serving line (restart / first start)", f"{warm_s:.0f} / {cold_s:.0f} ms", "< 1 s",
     max(warm_s, cold_s) < 1000),
    ("start → first /health 200 (restart / first start)", f"{warm_h:.0f} / {cold_h:.0f} ms", "< 1 s",
     max(warm_h, cold_h) < 1000),
]
w = max(len(c[0]) for c in checks)
for name, value, target, ok in checks:
    print(f"{name.ljust(w)}  {value:>17}  target {target:<8} {verdict(ok)}")
print(f"{'RSS after the load'.ljust(w)}  {rss_loaded:>14.1f} MB")
if "health_warn" in rows:
    print(f"{'/health ÷ nginx at log level warn'.ljust(w)}  {f('health_warn', 1) / f('nginx', 1):>16.2f}×")
if errors:
    print(f"WARNING: {errors} non-2xx replies or socket errors in the measured runs")
out.update({"health_over_nginx": ratio, "account_p99_ms": p99,
            "start_serving_ms": {"first": cold_s, "restart": warm_s},
            "start_health_ms": {"first": cold_h, "restart": warm_h},
            "idle_rss_mb": {"first": rss_cold, "restart": rss_warm}, "loaded_rss_mb": rss_loaded,
            "targets_met": {c[0]: c[3] for c in checks}})
json.dump(out, open(sys.argv[2], "w"), indent=2)
PY
echo "(raw results in $OUT: http.json, http_runs.tsv, http_wrk_*.txt, http_tronrelayd.*.log)" >&2
