#!/usr/bin/env bash
# Quick start (a): set up, make the offline data, then run the main job on CPU:
#   detection (default): Faster R-CNN with RLA-ResNet-18 on deepforest's tree crowns,
#     from scratch (configs/rla/faster-rcnn_rla-r18_100e_deepforest.py), COCO bbox
#     evaluation on the tiles of source images it never trained on; writes the loss
#     curve and a held-out tile with its true (left) and predicted (right) boxes to
#     WORK_DIR, and ends with one line: `held-out AP50 X, mAP Y, N min`;
#   classification: RLA-ResNet-18 on scikit-learn's digits, 4 epochs, top-1.
#
# Usage: bash tools/quickstart.sh [detection|classification] [KEY=VALUE ...]
#   KEY=VALUE: config options for both tools/train.py and tools/test.py (a smoke run,
#   e.g. train_cfg.max_epochs=1). MMRLA_WORK_DIR: the work_dir (default
#   work_dirs/quickstart_<data>). MMRLA_NO_SETUP=1: skip tools/setup_env.sh (the
#   virtualenv is known to be ready, as in the tests). Idempotent: re-running retrains
#   into the same work_dir.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOB=${1:-detection}
shift || true
OPTIONS=()
[ $# -gt 0 ] && OPTIONS=(--cfg-options "$@")
[ "${MMRLA_NO_SETUP:-0}" = 1 ] || bash tools/setup_env.sh
PY=${MMRLA_VENV:-$ROOT/.venv}/bin/python

case "$JOB" in
  detection)
    # the quick start needs only deepforest's tiles: made once (a .complete marker)
    [ -f data/deepforest/.complete ] || bash tools/fetch_data.sh
    CONFIG=configs/rla/faster-rcnn_rla-r18_100e_deepforest.py
    WORK=${MMRLA_WORK_DIR:-work_dirs/quickstart_deepforest} ;;
  classification)
    "$PY" tools/dataset_converters/digits2folder.py data/digits
    CONFIG=configs/rla/rla-resnet18_1xb32_digits.py
    WORK=${MMRLA_WORK_DIR:-work_dirs/quickstart_digits} ;;
  *)
    echo "usage: bash tools/quickstart.sh [detection|classification] [KEY=VALUE ...]" >&2
    exit 2 ;;
esac

START=$SECONDS
rm -f "$WORK/last_checkpoint"  # a stale one would be tested if training failed
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" "${OPTIONS[@]}"
CKPT=$(cat "$WORK/last_checkpoint")
if [ "$JOB" = classification ]; then
  "$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" "${OPTIONS[@]}"
  "$PY" tools/analysis/plot_loss.py "$WORK"
  exit 0
fi

WORK_ABS=$(cd "$WORK" && pwd)
rm -rf "$WORK_ABS/heldout"
# an absolute --show-dir is used as given: every held-out tile, true | predicted boxes
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" \
  --show-dir "$WORK_ABS/heldout" "${OPTIONS[@]}"
"$PY" tools/analysis/plot_loss.py "$WORK" \
  --keys loss loss_rpn_cls loss_rpn_bbox loss_cls loss_bbox
# the tile with the most true boxes, beside the loss curve; then the one-line summary
"$PY" - "$WORK" "$CONFIG" "$(( SECONDS - START ))" <<'EOF'
import glob
import json
import os.path as osp
import shutil
import sys

from mmengine.config import Config

work, config, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
logs = sorted(glob.glob(osp.join(work, '2*', '2*.json')), key=osp.getmtime)
metrics = None
for log in reversed(logs):  # the newest json log with test metrics
    with open(log) as f:
        records = [json.loads(line) for line in f if line.strip()]
    metrics = next((r for r in records if 'coco/bbox_mAP_50' in r), None)
    if metrics:
        break
if metrics is None:
    sys.exit(f'error: no coco/bbox_mAP_50 in the json logs under {work}')
cfg = Config.fromfile(config)
ann = cfg.test_evaluator.ann_file
with open(ann) as f:
    coco = json.load(f)
boxes = {}
for a in coco['annotations']:
    boxes[a['image_id']] = boxes.get(a['image_id'], 0) + 1
shown = {osp.basename(p) for p in glob.glob(osp.join(work, 'heldout', '*.png'))}
tiles = sorted((-boxes.get(i['id'], 0), i['file_name']) for i in coco['images']
               if i['file_name'] in shown)
if tiles:
    picture = osp.join(work, 'heldout_tile.png')
    shutil.copyfile(osp.join(work, 'heldout', tiles[0][1]), picture)
    print(f'wrote {picture} ({tiles[0][1]}, {-tiles[0][0]} true boxes; left: true, '
          'right: predicted with score >= 0.3)')
print(f"held-out AP50 {metrics['coco/bbox_mAP_50']:.3f}, "
      f"mAP {metrics['coco/bbox_mAP']:.3f}, {seconds / 60:.1f} min")
EOF
