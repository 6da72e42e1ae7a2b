#!/usr/bin/env bash
# Makes the offline datasets (idempotent). Usage: bash tools/fetch_data.sh [NAME ...]
#   deepforest     data/deepforest: COCO tree crowns from deepforest 2.1.0's wheel (MIT)
#   labelme        data/labelme_coco: labelme 5.10.1's COCO instance-segmentation
#                  example, 3 VOC photos with polygon masks (GPL: fetched, never committed)
#   fashion_mnist  data/fashion_mnist: Fashion-MNIST (70k 28x28 grey images, MIT) as the
#                  four uncompressed idx files mmpretrain's FashionMNIST reads, from
#                  Debian's dataset-fashion-mnist package (apt-get download + dpkg -x:
#                  nothing is installed); used by configs/study (docs/study)
#   all            all of the above
# Without a NAME: deepforest and labelme (what the quick start and the tests use).
# Downloads are cached in ${MMRLA_CACHE:-~/.cache/mmrla}/downloads.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${MMRLA_VENV:-$ROOT/.venv}/bin/python
DL=${MMRLA_CACHE:-$HOME/.cache/mmrla}/downloads
mkdir -p "$DL" data
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT

fetch() {  # fetch FILE PIP_ARGS...: pip download into the cache unless present
  local file=$1; shift
  if [ ! -f "$DL/$file" ]; then
    echo "[fetch_data] downloading $file" >&2
    "$PY" -m pip download --disable-pip-version-check -q --no-deps -d "$DL" "$@"
  fi
  [ -f "$DL/$file" ] || { echo "[fetch_data] error: $DL/$file missing after download" >&2; exit 1; }
}

make_deepforest() {
  fetch deepforest-2.1.0-py3-none-any.whl deepforest==2.1.0
  "$PY" tools/dataset_converters/deepforest2coco.py \
    "$DL/deepforest-2.1.0-py3-none-any.whl" data/deepforest
}

make_labelme() {
  [ -f data/labelme_coco/annotations.json ] && return 0
  fetch labelme-5.10.1.tar.gz --no-binary :all: labelme==5.10.1
  local tmp
  tmp=$(mktemp -d data/.labelme.XXXXXX)
  TMPS+=("$tmp")
  tar -xzf "$DL/labelme-5.10.1.tar.gz" -C "$tmp" \
    labelme-5.10.1/examples/instance_segmentation/data_dataset_coco
  rm -rf data/labelme_coco
  mv "$tmp/labelme-5.10.1/examples/instance_segmentation/data_dataset_coco" data/labelme_coco
  echo "[fetch_data] wrote data/labelme_coco (3 images, 12 instances)" >&2
}

# the idx files and their sizes in bytes (16/8-byte header + 28*28 per image / 1 per label)
FMNIST_FILES="train-images-idx3-ubyte:47040016 train-labels-idx1-ubyte:60008
t10k-images-idx3-ubyte:7840016 t10k-labels-idx1-ubyte:10008"

fmnist_fail() {
  cat >&2 <<MSG
[fetch_data] error: cannot fetch Fashion-MNIST: $1
  tools/fetch_data.sh takes it from Debian's (or Ubuntu's) dataset-fashion-mnist package
  with 'apt-get download' (no installation, no root needed; the package lists must be
  current: 'apt-get update'). Elsewhere, put the four uncompressed idx files
  (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
  t10k-labels-idx1-ubyte; https://github.com/zalandoresearch/fashion-mnist) into
  $ROOT/data/fashion_mnist and run this again to check them.
MSG
  exit 1
}

fmnist_complete() {  # all four files present with their sizes
  local entry
  for entry in $FMNIST_FILES; do
    [ "$(stat -c %s "data/fashion_mnist/${entry%%:*}" 2>/dev/null)" = "${entry##*:}" ] || return 1
  done
}

make_fashion_mnist() {
  fmnist_complete && return 0
  local deb tmp entry name src
  deb=$(ls "$DL"/dataset-fashion-mnist_*_all.deb 2>/dev/null | tail -n 1 || true)
  if [ -z "$deb" ]; then
    command -v apt-get >/dev/null || fmnist_fail "apt-get not found (not a Debian/Ubuntu system)"
    command -v dpkg >/dev/null || fmnist_fail "dpkg not found"
    echo "[fetch_data] downloading Debian package dataset-fashion-mnist (31 MB)" >&2
    if ! (cd "$DL" && apt-get download -q dataset-fashion-mnist 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2); then
      :  # apt-get's status is checked through the file below
    fi
    deb=$(ls "$DL"/dataset-fashion-mnist_*_all.deb 2>/dev/null | tail -n 1 || true)
    if [ -z "$deb" ] && [ "$(id -u)" = 0 ]; then
      echo "[fetch_data] updating the package lists (apt-get update) and retrying" >&2
      apt-get update -qq >&2 || true
      (cd "$DL" && apt-get download -q dataset-fashion-mnist 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
      deb=$(ls "$DL"/dataset-fashion-mnist_*_all.deb 2>/dev/null | tail -n 1 || true)
    fi
    [ -n "$deb" ] || fmnist_fail "'apt-get download dataset-fashion-mnist' failed (no network, or the package is unknown to the package lists)"
  fi
  tmp=$(mktemp -d data/.fashion_mnist.XXXXXX)
  TMPS+=("$tmp")
  dpkg -x "$deb" "$tmp" || { fmnist_fail "dpkg -x $deb failed (a corrupt download? delete it and retry)"; }
  src="$tmp/usr/share/datasets/fashion-mnist"
  mkdir -p "$tmp/out"
  for entry in $FMNIST_FILES; do
    name=${entry%%:*}
    if [ ! -f "$src/$name.gz" ] || ! gzip -dc "$src/$name.gz" > "$tmp/out/$name" \
        || [ "$(stat -c %s "$tmp/out/$name")" != "${entry##*:}" ]; then
      fmnist_fail "$deb lacks a complete $name.gz (expected ${entry##*:} bytes uncompressed)"
    fi
  done
  cp "$tmp"/usr/share/doc/dataset-fashion-mnist/copyright "$tmp/out/COPYRIGHT" 2>/dev/null || true
  rm -rf data/fashion_mnist
  mv "$tmp/out" data/fashion_mnist
  echo "[fetch_data] wrote data/fashion_mnist (60k train + 10k test images, idx format)" >&2
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(deepforest labelme)
[ "${names[*]}" != all ] || names=(deepforest labelme fashion_mnist)
for name in "${names[@]}"; do
  case $name in
    deepforest|labelme|fashion_mnist) "make_$name" ;;
    *) echo "[fetch_data] error: unknown dataset '$name'; expected any of: deepforest labelme fashion_mnist all" >&2; exit 2 ;;
  esac
done
