#!/usr/bin/env bash
# Quick start (b): set up, make the offline data, then run the whole test suite (extra args go to pytest).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
bash tools/fetch_data.sh
exec "${MMRLA_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
