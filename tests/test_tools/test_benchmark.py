"""benchmark.py: the side-by-side table, its Markdown file, bad input."""
import os
import platform
import re
import subprocess
import sys

import torch

from conftest import REPO

SCRIPT = REPO / 'tools/analysis/benchmark.py'
CRMN = REPO / 'configs/crmn/crmn-32-w16_1xb100_cifar100.py'
PLAIN = REPO / 'configs/baselines/resnet32_1xb100_cifar100.py'


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
    for name in ('training step', 'inference'):
        line = next(x for x in done.stdout.splitlines()
                    if x.startswith(f'| {name}'))
        pair, low, high = map(float, re.search(
            r'\| ([\d.]+) \(([\d.]+)-([\d.]+)\) \|$', line).groups())
        assert 0 < low <= pair <= high
    # CRMN-32 carries a 1.7M-parameter LSTM over ResNet-32's 0.47M: more memory
    assert rows['training memory'][0] > 1
    text = out.read_text()
    assert text.startswith('# Benchmark') and 'torch ' in text
    # the machine is named: its CPU and the instruction set torch uses
    capability = torch.backends.cpu.get_cpu_capability()
    assert f'({capability}), {os.cpu_count()} logical CPUs' in text
    assert '--repeats 2' in text and '| training step' in text
    assert f'B = `{PLAIN}` (model.backbone.with_cp=True)' in text
    assert ('freed memory retained' in text) == glibc
    # memory runs map large blocks singly (glibc), retained timings or not
    assert ('large blocks mapped singly' in text) == glibc


def test_paired_ratio():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from benchmark import paired_ratio
    finally:
        sys.path.remove(str(SCRIPT.parent))
    # ratios 1, 1, 3, 1.5: median 1.25, where the medians give 5 / 3
    assert paired_ratio([2, 4, 6, 9], [2, 4, 2, 6]) == (1.25, 1.0, 3.0)
    assert paired_ratio([3, 3, 3], [1, 2, 3]) == (1.5, 1.0, 3.0)


def test_bad_input(capsys):
    # in-process: bad files (and the exit code of a real process) are tested in
    # tests/test_reliability_files.py
    sys.path.insert(0, str(SCRIPT.parent))
    import benchmark
    assert benchmark.main([str(CRMN), str(PLAIN), '--repeats', '0']) == 1
    assert '--repeats and --batch' in capsys.readouterr().err
    assert benchmark.main([str(CRMN), str(PLAIN), '--batch', '0']) == 1
    assert '--repeats and --batch' in capsys.readouterr().err
    # CPU time says nothing of a GPU's work
    assert benchmark.main([str(CRMN), str(PLAIN), '--clock', 'cpu', '--device',
                           'cuda']) == 1
    assert '--device cuda needs --clock wall' in capsys.readouterr().err


def test_cpu_clock_counts_only_work():
    """--clock cpu: a wait (another job holding the core) costs nothing, work does."""
    import time
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from benchmark import Runner
    finally:
        sys.path.remove(str(SCRIPT.parent))
    runner = Runner.__new__(Runner)
    runner.device = torch.device('cpu')
    assert runner.timed(lambda: time.sleep(0.2)) >= 0.2
    assert runner.timed(lambda: time.sleep(0.2), time.thread_time) < 0.05
    a = torch.randn(256, 256)
    busy = runner.timed(lambda: [a @ a for _ in range(50)], time.thread_time)
    assert busy > 0


def test_detectors_propose_the_same_boxes():
    """Two Faster R-CNNs with different backbones and random weights propose
    different boxes (so RoIAlign costs differ); after ``same_proposals``,
    the same ones, also after a training step."""
    sys.path.insert(0, str(SCRIPT.parent))
    import benchmark

    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(1, [[3, 128, 160]], num_items=[3], num_classes=80)
    proposals = {}
    for same in (False, True):
        for config in ('configs/rla/faster-rcnn_rla-r50_1x_coco.py',
                       'configs/baselines/faster-rcnn_r50_fpn_1x_coco.py'):
            torch.manual_seed(0)
            model, detector = benchmark.build(str(REPO / config), 'cpu')
            assert detector
            if same:
                benchmark.same_proposals(model)
                assert not model.rpn_head.rpn_reg.weight.requires_grad
            data = model.data_preprocessor(packed, True)
            optim = torch.optim.SGD(model.parameters(), lr=0.1)
            model.train()
            losses = model(**data, mode='loss')
            sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                for k, v in losses.items() if 'loss' in k).backward()
            optim.step()
            model.eval()
            with torch.no_grad():
                feats = model.extract_feat(data['inputs'])
                boxes = model.rpn_head.predict(feats, data['data_samples'])
            proposals[same, config] = boxes[0].bboxes
    differ, same = [[v for (s, _), v in proposals.items() if s == flag]
                    for flag in (False, True)]
    assert differ[0].shape != differ[1].shape or not torch.equal(*differ)
    assert torch.equal(*same)
