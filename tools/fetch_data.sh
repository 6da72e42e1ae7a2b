#!/usr/bin/env bash
# Makes the offline datasets that the quick start and the tests use (idempotent):
#   data/deepforest     COCO tree crowns from deepforest 2.1.0's wheel (MIT)
#   data/labelme_coco   labelme 5.10.1's COCO instance-segmentation example: 3 VOC
#                       photos with polygon masks (GPL: fetched here, never committed)
# Downloads are cached in ${MMRLA_CACHE:-~/.cache/mmrla}/downloads.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${MMRLA_VENV:-$ROOT/.venv}/bin/python
DL=${MMRLA_CACHE:-$HOME/.cache/mmrla}/downloads
mkdir -p "$DL" data

fetch() {  # fetch FILE PIP_ARGS...: pip download into the cache unless present
  local file=$1; shift
  if [ ! -f "$DL/$file" ]; then
    echo "[fetch_data] downloading $file" >&2
    "$PY" -m pip download --disable-pip-version-check -q --no-deps -d "$DL" "$@"
  fi
  [ -f "$DL/$file" ] || { echo "[fetch_data] error: $DL/$file missing after download" >&2; exit 1; }
}

fetch deepforest-2.1.0-py3-none-any.whl deepforest==2.1.0
"$PY" tools/dataset_converters/deepforest2coco.py \
  "$DL/deepforest-2.1.0-py3-none-any.whl" data/deepforest

if [ ! -f data/labelme_coco/annotations.json ]; then
  fetch labelme-5.10.1.tar.gz --no-binary :all: labelme==5.10.1
  tmp=$(mktemp -d data/.labelme.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$DL/labelme-5.10.1.tar.gz" -C "$tmp" \
    labelme-5.10.1/examples/instance_segmentation/data_dataset_coco
  rm -rf data/labelme_coco
  mv "$tmp/labelme-5.10.1/examples/instance_segmentation/data_dataset_coco" data/labelme_coco
  echo "[fetch_data] wrote data/labelme_coco (3 images, 12 instances)" >&2
fi
