#!/usr/bin/env bash
# Quick start (b): set up, make the offline data, then run the whole test suite (extra args go to pytest).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
bash tools/fetch_data.sh
# One pytest-xdist worker per core, at most 4 (each holds torch and mmdet): most of the
# suite's time is single-threaded (imports of the runs it starts, small tensors), so
# 2 workers on 2 cores take about half the time of one (10 min against 20 on the AMD
# CI machine). `-n 0` runs it in one process.
exec "${MMRLA_VENV:-$ROOT/.venv}/bin/python" -m pytest tests -n auto --maxprocesses 4 "$@"
