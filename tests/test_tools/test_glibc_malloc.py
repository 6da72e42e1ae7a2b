"""tools/analysis/glibc_malloc.py: with ``retain_freed_memory`` a freed large tensor's
memory is reused without page faults; with ``map_large_blocks`` freed large tensors
leave the resident set. Runs in subprocesses: the settings are process-wide."""
import os
import platform
import subprocess
import sys

import pytest

from conftest import REPO

SCRIPT = '''
import resource, sys, torch
from glibc_malloc import retain_freed_memory
if sys.argv[1] == 'retain':
    assert retain_freed_memory()
def faults_of_a_fresh_64mib_tensor():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.empty(16 * 2**20).fill_(1)  # allocated, touched, freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
# glibc grows its heap to fit the pattern within the first few allocations
# (with only torch imported: by the eighth in 6 runs here, 2026-12-07; after
# mmrla's imports, by the fourth): warm up sixteen, then count the faults of eight
for _ in range(16):
    faults_of_a_fresh_64mib_tensor()
print(sum(faults_of_a_fresh_64mib_tensor() for _ in range(8)))
'''

MAPPED = '''
import sys, torch
from glibc_malloc import map_large_blocks, retain_freed_memory
def rss_mib():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
assert retain_freed_memory()  # a known start: nothing mapped, nothing trimmed
if sys.argv[1] == 'mapped':
    assert map_large_blocks()
before = rss_mib()
# 32 x 1 MiB, each followed by a small live block that keeps the heap from
# shrinking past it
pairs = [(torch.empty(2**18).fill_(1), torch.ones(4096)) for _ in range(32)]
pins = [small for _, small in pairs]
del pairs
print(rss_mib() - before)
'''
GLIBC = pytest.mark.skipif(
    platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc',
    reason='glibc malloc settings (Linux only)')


def run(script, mode):
    # the module beside benchmark.py, importable as when benchmark.py runs
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO / 'tools/analysis'), os.environ.get('PYTHONPATH', '')]))
    out = subprocess.run([sys.executable, '-c', script, mode], env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


@GLIBC
def test_freed_memory_is_reused_without_page_faults():
    faults = {mode: run(SCRIPT, mode) for mode in ('default', 'retain')}
    # 64 MiB are 16,384 pages of 4 KiB: glibc's default maps them afresh
    # each time (8 x 16,384); retained, they are reused (not one tensor's worth)
    assert faults['default'] > 8 * 4000
    assert faults['retain'] < 4000


@GLIBC
def test_freed_large_blocks_leave_the_resident_set():
    # what benchmark.py's memory runs rely on: the resident set follows the
    # live tensors, whatever the heap's layout
    growth = {mode: run(MAPPED, mode) for mode in ('retained', 'mapped')}
    assert growth['retained'] > 30  # the 32 MiB stay in the heap
    assert growth['mapped'] < 4  # returned; the small blocks stay
