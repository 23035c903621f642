#!/usr/bin/env bash
# tronrelayctl reconcile end to end, as an operator runs it: tronrelayd on a fresh database and a
# tron-devnet with the demo genesis (100 ms blocks); the demo own pool; a lease made through the
# API (its delegation is explained) and an orphan delegated by hand from the pool account (signed
# with the pool's key, outside tronrelay). A dry run reports the orphan and exits 1; a run takes
# back exactly the orphan (the lease's delegation stays on chain) and exits 0; a third finds
# nothing. Bad arguments exit 2.
# Usage: reconcile_pg_test.sh TRONRELAYD TRON_DEVNET TRONRELAYCTL DEMO_ACCOUNTS_DIR
#   (needs TRONRELAY_TEST_DATABASE_URL naming a role that may CREATE DATABASE)
set -euo pipefail
daemon=$1
devnet=$2
ctl=$3
demo_dir=$4
: "${TRONRELAY_TEST_DATABASE_URL:?set by ./run test}"
work=$(mktemp -d)
pids=()
db_name="reconcile_$$_$RANDOM"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$TRONRELAY_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db_name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f "$work/daemon.log" ]] && tail -20 "$work/daemon.log" >&2
  exit 1
}
account() { sed -n "/\"$1\": {/,/}/s/.*\"$2\": \"\\([^\"]*\\)\".*/\\1/p" "$demo_dir/demo-accounts.json"; }
json_int() { sed -n "s/.*\"$1\":\\([0-9-]*\\).*/\\1/p"; }

psql -q "$TRONRELAY_TEST_DATABASE_URL" -c "CREATE DATABASE $db_name" >/dev/null
db_url="${TRONRELAY_TEST_DATABASE_URL%/*}/$db_name"

"$devnet" --listen 127.0.0.1:0 --block-interval-ms 100 --genesis "$demo_dir/demo-genesis.json" \
  > "$work/devnet.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/devnet.out" && break; sleep 0.05; done
chain=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/devnet.out")
[[ -n "$chain" ]] || fail "devnet did not start"

pool=$(account pool address)
receiver_leased=$(account customer address)
receiver_orphan=$(account wallet address)
(umask 077 && account relayer private_key > "$work/relayer.key" && account pool private_key > "$work/pool.key")
cat > "$work/relay.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[database]
url = "$db_url"
[chain]
endpoints = ["$chain"]
requests_per_second = 200
block_interval_ms = 100
[signer]
key_file = "$work/relayer.key"
[pools]
owner_key_files = ["$work/pool.key"]
[pricing]
min_duration_s = 30
TOML
ctl_run() { "$ctl" --config "$work/relay.toml" "$@"; }
ctl_run migrate > /dev/null
tenant=$(ctl_run tenant create reconcile | json_int id)
ctl_run tenant credit "$tenant" 1000000000 > /dev/null
secret=$(ctl_run keys create --tenant "$tenant" --scopes quote,lease,pools 2>/dev/null |
  sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
[[ -n "$secret" ]] || fail "no API key"

"$daemon" --config "$work/relay.toml" > "$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q '"msg":"serving"' "$work/daemon.log" && break; sleep 0.05; done
port=$(sed -n 's/.*"msg":"serving","listen":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/daemon.log")
[[ -n "$port" ]] || fail "tronrelayd did not start"
api="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $secret" -H 'Content-Type: application/json')

curl -fsS "${auth[@]}" "$api/v1/pools" -d "{\"address\":\"$pool\",\"kind\":\"own\",\"name\":\"p\"}" |
  grep -q '"status":"active"' || fail "own pool not active"
lease=$(curl -sS "${auth[@]}" "$api/v1/leases" \
  -d "{\"receiver\":\"$receiver_leased\",\"energy\":65000,\"duration_s\":3600,\"max_cost_sun\":100000000}")
echo "$lease" | grep -q '"status":"active"' || fail "lease not active: $lease"
leased_stake=$(echo "$lease" | json_int stake_sun)
curl -fsS "$api/metrics" > "$work/metrics.txt"
grep -q '^tronrelay_leases{state="active"} 1$' "$work/metrics.txt" || fail "metrics: no active lease"
grep -q '^# TYPE tronrelay_reclaim_lag_seconds histogram$' "$work/metrics.txt" ||
  fail "metrics: no reclaim lag histogram"
grep -q '^tronrelay_pool_leased{[a-z="0-9,]*measure="energy"[a-z="0-9,]*} 65000$' "$work/metrics.txt" ||
  fail "metrics: the pool's leased energy: $(grep pool_leased "$work/metrics.txt")"
grep -q '^tronrelay_holds_open{measure="count"} 0$' "$work/metrics.txt" ||
  fail "metrics: open holds: $(grep holds_open "$work/metrics.txt")"

# The orphan: 5,000 TRX of energy delegated from the pool by its owner, outside tronrelay.
unsigned=$(curl -fsS "$chain/wallet/delegateresource" -d "{\"owner_address\":\"$pool\",\
\"receiver_address\":\"$receiver_orphan\",\"balance\":5000000000,\"resource\":\"ENERGY\",\"visible\":true}")
raw=$(echo "$unsigned" | sed -n 's/.*"raw_data_hex":"\([0-9a-f]*\)".*/\1/p')
[[ -n "$raw" ]] || fail "devnet built no delegation: $unsigned"
signed=$("$ctl" tx sign --key-file "$work/pool.key" "$raw" | sed -n 's/.*"signed_hex":"\([0-9a-f]*\)".*/\1/p')
curl -fsS "$chain/wallet/broadcasthex" -d "{\"transaction\":\"$signed\"}" | grep -q '"result":true' ||
  fail "hand delegation refused"
delegated() {  # energy stake from the pool to $1 on chain
  curl -fsS "$chain/wallet/getdelegatedresourcev2" \
    -d "{\"fromAddress\":\"$pool\",\"toAddress\":\"$1\",\"visible\":true}" |
    grep -o '"frozen_balance_for_energy":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { printf "%.0f\n", s }'
}
for _ in $(seq 100); do [[ "$(delegated "$receiver_orphan")" == 5000000000 ]] && break; sleep 0.05; done
[[ "$(delegated "$receiver_orphan")" == 5000000000 ]] || fail "the hand delegation is not on chain"

# 1. Bad arguments: exit 2.
set +e
ctl_run reconcile --pool nope > /dev/null 2>&1
[[ $? -eq 2 ]] || fail "--pool nope did not exit 2"
ctl_run reconcile --pool 999 > /dev/null 2>&1
[[ $? -eq 2 ]] || fail "an unknown pool did not exit 2"

# 2. A dry run: the orphan, exactly; nothing taken; exit 1 (not clean).
ctl_run reconcile --dry-run > "$work/dry.out"
code=$?
set -e
[[ $code -eq 1 ]] || fail "dry run exited $code: $(cat "$work/dry.out")"
grep -q "\"receiver\":\"$receiver_orphan\",\"on_chain_sun\":5000000000,\"explained_sun\":0,\"orphaned_sun\":5000000000,\"reclaimable_sun\":5000000000,\"action\":\"dry_run\"" \
  "$work/dry.out" || fail "dry run said $(cat "$work/dry.out")"
grep -q "\"receiver\":\"$receiver_leased\"" "$work/dry.out" && fail "the lease's delegation was called an orphan"
[[ "$(delegated "$receiver_orphan")" == 5000000000 ]] || fail "the dry run took something"
echo "PASS dry run reports the orphan"

# 3. The real run: the orphan taken back, the lease's stake untouched; exit 0.
ctl_run reconcile > "$work/run.out" || fail "reconcile exited $?: $(cat "$work/run.out")"
grep -q '"clean":true' "$work/run.out" || fail "reconcile said $(cat "$work/run.out")"
grep -q '"action":"reclaimed","chain_tx_id":[0-9]*,"txid":"[0-9a-f]\{64\}"' "$work/run.out" ||
  fail "reconcile said $(cat "$work/run.out")"
[[ "$(delegated "$receiver_orphan")" == 0 ]] || fail "the orphan is still delegated"
[[ "$(delegated "$receiver_leased")" == "$leased_stake" ]] || fail "the lease's delegation changed"
echo "PASS reconcile took back exactly the orphan"

# 4. Again: nothing to do.
ctl_run reconcile > "$work/again.out" || fail "second reconcile exited $?"
grep -q '"orphans":\[\]' "$work/again.out" || fail "second reconcile said $(cat "$work/again.out")"
echo "PASS a second run finds nothing"
echo "3 passed, 0 failed"
