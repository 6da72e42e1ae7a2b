import os
from pathlib import Path

import pytest

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
