#!/usr/bin/env bash
# Self-check of the tronweb oracle against vectors.json V1..V6 plus pinned edge cases.
# Usage: tests/oracle/check_vectors.sh [CACHE_DIR] [VECTORS_JSON]
#   CACHE_DIR    npm prefix for tronweb (default <repo>/var/oracle; installed if missing)
#   VECTORS_JSON default /work/shared/tron/vectors.json
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
DIR="${1:-${REPO_ROOT}/var/oracle}"
VECTORS="${2:-/work/shared/tron/vectors.json}"
"${SCRIPT_DIR}/install.sh" "${DIR}"
exec node "${SCRIPT_DIR}/check_vectors.js" --modules "${DIR}" --vectors "${VECTORS}"
