#!/usr/bin/env bash
# Quick start (a): set up, make the offline data, then run the main job on CPU:
#   detection (default): Faster R-CNN with RLA-ResNet-50 on deepforest's tree crowns,
#     6 epochs from scratch, COCO bbox evaluation, loss-curve plot;
#   classification: RLA-ResNet-18 on scikit-learn's digits, 4 epochs, top-1.
# Idempotent: re-running retrains into the same work_dir.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOB=${1:-detection}
bash tools/setup_env.sh
PY=${MMRLA_VENV:-$ROOT/.venv}/bin/python

case "$JOB" in
  detection)
    bash tools/fetch_data.sh
    CONFIG=configs/rla/faster-rcnn_rla-r50_6e_deepforest.py
    WORK=work_dirs/quickstart_deepforest
    CKPT=$WORK/epoch_6.pth ;;
  classification)
    "$PY" tools/dataset_converters/digits2folder.py data/digits
    CONFIG=configs/rla/rla-resnet18_1xb32_digits.py
    WORK=work_dirs/quickstart_digits
    CKPT=$WORK/epoch_4.pth ;;
  *)
    echo "usage: bash tools/quickstart.sh [detection|classification]" >&2
    exit 2 ;;
esac

"$PY" tools/train.py "$CONFIG" --work-dir "$WORK"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK"
"$PY" tools/analysis/plot_loss.py "$WORK"
