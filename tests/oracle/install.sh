#!/usr/bin/env bash
# Installs the pinned tronweb oracle dependency into a cache directory.
# Usage: tests/oracle/install.sh [CACHE_DIR]    (default: <repo>/var/oracle)
# Idempotent: does nothing (and prints nothing) when CACHE_DIR/node_modules/tronweb
# already loads and reports the pinned version. Exits non-zero with a message on failure.
set -euo pipefail

TRONWEB_VERSION="6.5.1"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
DIR="${1:-${REPO_ROOT}/var/oracle}"

die() { echo "tronweb oracle install: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node not found in PATH"
command -v npm >/dev/null 2>&1 || die "npm not found in PATH"

mkdir -p "${DIR}" || die "cannot create ${DIR}"
DIR="$(cd "${DIR}" && pwd)"

# Version as reported by the loaded module (package.json is not in tronweb's "exports").
installed_version() {
    TRONWEB_DIR="${DIR}/node_modules/tronweb" node -e '
        try { console.log(require(process.env.TRONWEB_DIR).TronWeb.version); }
        catch (e) { process.exit(1); }' 2>/dev/null || true
}

if [[ -d "${DIR}/node_modules/tronweb" && "$(installed_version)" == "${TRONWEB_VERSION}" ]]; then
    exit 0
fi

# Serialise concurrent installs (e.g. parallel test runs) when flock(1) is available.
if command -v flock >/dev/null 2>&1; then
    exec 9>"${DIR}/.install.lock"
    flock 9 || die "cannot lock ${DIR}/.install.lock"
    if [[ -d "${DIR}/node_modules/tronweb" && "$(installed_version)" == "${TRONWEB_VERSION}" ]]; then
        exit 0
    fi
fi

# Wrong or broken copy: remove it so npm cannot treat it as already satisfied.
if [[ -e "${DIR}/node_modules/tronweb" ]]; then
    rm -rf "${DIR}/node_modules/tronweb" || die "cannot remove stale ${DIR}/node_modules/tronweb"
fi

log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
if ! npm install --prefix "${DIR}" --no-audit --no-fund "tronweb@${TRONWEB_VERSION}" >"${log}" 2>&1; then
    cat "${log}" >&2
    die "npm install tronweb@${TRONWEB_VERSION} into ${DIR} failed"
fi

got="$(installed_version)"
[[ "${got}" == "${TRONWEB_VERSION}" ]] \
    || die "after install, ${DIR}/node_modules/tronweb reports version '${got}', expected ${TRONWEB_VERSION}"
echo "tronweb oracle install: installed tronweb@${TRONWEB_VERSION} into ${DIR}" >&2
