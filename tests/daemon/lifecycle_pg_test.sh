#!/usr/bin/env bash
# tronrelayd's life as an operator sees it: a bad config fails with the key named; a good one
# starts against PostgreSQL and tron-devnet and serves; SIGTERM under load drains — every request
# the server accepted gets its complete answer — and the process exits 0.
# Then the cron path: tronrelayctl reclaim --due against the same database and chain.
# Usage: lifecycle_pg_test.sh TRONRELAYD TRON_DEVNET TRONRELAYCTL   (needs TRONRELAY_TEST_DATABASE_URL)
set -euo pipefail
daemon=$1
devnet=$2
ctl=$3
: "${TRONRELAY_TEST_DATABASE_URL:?set by ./run test}"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Bad configuration: exit 2, one message naming the key.
printf '[server]\nthreads = "many"\n' > "$work/bad.toml"
set +e
"$daemon" --config "$work/bad.toml" > "$work/bad.out" 2> "$work/bad.err"
code=$?
set -e
[[ $code -eq 2 ]] || fail "bad config exited $code, expected 2"
grep -q "server.threads: must be an integer" "$work/bad.err" || fail "bad config message: $(cat "$work/bad.err")"
echo "PASS bad config refused: $(cat "$work/bad.err")"

# An unreachable database: exit 1 naming the stage.
cat > "$work/nodb.toml" <<TOML
[database]
url = "postgresql://tronrelay@127.0.0.1:1/none"
[chain]
endpoints = ["http://127.0.0.1:1"]
TOML
set +e
"$daemon" --config "$work/nodb.toml" > /dev/null 2> "$work/nodb.err"
code=$?
set -e
[[ $code -eq 1 ]] || fail "unreachable database exited $code, expected 1"
grep -q "database" "$work/nodb.err" || fail "unreachable database message: $(cat "$work/nodb.err")"
echo "PASS unreachable database refused"

# 2. A real start.
"$devnet" --listen 127.0.0.1:0 --block-interval-ms 0 > "$work/devnet.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/devnet.out" && break; sleep 0.05; done
devnet_url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/devnet.out")
[[ -n "$devnet_url" ]] || fail "devnet did not start"
cat > "$work/good.toml" <<TOML
[server]
listen = "127.0.0.1:0"
threads = 4
[database]
url = "$TRONRELAY_TEST_DATABASE_URL"
[chain]
endpoints = ["$devnet_url"]
TOML
"$daemon" --config "$work/good.toml" > "$work/daemon.out" 2>&1 &
daemon_pid=$!
pids+=($daemon_pid)
for _ in $(seq 200); do grep -q '"msg":"serving"' "$work/daemon.out" && break; sleep 0.05; done
port=$(sed -n 's/.*"msg":"serving","listen":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/daemon.out")
[[ -n "$port" ]] || fail "daemon did not start: $(tail -5 "$work/daemon.out")"
api="http://127.0.0.1:$port"
curl -fsS "$api/health" | grep -q '"status":"ok"' || fail "/health not ok"
echo "PASS started and healthy on $api"

# 3. SIGHUP reloads the log level and rate limits without a restart.
cat >> "$work/good.toml" <<TOML
[rate_limit]
requests_per_second = 5
burst = 7
TOML
kill -HUP "$daemon_pid"
for _ in $(seq 100); do grep -q '"msg":"configuration reloaded"' "$work/daemon.out" && break; sleep 0.05; done
grep -q '"msg":"configuration reloaded"' "$work/daemon.out" || fail "SIGHUP did not reload"
kill -0 "$daemon_pid" || fail "daemon died on SIGHUP"
curl -fsS "$api/health" > /dev/null || fail "not serving after SIGHUP"
echo "PASS SIGHUP reloaded the configuration"

# 4. SIGTERM under load: 8 clients × 100 requests; stop midway.
clients=()
for client in $(seq 8); do
  (
    for i in $(seq 100); do
      body=$(curl -sS -o - -w ' %{http_code}' "$api/health" 2>/dev/null) || { echo refused; continue; }
      echo "$body"
    done > "$work/client.$client"
  ) &
  clients+=($!)
done
sleep 0.3
kill -TERM "$daemon_pid"
set +e
wait "$daemon_pid"
code=$?
set -e
wait "${clients[@]}"
[[ $code -eq 0 ]] || fail "daemon exited $code after SIGTERM"
grep -q '"msg":"stopped","drained":true' "$work/daemon.out" || fail "no clean drain: $(tail -3 "$work/daemon.out")"
answered=$(cat "$work"/client.* | grep -c ' 200$' || true)
broken=$(cat "$work"/client.* | grep -v ' 200$' | grep -vc '^refused$' || true)
[[ $answered -gt 0 ]] || fail "no request was answered before the stop"
[[ $broken -eq 0 ]] || fail "$broken accepted requests got no complete answer"
echo "PASS SIGTERM drained: $answered answered, the rest refused before being accepted, none cut off"

# 5. The cron path with the relayer key: a dry run lists nothing due, a run claims nothing and exits
#    0; without a key it refuses with exit 2.
set +e
"$ctl" --config "$work/good.toml" reclaim --due > "$work/ctl.out" 2> "$work/ctl.err"
code=$?
set -e
[[ $code -eq 2 ]] || fail "reclaim without a relayer key exited $code"
(umask 077 && echo 1234567890123456789012345678901234567890123456789012345678901234 > "$work/relayer.key")
printf '[signer]\nkey_file = "%s"\n' "$work/relayer.key" >> "$work/good.toml"
"$ctl" --config "$work/good.toml" reclaim --due --dry-run > "$work/ctl.out" || fail "dry run failed"
grep -q '"dry_run":true,"due":\[\]' "$work/ctl.out" || fail "dry run said $(cat "$work/ctl.out")"
"$ctl" --config "$work/good.toml" reclaim --due --limit 50 > "$work/ctl.out" || fail "reclaim failed"
grep -q '"claimed":0' "$work/ctl.out" || fail "reclaim said $(cat "$work/ctl.out")"
echo "PASS tronrelayctl reclaim --due"
echo "6 passed, 0 failed"
