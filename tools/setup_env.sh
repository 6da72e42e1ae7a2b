#!/usr/bin/env bash
# Installs mmrla and the measured OpenMMLab stack into a project-local virtualenv.
#
# Idempotent: a second run checks a stamp and returns in seconds. The slow part, building mmcv 2.1.0
# from its sdist (~11 min on 2 cores), is cached as a wheel keyed by mmcv, torch, Python and platform,
# so a wheel built for another torch is never reused.
#
# Environment:
#   MMRLA_VENV   virtualenv path            (default: <repo>/.venv)
#   MMRLA_CACHE  cache for the mmcv wheel   (default: ~/.cache/mmrla)
#   PYTHON       interpreter for the venv   (default: python3.11)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMRLA_VENV:-$ROOT/.venv}
CACHE=${MMRLA_CACHE:-$HOME/.cache/mmrla}
PYTHON=${PYTHON:-python3.11}
MMCV_VERSION=2.1.0

log() { printf '[setup_env] %s\n' "$*" >&2; }

# Everything that decides what gets installed goes into the stamp.
stamp_src=$(cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
STAMP="$VENV/.mmrla-stack-$stamp_src"
if [ -f "$STAMP" ] && "$VENV/bin/python" -c 'import mmrla, mmcv.ops' 2>/dev/null; then
  log "environment up to date ($VENV)"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || { log "error: $PYTHON not found (set PYTHON=...)"; exit 1; }
  log "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

log "installing torch and build tools"
"${PIP[@]}" -r "$ROOT/requirements/torch.txt"

# ---- mmcv: build once from source with C++20, cache the wheel --------------------------------
key=$("$PY" - <<'EOF'
import sys, sysconfig, torch
print(f"torch{torch.__version__}-cp{sys.version_info[0]}{sys.version_info[1]}-{sysconfig.get_platform()}")
EOF
)
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-$key"
wheel=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  log "building mmcv $MMCV_VERSION for $key (about 11 min on 2 cores; cached in $WHEEL_DIR)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # --no-build-isolation: the sdist's metadata step imports the torch we just installed.
  "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary mmcv --no-build-isolation \
    -d "$work" "mmcv==$MMCV_VERSION"
  tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
  src="$work/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
  grep -q -- '-std=c++17' "$src/setup.py" || { log "error: mmcv setup.py has no -std=c++17 to patch"; exit 1; }
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "$PY" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation -w "$work/dist" .)
  mkdir -p "$WHEEL_DIR"
  built=$(ls "$work"/dist/mmcv-*.whl)
  # Copy then rename: a killed build never leaves a half-written wheel in the cache.
  cp "$built" "$WHEEL_DIR/.partial.whl"
  mv "$WHEEL_DIR/.partial.whl" "$WHEEL_DIR/$(basename "$built")"
  wheel="$WHEEL_DIR/$(basename "$built")"
fi

log "installing the OpenMMLab stack"
"${PIP[@]}" "$wheel" -r "$ROOT/requirements/stack.txt" -r "$ROOT/requirements/tests.txt"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

"$PY" -c 'import mmcv.ops, mmdet, mmpretrain, mmrla' || { log "error: the stack does not import"; exit 1; }
rm -f "$VENV"/.mmrla-stack-*
touch "$STAMP"
log "done ($VENV)"
