"""Run a controlled study: every config (an *arm*, named by its stem) x every seed,
through tools/train.py, then a CSV, a Markdown table and a plot of the outcome.

    python tools/analysis/study.py CONFIG [CONFIG ...] --seeds 0 1 2 --work-dir DIR
        [--baseline NAME | ARM=NAME ...] [--also-compare ARM=NAME ...] ... (--help)

Run ARM seed S trains in ``DIR/ARM/seed<S>``, ``--jobs`` at a time, importing this
checkout's ``mmrla``; its value is ``--metric`` after the last epoch. It is finished
once its ``study_result.json`` holds its fingerprint (merged config, seed, ``mmrla``
code). Rerunning resumes: finished runs are kept, an interrupted one resumes from its
checkpoint, a changed one is moved to ``seed<S>.stale-<time>`` and run again. The CSV,
the table (mean +- std; differences with a 95 % CI, Welch's and Holm's p) and the plot
are rewritten after every run; ``--collect-only`` only rewrites them. Bad input: one
``error:`` line, before any run. Details: docs/study/README.md.
"""
import argparse
import csv
import fcntl
import functools
import glob
import hashlib
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mmrla.utils import fileio
from mmrla.utils.fileio import BadFileError, atomic_write

TRAIN = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'train.py')
REPO = osp.dirname(osp.dirname(TRAIN))
RESULT = 'study_result.json'  # a finished run's; its 'top1' is --metric's value
STATE = 'study_run.json'  # fingerprint and attempts of a started run
LOG = 'study_train.log'
CSV_FIELDS = ('model', 'seed', 'metric', 'value', 'epochs', 'train_size', 'val_size',
              'params', 'wall_s', 'device', 'baseline', 'config', 'commit')


def seed_arg(text):
    if not text.isdigit() or int(text) >= 2**32:
        raise argparse.ArgumentTypeError(f'expected a seed in 0..2**32-1, got {text!r}')
    return int(text)


def arm_seeds_arg(text):
    arm, _, seeds = text.partition('=')
    seeds = [seed_arg(s) for s in seeds.split(',')]
    if not arm or len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(f'expected ARM=S,S,... without a repeated '
                                         f'seed, got {text!r}')
    return arm_name(arm), seeds


def parse_args(argv=None):
    from mmrla.utils.launch import CfgOptions

    class KeepItems(CfgOptions):  # parsed for the checks here, as given for the runs
        def __call__(self, parser, namespace, values, option_string=None):
            super().__call__(parser, namespace, values, option_string)
            namespace.cfg_items = getattr(namespace, 'cfg_items', []) + values

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add('configs', nargs='+', metavar='CONFIG', help='one per arm, named by its stem')
    add('--seeds', nargs='+', type=seed_arg, required=True, help="every arm's seeds")
    add('--work-dir', required=True, help='the study: WORK_DIR/ARM/seed<S> per run')
    add('--baseline', nargs='+', default=[], metavar='[ARM=]NAME',
        help='NAME: the baseline of every other arm; ARM=NAME: of one arm')
    add('--also-compare', nargs='+', default=[], metavar='ARM=NAME',
        help='a further comparison of ARM, with arm NAME')
    add('--arm-seeds', nargs='+', type=arm_seeds_arg, default=[],
        metavar='ARM=S,S,...', help="one arm's own seeds (instead of --seeds)")
    for flag, ext in (('--csv', 'csv'), ('--md', 'md'), ('--plot', 'png')):
        add(flag, help=f'default: WORK_DIR/study.{ext}')
    add('--jobs', type=int, default=1, help='runs at a time, each its own process')
    add('--threads', type=int, help='OMP_NUM_THREADS of each run (default: as set)')
    add('--metric', default='accuracy/top1', help='from the json scalars log')
    add('--title', help='caption of the table and the plot')
    add('--cfg-options', nargs='+', action=KeepItems, default={},
        help='KEY=VALUE, passed to every run')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--dry-run', action='store_true', help='list the runs')
    mode.add_argument('--collect-only', action='store_true', help='run nothing')
    args = parser.parse_args(argv)
    for flag, value in (('jobs', args.jobs), ('threads', args.threads)):
        if value is not None and value < 1:
            parser.error(f'--{flag}: expected a positive integer, got {value}')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds: repeated seed in {args.seeds}')
    args.seeds_of, args.cfg_items = dict(args.arm_seeds), getattr(args, 'cfg_items', [])
    return args


def arm_name(text):
    """The arm of a config path (its stem); an arm's name stays as it is."""
    stem, ext = osp.splitext(osp.basename(text))
    return stem if ext in fileio.CONFIG_SUFFIXES else text


def require_arm(name, where, arms):
    if name not in arms:
        raise BadFileError(f'{where}: {name!r} is not among the arms {arms}')


def comparisons(baseline_specs, also_specs, arms):
    """{arm: its baseline or None} from the ``--baseline`` items, and [(arm, other
    arm)]: every arm's baseline, then the ``--also-compare`` pairs."""
    def pair(flag, spec):
        arm, sep, base = spec.rpartition('=')
        arm, base = arm_name(arm), arm_name(base)
        if flag == '--also-compare' and not sep:
            raise BadFileError(f'{flag} {spec}: expected ARM=NAME')
        for name in (arm, base) if sep else (base, ):
            require_arm(name, f'{flag} {spec}', arms)
        if arm == base:
            raise BadFileError(f'{flag} {spec}: an arm cannot be its own baseline')
        return arm, base

    specs = [pair('--baseline', spec) for spec in baseline_specs]
    default = {base for arm, base in specs if not arm}
    if len(default) > 1:
        raise BadFileError(f'--baseline: two default baselines {sorted(default)}')
    default = default.pop() if default else None
    per_arm = {arm: base for arm, base in specs if arm}
    baselines = {arm: per_arm.get(arm, None if default == arm else default)
                 for arm in arms}
    pairs = [(arm, base) for arm, base in baselines.items() if base]
    for spec in also_specs:
        pairs.append(pair('--also-compare', spec))
        if pairs[-1] in pairs[:-1]:
            raise BadFileError(f'--also-compare {spec}: a comparison already made')
    return baselines, pairs


@functools.cache
def code_hash():
    """sha256 of the path and content of every .py file of the mmrla the runs import."""
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(osp.join(REPO, 'mmrla'))):
        for path in sorted(osp.join(folder, f) for f in files if f.endswith('.py')):
            with open(path, 'rb') as f:
                digest.update(osp.relpath(path, REPO).encode() + b'\0')
                digest.update(f.read() + b'\0')
    return digest.hexdigest()


class Arm:
    """One config merged with the options: checked, fingerprinted, measured."""

    def __init__(self, config, cfg_options):
        self.config, self.name = config, arm_name(config)
        self.cfg = cfg = fileio.load_config_file(config, 'config')
        cfg.merge_from_dict(cfg_options)
        train = cfg.get('train_cfg') or {}
        self.epochs = train.get('max_epochs')  # None for iteration-based training
        self.params = self.train_size = self.val_size = None
        backends = (cfg.get('visualizer') or {}).get('vis_backends') or []
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise BadFileError(f'config {config}: expected epoch-based training, '
                               f'train_cfg.max_epochs a positive int, got {train}')
        if not cfg.get('val_dataloader') or not cfg.get('val_evaluator') or not any(
                'LocalVisBackend' in str(b.get('type')) for b in backends):
            raise BadFileError(f'config {config}: expected val_dataloader, val_'
                               'evaluator and a LocalVisBackend (the metric per epoch)')

    def fingerprint(self, seed):
        """What a finished run must match: the merged config, seeded, and the code."""
        cfg = self.cfg.to_dict()  # a copy
        cfg.setdefault('randomness', {})['seed'] = seed
        text = json.dumps(cfg, sort_keys=True, default=repr)
        return hashlib.sha256((text + code_hash()).encode()).hexdigest()[:16]

    def measure(self, dataset_sizes):
        """Params of the model, sizes of its datasets: bad input shows before runs."""
        from mmengine.registry import DATASETS
        model, _ = fileio.build_model_from_config(self.cfg, f'config {self.config}')
        self.params = sum(p.numel() for p in model.parameters())
        for split in ('train', 'val'):
            dataset = self.cfg[f'{split}_dataloader']['dataset']
            key = json.dumps(dataset, sort_keys=True, default=repr)
            try:
                if key not in dataset_sizes:
                    dataset_sizes[key] = len(DATASETS.build(dataset))
            except Exception as exc:
                raise BadFileError(f'config {self.config}: cannot load {split}_data'
                                   f'loader.dataset: {fileio.first_line(exc)}') from exc
            setattr(self, f'{split}_size', dataset_sizes[key])


def read_json(path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, data):
    with atomic_write(path) as f:
        json.dump(data, f, indent=1)


def read_curve(run_dir, metric):
    """{epoch: value} of ``metric`` in the run's json scalars logs (the newest for an
    epoch logged twice; garbled lines of a killed run skipped)."""
    curve = {}
    for path in sorted(glob.glob(osp.join(glob.escape(run_dir), '*', 'vis_data',
                                          'scalars.json'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                try:
                    record = json.loads(line)
                    step, value = record['step'], record[metric]
                except (ValueError, TypeError, KeyError):
                    continue
                if isinstance(step, int) and isinstance(value, (int, float)):
                    curve[step] = float(value)
    return dict(sorted(curve.items()))


class Run:

    def __init__(self, arm, seed, work_dir):
        self.arm, self.seed, self.label = arm, seed, f'{arm.name} seed {seed}'
        self.dir = osp.join(work_dir, arm.name, f'seed{seed}')
        self.fingerprint = arm.fingerprint(seed)

    def result(self, metric=None):
        """The finished run's result, or None (not finished, or stale); a ``metric``
        other than the one it recorded is read from its logs (None: not there)."""
        result = read_json(osp.join(self.dir, RESULT)) or {}
        if result.get('fingerprint') != self.fingerprint:
            return None
        if metric in (None, result['metric']):
            return result
        curve = read_curve(self.dir, metric)
        if self.arm.epochs in curve:
            return dict(result, metric=metric, top1=curve[self.arm.epochs],
                        curve={str(k): v for k, v in curve.items()})

    def state(self):
        """'finished', 'stale' (of another fingerprint), 'partial' or 'new'."""
        if self.result():
            return 'finished'
        if not osp.isdir(self.dir) or not os.listdir(self.dir):
            return 'new'
        started = [read_json(osp.join(self.dir, name)) for name in (RESULT, STATE)]
        return 'stale' if any(isinstance(d, dict) and d.get('fingerprint') not in (
            None, self.fingerprint) for d in started) else 'partial'


class Study:

    def __init__(self, args, arms, baselines, pairs):
        self.args, self.arms, self.baselines, self.pairs = args, arms, baselines, pairs
        seeds = {arm.name: args.seeds_of.get(arm.name, args.seeds) for arm in arms}
        # seed by seed: every arm's first seeds before any arm's later ones
        self.runs = [Run(arm, seed, args.work_dir)
                     for seed in sorted(set().union(*seeds.values()))
                     for arm in arms if seed in seeds[arm.name]]
        self.children, self.stopping, self.lock = [], False, threading.Lock()

    def results(self):
        """(run, result) of the finished runs, in ``--metric``."""
        return [(run, result) for run in self.runs
                if (result := run.result(self.args.metric))]

    def run_all(self):
        """Run the unfinished runs, a thread per running one; 1 if any failed."""
        import torch
        args, n = self.args, len(self.runs)
        self.device = f'cuda: {torch.cuda.get_device_name(0)}' if \
            torch.cuda.is_available() else \
            f'cpu: {args.threads or torch.get_num_threads()} threads'
        self.commit = git_commit()
        # the runs import this checkout's mmrla (the code the fingerprint covers)
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
        if args.threads:
            self.env.update(OMP_NUM_THREADS=str(args.threads),
                            MKL_NUM_THREADS=str(args.threads))
        todo = [run for run in self.runs if not run.result()]
        seeds = 'their seeds' if args.seeds_of else f'{len(args.seeds)} seeds'
        at_a_time = f', {args.jobs} at a time' if args.jobs > 1 else ''
        say(f'{n} runs ({len(self.arms)} arms x {seeds}): {n - len(todo)} finished, '
            f'{len(todo)} to run{at_a_time}')
        with ThreadPoolExecutor(args.jobs) as pool:
            try:
                done = list(pool.map(self.execute, todo))
            except BaseException:  # interrupted: start no run, stop the running ones
                with self.lock:
                    self.stopping = True
                pool.shutdown(wait=False, cancel_futures=True)
                for child in self.children:
                    child.terminate()
                raise
        failed = [run.label for run, ok in zip(todo, done) if not ok]
        say(f'{len(failed)} runs failed: {", ".join(failed)}; rerun the command to '
            'retry them' if failed else 'all runs finished')
        return int(bool(failed))

    def execute(self, run):
        """Train one run (resuming it where it can); True if it finished."""
        arm, metric = run.arm, self.args.metric
        label = f'run {self.runs.index(run) + 1}/{len(self.runs)}: {run.label}'
        if run.state() == 'stale':
            moved = f'{run.dir}.stale-{time.strftime("%Y%m%d_%H%M%S")}'
            os.rename(run.dir, moved)
            say(f'{label}: config, options or code changed; the old run moved to '
                f'{moved}', 'warning')
        os.makedirs(run.dir, exist_ok=True)
        state, log = osp.join(run.dir, STATE), osp.join(run.dir, LOG)
        info = read_json(state) or dict(fingerprint=run.fingerprint, arm=arm.name,
                                        seed=run.seed, config=arm.config, attempts=[])
        resume = any(name.endswith('.pth') or name == 'last_checkpoint'
                     for name in os.listdir(run.dir))
        cmd = [sys.executable, TRAIN, arm.config, '--work-dir', run.dir,
               '--cfg-options', f'randomness.seed={run.seed}', *self.args.cfg_items,
               *['--resume'] * resume]
        attempt = dict(start=now_iso(), wall_s=0.0, rc=None, resumed=resume)
        info['attempts'].append(attempt)
        write_json(state, info)
        with open(log, 'a') as f, self.lock:
            if self.stopping:
                return False
            say(label + ' (resumes)' * resume)
            print(f'\n[study] {now_iso()} {" ".join(cmd)}', file=f, flush=True)
            child = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                     env=self.env)
            self.children.append(child)
        start = time.monotonic()
        attempt.update(rc=child.wait(), wall_s=round(time.monotonic() - start, 1))
        write_json(state, info)
        curve = read_curve(run.dir, metric)
        if self.stopping:
            return False
        if child.returncode or arm.epochs not in curve:
            say(f'{label} FAILED (exit code {child.returncode}, {metric} logged for '
                f'epochs {list(curve)}); see {log}', 'error')
            return False
        wall = round(sum(a['wall_s'] for a in info['attempts']), 1)
        write_json(osp.join(run.dir, RESULT), dict(
            fingerprint=run.fingerprint, model=arm.name, seed=run.seed,
            top1=curve[arm.epochs], metric=metric,
            curve={str(k): v for k, v in curve.items()}, epochs=arm.epochs,
            train_size=arm.train_size, val_size=arm.val_size, params=arm.params,
            wall_s=wall, device=self.device, threads=self.args.threads,
            jobs=self.args.jobs, config=arm.config, commit=self.commit,
            finished=now_iso()))
        value = curve[arm.epochs]
        say(f'{label} done: {metric} {value:.{decimals([value])}f} in '
            f'{fmt_time(wall)}')
        with self.lock:
            self.write_outputs()
        return True

    def write_outputs(self):
        args, results = self.args, self.results()
        d = decimals([result['top1'] for _, result in results])
        with atomic_write(args.csv, newline='') as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction='ignore')
            writer.writeheader()
            writer.writerows({**result, 'value': f'{result["top1"]:.{d}f}',
                              'baseline': self.baselines.get(run.arm.name) or ''}
                             for run, result in results)
        with atomic_write(args.md) as f:
            f.write(markdown_table(results, self.arms, self.pairs, args.metric,
                                   args.title, len(self.runs)))
        write_plot(args.plot, results, self.arms, args.metric, args.title)
        say(f'wrote {args.csv}, {args.md}, {args.plot} '
            f'({len(results)} of {len(self.runs)} runs)')


def group(results, key):
    """{arm: [key of each of its results]}, in run order."""
    out = {}
    for run, result in results:
        out.setdefault(run.arm.name, []).append(result[key])
    return out


def mean_std(values):
    """Mean and sample standard deviation (None for one value)."""
    return np.mean(values), np.std(values, ddof=1) if len(values) > 1 else None


def welch(a, b, level=0.95):
    """Mean of ``a`` minus mean of ``b``, its ``level`` confidence interval and the
    two-sided p value of Welch's t test (CI and p: None with < 2 values in one)."""
    from scipy import stats
    diff = np.mean(a) - np.mean(b)
    if min(len(a), len(b)) < 2:
        return diff, None, None
    if np.ptp(a) == np.ptp(b) == 0:  # no spread: scipy's t would be 0/0 or inf
        return diff, (diff, diff), float(diff == 0)
    test = stats.ttest_ind(a, b, equal_var=False)
    ci = test.confidence_interval(level)
    return diff, (ci.low, ci.high), float(test.pvalue)


def holm(pvalues):
    """Holm's step-down adjustment of ``pvalues`` (Nones kept)."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted, running = list(pvalues), 0.0
    for rank, (p, i) in enumerate(ranked):
        adjusted[i] = running = max(running, min(1.0, (len(ranked) - rank) * p))
    return adjusted


def decimals(values):
    """Decimals to print a metric with: 2 for percentages (accuracy), 3 where every
    value is a fraction (COCO's AP, 0 to 1)."""
    return 3 if all(abs(v) <= 1 for v in values) else 2


def fmt_p(p):
    return '—' if p is None else f'{p:.2f}' if p >= 0.01 else f'{p:.0e}'


def markdown_table(results, arms, pairs, metric, title, planned):
    finals, walls = group(results, 'top1'), group(results, 'wall_s')
    # a row per comparison; an arm without one: a row of its own
    rows = [(arm, base) for arm in arms
            for base in [b for a, b in pairs if a == arm.name] or [None]]
    tests = [welch(finals[arm.name], finals[base]) if arm.name in finals and
             base in finals else None for arm, base in rows]
    adjusted = holm([test and test[2] for test in tests])
    d = decimals([v for values in finals.values() for v in values])
    lines = [f'**{title}**', ''] if title else []
    lines += [f'| arm | baseline | seeds | {metric} mean ± std | Δ vs baseline '
              '[95 % CI] | p (Welch) | p (Holm) | params | epochs | train images | '
              'wall/run |', '|' + '---|' * 11]
    for (arm, base), test, p_holm in zip(rows, tests, adjusted):
        values, wall = finals.get(arm.name, []), walls.get(arm.name)
        mean, std = mean_std(values) if values else (None, None)
        cell = '—' if mean is None else f'{mean:.{d}f}' if std is None else \
            f'{mean:.{d}f} ± {std:.{d}f}'
        delta = '— (no baseline runs yet)' if base and values else '—'
        if test is not None:
            diff, ci, p = test
            delta = (f'{diff:+.{d}f} (CI needs ≥ 2 seeds each)' if ci is None
                     else f'{diff:+.{d}f} [{ci[0]:+.{d}f}, {ci[1]:+.{d}f}]')
        count = [f'{v:,}' if v is not None else '—' for v in (arm.params,
                                                               arm.train_size)]
        lines.append(
            f'| {arm.name} | {base or "—"} | {len(values)} | {cell} | {delta} | '
            f'{fmt_p(test and test[2])} | {fmt_p(p_holm)} | {count[0]} | '
            f'{arm.epochs} | {count[1]} | {fmt_time(np.mean(wall)) if wall else "—"} |')
    lines += [
        '', f'{len(results)} of {planned} runs finished. {metric}: after the '
        'last epoch, on the validation set; mean ± sample standard deviation '
        'over seeds; Δ: mean difference to the baseline arm, 95 % confidence '
        "interval and two-sided p value of Welch's t test (unequal variances); "
        "p (Holm): that p value adjusted by Holm's method over the "
        f'{sum(p is not None for p in adjusted)} comparisons of this table. A CI '
        'that contains 0 does not show a difference; a difference is significant '
        'at the 5 % level (family-wise) only where p (Holm) < 0.05.', '']
    return '\n'.join(lines)


def write_plot(path, results, arms, metric, title):
    from matplotlib.figure import Figure  # no pyplot: no global figure state
    finals, curves = group(results, 'top1'), group(results, 'curve')
    fig = Figure(figsize=(12, 4.8), layout='tight')
    ax, ax2 = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[3, 2]))
    for i, arm in enumerate(arms):
        if arm.name not in curves:
            continue
        runs, color = curves[arm.name], f'C{i % 10}'  # tab10
        epochs = sorted({int(e) for curve in runs for e in curve})
        bands = np.array([mean_std([c[str(e)] for c in runs if str(e) in c])
                          for e in epochs], dtype=float).reshape(-1, 2)
        means, stds = bands[:, 0], np.nan_to_num(bands[:, 1])  # one run: no band
        ax.plot(epochs, means, color=color, marker='o', markersize=3,
                label=f'{arm.name} (n={len(runs)})')
        ax.fill_between(epochs, means - stds, means + stds, color=color, alpha=0.2,
                        linewidth=0)
        ax2.scatter([i] * len(runs), finals[arm.name], color=color, s=18, zorder=3)
        mean, std = mean_std(finals[arm.name])
        ax2.errorbar([i + 0.2], [mean], yerr=[std or 0.0], color=color, fmt='_',
                     markersize=12, capsize=3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel='epoch', ylabel=f'validation {metric}',
           title='validation curve, mean ± std over seeds')
    if curves:
        ax.legend(fontsize=8, loc='lower right')
    ax2.set_xticks(range(len(arms)), [a.name for a in arms], rotation=40, ha='right',
                   fontsize=8)
    ax2.set(xlim=(-0.5, len(arms) - 0.5), ylabel=f'final {metric}',
            title='final value per run (dots), mean ± std')
    ax.grid(alpha=0.3)
    ax2.grid(alpha=0.3, axis='y')
    if title:
        fig.suptitle(title, fontsize=10)
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format=osp.splitext(path)[1][1:].lower(), dpi=110)


def say(message, level='info'):
    print('[study]' + ('' if level == 'info' else f' {level}:'), message, flush=True)


def now_iso():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def fmt_time(seconds):
    h, rest = divmod(int(round(seconds)), 3600)
    return f'{h}h{rest // 60:02d}m' if h else f'{rest // 60}m{rest % 60:02d}s'


def git_commit():
    """The checkout's commit (``+dirty`` with uncommitted changes), or None."""
    cmd = ['git', '-C', REPO, 'describe', '--always', '--abbrev=10', '--exclude=*',
           '--dirty=+dirty']
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def hold_lock(work_dir):
    """One study per work dir: an exclusive flock (the kernel drops it when the
    study ends, however it ends) on a file holding the study's pid."""
    os.makedirs(work_dir, exist_ok=True)
    lock = open(osp.join(work_dir, '.study.lock'), 'a+')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        with lock:
            lock.seek(0)
            raise BadFileError(f'--work-dir {work_dir}: another study (pid '
                               f'{lock.read().strip()}) is running in it') from None
    lock.truncate(0)
    print(os.getpid(), file=lock, flush=True)
    return lock


@fileio.cli_errors  # bad input: one `error:` line on stderr, exit code 1
def main(argv=None):
    args = parse_args(argv)
    arms = [Arm(config, args.cfg_options) for config in args.configs]
    names = [arm.name for arm in arms]
    if len(set(names)) < len(names):
        raise BadFileError(f'two configs name the same arm (a config stem): {names}')
    baselines, pairs = comparisons(args.baseline, args.also_compare, names)
    for arm in args.seeds_of:
        require_arm(arm, '--arm-seeds', names)
    for key, what in (('randomness.seed', 'seed (use --seeds)'),
                      ('work_dir', 'work_dir (WORK_DIR/ARM/seed<S>)')):
        if key in args.cfg_options:
            raise BadFileError(f'--cfg-options {key}: the study sets the {what}')
    for flag, exts in (('csv', ('.csv',)), ('md', ('.md',)),
                       ('plot', ('.png', '.svg', '.pdf'))):
        path = getattr(args, flag) or osp.join(args.work_dir, f'study{exts[0]}')
        setattr(args, flag, fileio.require_writable(path, f'--{flag}'))
        if not path.lower().endswith(exts):
            raise BadFileError(f'--{flag} {path}: expected a file name ending in '
                               f'{" or ".join(exts)}')
    fileio.require_writable(osp.join(args.work_dir, '.study.lock'), '--work-dir')
    if not args.collect_only:
        sizes = {}  # of the datasets, each built once
        for arm in arms:
            arm.measure(sizes)
    study = Study(args, arms, baselines, pairs)
    if args.collect_only:  # the sizes from the finished runs (nothing built)
        for run, result in reversed(study.results()):
            for key in ('params', 'train_size', 'val_size'):
                setattr(run.arm, key, result[key])
        study.write_outputs()
    elif args.dry_run:
        for i, run in enumerate(study.runs, 1):
            print(f'{i}/{len(study.runs)} {run.label}: {run.state()} ({run.dir})')
    else:
        with hold_lock(args.work_dir):
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # as Ctrl-C
            try:
                return study.run_all()
            except KeyboardInterrupt:
                say('interrupted; rerun the same command to resume', 'warning')
                study.write_outputs()
                return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
