"""benchmark.py: the side-by-side table, its Markdown file, bad input."""
import platform
import re
import subprocess
import sys

from conftest import REPO

SCRIPT = REPO / 'tools/analysis/benchmark.py'
CRMN = REPO / 'configs/crmn/crmn-32-w16_1xb128_cifar100.py'
PLAIN = REPO / 'configs/baselines/resnet32_1xb128_cifar100.py'


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_table_ratios_and_file(tmp_path):
    out = tmp_path / 'bench.md'
    glibc = platform.libc_ver()[0] == 'glibc'
    done = run(CRMN, PLAIN, '--batch', 2, '--shape', 32, 32, '--repeats', 2,
               '--warmup', 1, '--out', out, '--b-options',
               'model.backbone.with_cp=True',
               *(['--retain-memory'] if glibc else []))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {}
    for line in done.stdout.splitlines():
        m = re.match(r'\| (training step|inference|training memory)[^|]*\| '
                     r'\*\*([\d.]+)\*\* \| ([\d.]+)[^|]*\| ([\d.]+)', line)
        if m:
            rows[m[1]] = tuple(float(v) for v in m.groups()[1:])
    assert set(rows) == {'training step', 'inference', 'training memory'}
    for name, (ratio, a, b) in rows.items():
        assert a > 0 and b > 0
        # the ratio is of the unrounded figures: within the printed rounding
        r = 0.5 if name == 'training memory' else 0.05
        assert (a - r) / (b + r) - 0.0005 <= ratio <= (a + r) / (b - r) + 0.0005
    # CRMN-32 carries a 1.7M-parameter LSTM over ResNet-32's 0.47M: more memory
    assert rows['training memory'][0] > 1
    text = out.read_text()
    assert text.startswith('# Benchmark') and 'torch ' in text
    assert '--repeats 2' in text and '| training step' in text
    assert f'B = `{PLAIN}` (model.backbone.with_cp=True)' in text
    assert ('freed memory retained' in text) == glibc
    # memory runs map large blocks singly (glibc), retained timings or not
    assert ('large blocks mapped singly' in text) == glibc


def test_bad_input(capsys):
    # in-process: bad files (and the exit code of a real process) are tested in
    # tests/test_reliability_files.py
    sys.path.insert(0, str(SCRIPT.parent))
    import benchmark
    assert benchmark.main([str(CRMN), str(PLAIN), '--repeats', '0']) == 1
    assert '--repeats and --batch' in capsys.readouterr().err
    assert benchmark.main([str(CRMN), str(PLAIN), '--batch', '0']) == 1
    assert '--repeats and --batch' in capsys.readouterr().err
