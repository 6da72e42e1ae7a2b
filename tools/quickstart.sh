#!/usr/bin/env bash
# Quick start (a): set up, make the offline digits set, train RLA-ResNet-18 on it for
# 4 epochs on CPU, then evaluate the checkpoint and print top-1. Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash tools/setup_env.sh
PY=${MMRLA_VENV:-$ROOT/.venv}/bin/python
CONFIG=configs/rla/rla-resnet18_1xb32_digits.py
WORK=work_dirs/quickstart_digits

"$PY" tools/dataset_converters/digits2folder.py data/digits
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK"
"$PY" tools/test.py "$CONFIG" "$WORK/epoch_4.pth" --work-dir "$WORK"
