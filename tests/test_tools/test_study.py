"""tools/analysis/study.py: two study configs x two seeds on a tiny fake Fashion-MNIST
(idx files written here), a few iterations each; outputs, resume, bad input."""
import csv
import fcntl
import hashlib
import importlib.util
import json
import struct
import sys

import numpy as np
import pytest

from conftest import REPO

ARMS = [REPO / 'configs/study/resnet20_fmnist.py',
        REPO / 'configs/study/rla-resnet20_fmnist.py']


def load_tool(name='study'):
    """tools/analysis/NAME.py as a module (tools/ is not a package)."""
    path = REPO / f'tools/analysis/{name}.py'
    spec = importlib.util.spec_from_file_location(f'{name}_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


study = load_tool()


def write_idx(path, array):
    """An idx (ubyte) file as Fashion-MNIST ships them."""
    header = struct.pack('>I', 0x0800 | array.ndim) + b''.join(
        struct.pack('>I', d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope='module')
def fake_fmnist(tmp_path_factory):
    root = tmp_path_factory.mktemp('fashion_mnist')
    rng = np.random.default_rng(0)
    for prefix, n in (('train', 48), ('t10k', 24)):
        labels = np.arange(n) % 10
        # images a class can be told from: a bright band at a class-dependent row
        images = rng.integers(0, 60, (n, 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 * label + 4:2 * label + 7] = 220
        write_idx(root / f'{prefix}-images-idx3-ubyte', images)
        write_idx(root / f'{prefix}-labels-idx1-ubyte', labels)
    return root


def tiny_options(root, epochs=2):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.indices=32', 'train_dataloader.batch_size=16',
        'val_dataloader.batch_size=24', f'train_cfg.max_epochs={epochs}',
        'default_hooks.logger.interval=1'
    ]


def outputs(tmp_path):
    out = tmp_path / 'out'
    return ['--csv', str(out / 'study.csv'), '--md', str(out / 'study.md'),
            '--plot', str(out / 'study.png')]


def attempts(run_dir):
    return len(json.loads((run_dir / study.STATE).read_text())['attempts'])


def test_study_writes_outputs_and_resumes(fake_fmnist, tmp_path, capsys,
                                          monkeypatch):
    work = tmp_path / 'study'
    argv = [*map(str, ARMS), '--seeds', '0', '1', '--work-dir', str(work),
            '--baseline', 'resnet20_fmnist', '--jobs', '2', '--threads', '1',
            *outputs(tmp_path), *tiny_options(fake_fmnist)]
    assert study.main(argv) == 0, capsys.readouterr()
    log = capsys.readouterr().out
    assert '4 runs (2 arms x 2 seeds): 0 finished, 4 to run, 2 at a time' in log
    assert 'run 4/4: rla-resnet20_fmnist seed 1' in log

    with open(tmp_path / 'out/study.csv') as f:
        rows = list(csv.DictReader(f))
    assert [(r['model'], r['seed']) for r in rows] == [
        ('resnet20_fmnist', '0'), ('rla-resnet20_fmnist', '0'),
        ('resnet20_fmnist', '1'), ('rla-resnet20_fmnist', '1')]
    for row in rows:
        assert row['metric'] == 'accuracy/top1'
        assert 0 <= float(row['value']) <= 100
        assert (row['epochs'], row['train_size'], row['val_size']) == \
            ('2', '32', '24')
        assert float(row['wall_s']) > 0
    params = {r['model']: int(r['params']) for r in rows}
    # ResNet-20 with a 1-channel stem and a 10-way head; RLA adds its cells
    assert params["resnet20_fmnist"] == 272_474 - 2 * 16 * 9  # 272,474 with RGB
    assert params['rla-resnet20_fmnist'] > params['resnet20_fmnist']
    assert {r['baseline'] for r in rows if r['model'] != 'resnet20_fmnist'} \
        == {'resnet20_fmnist'}
    # the final value is the log's last epoch
    run_dir = work / 'rla-resnet20_fmnist/seed1'
    curve = study.read_curve(str(run_dir), 'accuracy/top1')
    assert sorted(curve) == [1, 2]
    assert f'{curve[2]:.2f}' == rows[3]['value']
    assert {r["commit"] for r in rows} == {study.git_commit()}

    table = (tmp_path / 'out/study.md').read_text()
    line = next(t for t in table.splitlines()
                if t.startswith('| rla-resnet20_fmnist'))
    assert '| resnet20_fmnist | 2 |' in line and '[' in line  # Δ with a CI
    assert '4 of 4 runs finished' in table
    assert (tmp_path / 'out/study.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    # resume: nothing is run again
    assert study.main(argv) == 0
    assert '4 finished, 0 to run, 2 at a time' in capsys.readouterr().out
    assert attempts(run_dir) == 1
    # a run without its result (killed after its last checkpoint) runs again,
    # resuming from that checkpoint; the others stay finished. (The run itself is
    # replaced by a no-op: its log already holds the last epoch.)
    (run_dir / study.RESULT).unlink()
    launched = []

    def fake_popen(cmd, **kwargs):
        if cmd[1] != study.TRAIN:  # git
            return real_popen(cmd, **kwargs)
        launched.append(cmd)
        return real_popen([sys.executable, '-c', code], **kwargs)

    code = 'pass'

    real_popen = study.subprocess.Popen
    monkeypatch.setattr(study.subprocess, 'Popen', fake_popen)
    assert study.main(argv) == 0
    log = capsys.readouterr().out
    assert '3 finished, 1 to run, 2 at a time' in log
    assert f'run 4/4: rla-resnet20_fmnist seed 1 done: accuracy/top1 ' \
        f'{curve[2]:.2f}' in log
    assert len(launched) == 1 and launched[0][-1] == '--resume'
    assert 'randomness.seed=1' in launched[0]
    assert attempts(run_dir) == 2 and attempts(
        work / 'resnet20_fmnist/seed1') == 1
    with open(tmp_path / 'out/study.csv') as f:
        again = list(csv.DictReader(f))
    assert [(r['model'], r['seed'], r['value']) for r in again] == [
        (r['model'], r['seed'], r['value']) for r in rows]
    # a failed run: the study names its log and exits 1; the run stays unfinished
    failing = work / 'resnet20_fmnist/seed1'
    (failing / study.RESULT).unlink()
    code = 'raise SystemExit(3)'
    assert study.main(argv) == 1
    log = capsys.readouterr().out
    assert 'resnet20_fmnist seed 1 FAILED (exit code 3' in log
    assert f'see {failing / study.LOG}' in log and '1 runs failed' in log
    assert attempts(failing) == 2 and not (failing / study.RESULT).exists()
    # other options: the finished runs no longer count (seen without running)
    assert study.main([*argv, 'train_cfg.max_epochs=3', '--dry-run']) == 0
    assert capsys.readouterr().out.count(': stale (') == 4


@pytest.mark.parametrize('change, message', [
    (dict(configs=['configs/study/nope.py']),
     'config file not found: configs/study/nope.py'),
    (dict(baseline=['crmn-20_fmnist']),
     "--baseline crmn-20_fmnist: 'crmn-20_fmnist' is not among the arms"),
    (dict(baseline=['rla-resnet20_fmnist=rla-resnet20_fmnist']),
     'an arm cannot be its own baseline'),
    (dict(md='table.txt'), 'table.txt: expected a file name ending in .md'),
    (dict(csv='blocker/x.csv'), 'blocker is not a folder'),
    (dict(work_dir='blocker'), 'blocker is not a folder'),
    (dict(options=['randomness.seed=3']),
     '--cfg-options randomness.seed: the study sets the seed'),
])
def test_bad_input_is_refused(fake_fmnist, tmp_path, monkeypatch, capsys,
                              change, message):
    monkeypatch.chdir(REPO)
    (tmp_path / 'blocker').write_text('a file')
    args = dict(configs=[str(a.relative_to(REPO)) for a in ARMS],
                baseline=['resnet20_fmnist'], md='study.md', csv='study.csv',
                work_dir='work', options=[])
    args.update(change)

    def inside(name):
        return str(tmp_path / name)

    argv = [*args['configs'], '--seeds', '0', '--work-dir',
            inside(args['work_dir']), '--baseline', *args['baseline'],
            '--md', inside(args['md']), '--csv', inside(args['csv']),
            *tiny_options(fake_fmnist), *args['options']]
    assert study.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err, err
    assert not (tmp_path / 'work').exists() or not any(
        (tmp_path / 'work').iterdir())


@pytest.mark.parametrize('seeds, message', [
    (['0', 'x'], "expected a seed in 0..2**32-1, got 'x'"),
    (['-1'], "expected a seed in 0..2**32-1, got '-1'"),
    ([str(2**32)], f"expected a seed in 0..2**32-1, got '{2**32}'"),
    (['2', '2'], 'repeated seed in [2, 2]'),
])
def test_bad_seeds_are_refused(tmp_path, capsys, seeds, message):
    with pytest.raises(SystemExit) as exc:
        study.main([str(ARMS[0]), '--seeds', *seeds, '--work-dir',
                    str(tmp_path)])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_data_and_a_running_study_are_refused(fake_fmnist, tmp_path,
                                                      capsys):
    argv = [str(ARMS[0]), '--seeds', '0', '--work-dir', str(tmp_path / 'w')]
    # the data is checked before any run (the default data_root is not there)
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert study.main([*argv, '--cfg-options',
                       f'train_dataloader.dataset.data_root={empty}']) == 1
    err = capsys.readouterr().err
    assert 'cannot load train_dataloader.dataset' in err and 'FashionMNIST' \
        in err
    # another study holds the work dir (its lock: an open file description of
    # its own, as another process has)
    (tmp_path / 'w').mkdir(exist_ok=True)
    with open(tmp_path / 'w/.study.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write('4242\n')
        lock.flush()
        assert study.main([*argv, *tiny_options(fake_fmnist)]) == 1
    assert 'another study (pid 4242) is running' in capsys.readouterr().err


def test_welch_interval():
    diff, ci, p = study.welch([91.0, 92.0, 93.0], [90.0, 90.5, 91.0])
    assert diff == pytest.approx(1.5)
    # se = sqrt(1/3 + 0.25/3) = 0.6455, df = 2.94, t_0.975 = 4.2 (scipy)
    from scipy import stats
    se = (1 / 3 + 0.25 / 3)**0.5
    df = se**4 / ((1 / 3)**2 / 2 + (0.25 / 3)**2 / 2)
    half = stats.t.ppf(0.975, df) * se
    assert ci == pytest.approx((1.5 - half, 1.5 + half))
    assert 0.05 < p < 0.2
    assert study.welch([90.0], [89.0, 91.0]) == (pytest.approx(0.0), None, None)


def test_holm_adjusts_over_the_family():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1, kept monotone; None is no test
    assert study.holm([0.04, 0.01, None, 0.03]) == pytest.approx(
        [0.06, 0.03, None, 0.06])
    assert study.holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1


class FakeArm:
    def __init__(self, name):
        self.name, self.params, self.epochs, self.train_size = name, 1, 2, 3


class FakeRun:
    def __init__(self, arm):
        self.arm = arm


def test_table_has_a_row_per_comparison_with_holm():
    arms = [FakeArm(n) for n in ('base', 'fc', 'ra')]
    values = {'base': [90.0, 90.5, 91.0], 'fc': [90.2, 90.4, 90.9],
              'ra': [85.0, 86.0, 87.0]}
    results = [(FakeRun(a), dict(top1=v, wall_s=1.0, curve={})) for a in arms
               for v in values[a.name]]
    baselines, pairs = study.comparisons(['base'], ['ra=fc'], ['base', 'fc', 'ra'])
    assert baselines == dict(base=None, fc='base', ra='base')
    assert pairs == [('fc', 'base'), ('ra', 'base'), ('ra', 'fc')]
    table = study.markdown_table(results, arms, pairs, 'top1', None, 9)
    rows = [t for t in table.splitlines() if t.startswith('| ra |')]
    assert [r.split(' | ')[1] for r in rows] == ['base', 'fc']
    p_welch = [study.welch(values[a], values[b])[2] for a, b in pairs]
    for row, p in zip([t for t in table.splitlines()
                       if t.startswith(('| fc |', '| ra |'))],
                      study.holm(p_welch)):
        assert study.fmt_p(p) == row.split(' | ')[6]
    assert 'over the 3 comparisons of this table' in table
    for bad, message in ((['ra=nope'], "'nope' is not among the arms"),
                         (['ra=base'], 'a comparison already made'),
                         (['ra'], 'expected ARM=NAME')):
        with pytest.raises(study.BadFileError, match=message):
            study.comparisons(['base'], bad, ['base', 'fc', 'ra'])


def test_table_prints_fractions_with_three_decimals():
    arms = [FakeArm(n) for n in ('base', 'rla')]
    values = {'base': [0.304, 0.310], 'rla': [0.318, 0.286]}  # COCO AP50
    results = [(FakeRun(a), dict(top1=v, wall_s=1.0, curve={})) for a in arms
               for v in values[a.name]]
    table = study.markdown_table(results, arms, [('rla', 'base')], 'AP50', None, 4)
    row = next(t for t in table.splitlines() if t.startswith('| rla |'))
    assert row.split(' | ')[3:5] == ['0.302 ± 0.023', '-0.005 [-0.182, +0.172]']
    results[0][1]['top1'] = 90.0  # a percentage: two decimals
    table = study.markdown_table(results, arms, [('rla', 'base')], 'AP50', None, 4)
    assert '| base | — | 2 | 45.16 ± 63.42 |' in table


def test_fingerprint_covers_the_model_code(monkeypatch, tmp_path):
    arm, code_hash = study.Arm(str(ARMS[0]), {}), study.code_hash.__wrapped__
    before = arm.fingerprint(0)
    assert before == arm.fingerprint(0) != arm.fingerprint(1)
    monkeypatch.setattr(study, 'code_hash', lambda: 'other code')
    assert arm.fingerprint(0) != before
    # the definition a study in progress resumes by (another one restarts its runs)
    cfg = arm.cfg.to_dict()
    cfg['randomness'] = dict(cfg.get('randomness', {}), seed=7)
    assert arm.fingerprint(7) == hashlib.sha256((json.dumps(
        cfg, sort_keys=True, default=repr) + 'other code').encode()).hexdigest()[:16]
    for path, text in (('mmrla/z.py', 'Z'), ('mmrla/sub/b.py', 'B'),
                       ('mmrla/a.py', 'A'), ('mmrla/a.pyc', 'no')):
        (tmp_path / path).parent.mkdir(exist_ok=True, parents=True)
        (tmp_path / path).write_text(text)
    monkeypatch.setattr(study, 'REPO', str(tmp_path))
    assert code_hash() == hashlib.sha256(
        b'mmrla/a.py\0A\0mmrla/z.py\0Z\0mmrla/sub/b.py\0B\0').hexdigest()


def test_fingerprint_is_the_config_as_read():
    # building a two-stage detector writes into its roi_head config; the
    # fingerprint of a run and that of --collect-only (which builds nothing)
    # must still agree
    config = REPO / 'configs/study/faster-rcnn_r18_100e_deepforest.py'
    arm = study.Arm(str(config), {})
    before = arm.fingerprint(0)
    study.fileio.build_model_from_config(arm.cfg, str(config))
    assert arm.cfg.model.roi_head.get('train_cfg') is None
    assert arm.fingerprint(0) == before


def test_arm_seeds_give_an_arm_its_own_seeds(tmp_path, capsys):
    argv = [*map(str, ARMS), '--seeds', '0', '1', '--work-dir',
            str(tmp_path / 'w'), '--arm-seeds', 'resnet20_fmnist=0,1,2']
    args = study.parse_args(argv)
    assert args.seeds_of == {'resnet20_fmnist': [0, 1, 2]}
    arms = [study.Arm(c, {}) for c in args.configs]
    runs = study.Study(args, arms, {}, []).runs
    assert [(r.arm.name, r.seed) for r in runs] == [
        ('resnet20_fmnist', 0), ('rla-resnet20_fmnist', 0),
        ('resnet20_fmnist', 1), ('rla-resnet20_fmnist', 1),
        ('resnet20_fmnist', 2)]
    with pytest.raises(SystemExit):
        study.parse_args([*argv[:-1], 'resnet20_fmnist=1,1'])
    assert 'repeated seed' in capsys.readouterr().err
    assert study.main([*argv[:-2], '--arm-seeds', 'nope=1']) == 1
    assert "--arm-seeds: 'nope' is not among the arms" in \
        capsys.readouterr().err


def test_collect_reads_another_metric_from_the_logs(tmp_path):
    class Args:
        seeds, seeds_of, work_dir, threads = [0], {}, str(tmp_path), 1
        metric = 'coco/bbox_mAP'

    arm = FakeArm('det')
    arm.fingerprint = lambda seed: 'f'
    run_dir = tmp_path / 'det/seed0'
    (run_dir / 'stamp/vis_data').mkdir(parents=True)
    (run_dir / 'stamp/vis_data/scalars.json').write_text(
        '{"coco/bbox_mAP_50": 0.3, "coco/bbox_mAP": 0.1, "step": 2}\n')
    (run_dir / study.RESULT).write_text(json.dumps(dict(
        fingerprint='f', metric='coco/bbox_mAP_50', top1=0.3, wall_s=1.0,
        curve={'2': 0.3})))
    runs = study.Study(Args, [arm], {}, []).results()
    assert [(r['metric'], r['top1'], r['curve']) for _, r in runs] == [
        ('coco/bbox_mAP', 0.1, {'2': 0.1})]
    Args.metric = 'coco/segm_mAP'  # not in the logs: no result
    assert study.Study(Args, [arm], {}, []).results() == []
