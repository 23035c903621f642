#!/usr/bin/env bash
# Real-client end-to-end test: TronWeb 6.5.1 drives a fresh tron-devnet as a wallet would.
# Usage: tests/devnet/run_tronweb_scenario.sh BINARY ORACLE_DIR
#   BINARY      path to tron-devnet (e.g. build/devnet/tron-devnet)
#   ORACLE_DIR  npm prefix holding node_modules/tronweb (installed there if missing)
# Exits with the scenario's status; the devnet is always stopped on exit.
# TRONWEB_SCENARIO_TRACE=1 logs every request TronWeb makes and the answer to stderr.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
BINARY="${1:?usage: $0 BINARY ORACLE_DIR}"
ORACLE_DIR="${2:?usage: $0 BINARY ORACLE_DIR}"

[[ -x "${BINARY}" ]] || { echo "run_tronweb_scenario: ${BINARY} is not executable" >&2; exit 2; }
command -v node >/dev/null 2>&1 || { echo "run_tronweb_scenario: node not found in PATH" >&2; exit 2; }
"${REPO_ROOT}/tests/oracle/install.sh" "${ORACLE_DIR}"

WORK="$(mktemp -d)"
DEVNET_PID=""
NODE_PID=""
cleanup() {
    if [[ -n "${NODE_PID}" ]] && kill -0 "${NODE_PID}" 2>/dev/null; then
        kill "${NODE_PID}" 2>/dev/null || true
        wait "${NODE_PID}" 2>/dev/null || true
    fi
    if [[ -n "${DEVNET_PID}" ]] && kill -0 "${DEVNET_PID}" 2>/dev/null; then
        kill "${DEVNET_PID}" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "${DEVNET_PID}" 2>/dev/null || break; sleep 0.1; done
        kill -9 "${DEVNET_PID}" 2>/dev/null || true
        wait "${DEVNET_PID}" 2>/dev/null || true
    fi
    rm -rf "${WORK}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${BINARY}" --listen 127.0.0.1:0 --block-interval-ms 100 --solidity-depth 2 \
    --genesis "${SCRIPT_DIR}/scenario_genesis.json" >"${WORK}/devnet.out" 2>"${WORK}/devnet.err" &
DEVNET_PID=$!

PORT=""
for _ in $(seq 300); do  # up to 30 s
    PORT="$(sed -n 's#^tron-devnet listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' "${WORK}/devnet.out" | head -n1)"
    [[ -n "${PORT}" ]] && break
    if ! kill -0 "${DEVNET_PID}" 2>/dev/null; then
        echo "run_tronweb_scenario: tron-devnet exited before listening:" >&2
        cat "${WORK}/devnet.err" >&2
        exit 2
    fi
    sleep 0.1
done
if [[ -z "${PORT}" ]]; then
    echo "run_tronweb_scenario: tron-devnet did not print its port within 10 s" >&2
    cat "${WORK}/devnet.err" >&2
    exit 2
fi

# In the background and waited for, so a TERM (e.g. a ctest timeout) runs the trap at once.
node "${SCRIPT_DIR}/tronweb_scenario.js" --modules "${ORACLE_DIR}" --url "http://127.0.0.1:${PORT}" \
    ${TRONWEB_SCENARIO_TRACE:+--trace} &
NODE_PID=$!
status=0
wait "${NODE_PID}" || status=$?
NODE_PID=""
if [[ ${status} -ne 0 && -s "${WORK}/devnet.err" ]]; then
    echo "--- tron-devnet stderr ---" >&2
    cat "${WORK}/devnet.err" >&2
fi
exit "${status}"
