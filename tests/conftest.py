import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

# Under pytest-xdist (tools/run_tests.sh runs `-n auto`) the workers share the cores:
# each worker, and the runs it starts, gets its share of intra-op threads instead of
# all of them (oversubscribed OpenMP threads spin against each other). Set before
# torch is imported; an explicit OMP_NUM_THREADS is kept.
if os.environ.get('PYTEST_XDIST_WORKER_COUNT'):
    _share = (os.cpu_count() or 1) // int(os.environ['PYTEST_XDIST_WORKER_COUNT'])
    os.environ.setdefault('OMP_NUM_THREADS', str(max(1, _share)))

REPO = Path(__file__).resolve().parents[1]
# The official reference lives in ../shared (read-only; present in CI). A user's clone
# may lack it: tests that need it skip and say so.
SHARED = Path(os.environ.get('MMRLA_SHARED', REPO.parent / 'shared'))
REFERENCE = SHARED / 'reference'


@pytest.fixture(scope='session')
def reference_dir():
    if not (REFERENCE / 'rla_official_dev.pt').is_file():
        pytest.skip(f'official RLA-Net reference not found at {REFERENCE} '
                    '(set MMRLA_SHARED to the folder holding reference/)')
    return REFERENCE


@pytest.fixture(scope='session')
def digits(tmp_path_factory):
    """scikit-learn's digits as image folders (tools/dataset_converters/
    digits2folder.py), made once per test run: the pytest-xdist workers share
    it (each converter run costs ~15 s on 2 cores, most of it imports)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = root.parent  # the workers' base folders share this parent
    out = root / 'digits'
    with FileLock(str(root / 'digits.lock')):
        if not (out / '.complete').is_file():
            result = subprocess.run(
                [sys.executable,
                 str(REPO / 'tools/dataset_converters/digits2folder.py'),
                 str(out)], capture_output=True, text=True, cwd=REPO)
            assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """A Runner or tool that a test runs in-process sets mmengine's global default
    scope (a Runner without ``default_scope`` sets 'mmengine', where no mmrla model
    is registered); the next test in the same process must not inherit it."""
    from mmengine.registry import DefaultScope
    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved
