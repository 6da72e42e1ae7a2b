"""Run a controlled study: every config (an *arm*) x every seed, through the upstream
engine, then a CSV, a Markdown table and a plot of the outcome.

Usage:
    python tools/analysis/study.py CONFIG [CONFIG ...] --seeds 0 1 2
        --work-dir work_dirs/study [--baseline ARM | ARM=BASELINE ...]
        [--csv study.csv] [--md study.md] [--plot study.png]
        [--cfg-options KEY=VALUE ...] [--metric accuracy/top1]
        [--jobs N] [--threads T] [--dry-run | --collect-only]

An arm is named by its config file's stem. Each run is ``tools/train.py CONFIG
--work-dir WORK_DIR/ARM/seed<S> --cfg-options randomness.seed=S ...`` in a subprocess
(mmengine's Runner; its output goes to ``study_train.log`` in that folder), ``--jobs``
at a time, each with ``OMP_NUM_THREADS=--threads`` if given (on a CPU, two one-thread
runs use two cores better than one two-thread run). Runs go seed by seed (every arm's
seed 0 first), so an interrupted study has every arm with its first seeds.

A run's result is read from its mmengine json scalars log (``<timestamp>/vis_data/
scalars.json``, all of a resumed run's timestamps): the validation ``--metric`` after
every epoch; ``top1`` is the value after the last epoch. A run counts as finished when
its ``study_result.json`` exists, which is written (atomically) only after the
subprocess exited 0 and its log holds the metric of the config's last epoch, and
records a fingerprint of the merged config (seed and options included) and of the
model code (every ``.py`` file of the ``mmrla`` package beside this tool, which the
runs import: ``PYTHONPATH`` points at this checkout). Rerunning
the same command resumes a study: finished runs are not repeated, an interrupted run
resumes from its newest complete checkpoint (``tools/train.py --resume``), and a run
whose config or options changed since is moved aside to ``seed<S>.stale-<time>``
and started again (with a warning).

Outputs (rewritten after every finished run, so a partial study always has them):

- CSV, one row per finished run: model (the arm), seed, top1, epochs, train_size,
  val_size, params, wall_s (summed over the run's attempts), device, baseline, config,
  commit (of this checkout when the run finished);
- Markdown: per arm the mean +- sample std of top1 over its seeds, and its difference
  to its baseline with a 95 % confidence interval and p value from Welch's t test
  (unequal variances; needs >= 2 seeds in both arms), and that p value adjusted by
  Holm's step-down method over every comparison in the table (the family of tests);
- plot (matplotlib Agg): validation metric against epoch, mean +- std band per arm,
  and every run's final value per arm.

``--baseline NAME`` makes arm NAME the baseline of every other arm;
``--baseline ARM=NAME`` sets it for one arm (both forms combine); ``--also-compare
ARM=NAME`` adds a second comparison for an arm (a row of its own). ``--seeds`` applies
to every arm; ``--arm-seeds ARM=0,1,2,3,4`` gives one arm its own seeds. Bad input
(a missing or unreadable config, a config without per-epoch validation, bad or
repeated seeds, a baseline that is not an arm, an output that cannot be written,
another study running in the same work dir) stops the tool before any run, with one
``error:`` line.
"""
import argparse
import copy
import csv
import datetime
import hashlib
import json
import math
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time
from collections import OrderedDict

from mmrla.utils.fileio import (
    BadFileError,
    atomic_write,
    build_model_from_config,
    cli_errors,
    load_config_file,
    require_writable,
)

TRAIN = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'train.py')
RESULT = 'study_result.json'  # written when a run is complete
STATE = 'study_run.json'  # fingerprint and attempts of a started run
LOG = 'study_train.log'
CSV_FIELDS = ('model', 'seed', 'top1', 'epochs', 'train_size', 'val_size',
              'params', 'wall_s', 'device', 'baseline', 'config', 'commit')
REPO = osp.dirname(osp.dirname(TRAIN))
POLL_S = 20  # how often a running run's log is read (progress, wall time)


# ------------------------------------------------------------------ arguments

def seed_arg(text):
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected a non-negative integer seed, got {text!r}') from None
    if not 0 <= seed < 2**32:
        raise argparse.ArgumentTypeError(
            f'expected a seed in 0..2**32-1, got {seed}')
    return seed


def parse_args(argv=None):
    from mmrla.utils.launch import CfgOptions

    class KeepItems(CfgOptions):
        """Parsed for the checks here; the items as given for the runs."""

        def __call__(self, parser, namespace, values, option_string=None):
            super().__call__(parser, namespace, values, option_string)
            namespace.cfg_items = (getattr(namespace, 'cfg_items', None)
                                   or []) + list(values)

    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+', metavar='CONFIG',
                        help='one config per arm (the arm is its file stem)')
    parser.add_argument('--seeds', nargs='+', type=seed_arg, required=True,
                        help='seeds, one run per arm and seed')
    parser.add_argument('--work-dir', required=True,
                        help='the study folder: WORK_DIR/ARM/seed<S> per run')
    parser.add_argument(
        '--baseline', nargs='+', default=[], metavar='ARM=NAME',
        help='NAME: the baseline of every other arm; ARM=NAME: of one arm')
    parser.add_argument(
        '--also-compare', nargs='+', default=[], metavar='ARM=NAME',
        help='a further comparison of ARM with arm NAME')
    parser.add_argument(
        '--arm-seeds', nargs='+', default=[], metavar='ARM=S,S,...',
        help="one arm's own seeds (instead of --seeds)")
    parser.add_argument('--csv', help='default: WORK_DIR/study.csv')
    parser.add_argument('--md', help='default: WORK_DIR/study.md')
    parser.add_argument('--plot', help='default: WORK_DIR/study.png')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time (each its own process)')
    parser.add_argument('--threads', type=int, default=None,
                        help='OMP_NUM_THREADS of each run (default: as set)')
    parser.add_argument('--metric', default='accuracy/top1',
                        help='the validation metric of the scalars log')
    parser.add_argument('--title', default=None,
                        help='caption of the table and the plot')
    parser.add_argument('--cfg-options', nargs='+', action=KeepItems,
                        default={}, help='KEY=VALUE, passed to every run')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--dry-run', action='store_true',
                      help='check everything, list the runs and their state')
    mode.add_argument('--collect-only', action='store_true',
                      help='write the outputs from finished runs, run nothing')
    args = parser.parse_args(argv)
    for flag in ('jobs', 'threads'):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f'--{flag}: expected a positive integer, got {value}')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds: repeated seed in {args.seeds}')
    args.seeds_of = {}
    for spec in args.arm_seeds:
        arm, sep, seeds = spec.partition('=')
        try:
            if not sep or not arm:
                raise argparse.ArgumentTypeError('expected ARM=S,S,...')
            values = [seed_arg(t) for t in seeds.split(',')]
        except argparse.ArgumentTypeError as exc:
            parser.error(f'--arm-seeds {spec}: {exc}')
        if len(set(values)) != len(values):
            parser.error(f'--arm-seeds {spec}: repeated seed')
        args.seeds_of[arm_name(arm) if arm.endswith('.py') else arm] = values
    args.cfg_items = getattr(args, 'cfg_items', None) or []
    return args


def arm_name(config):
    return osp.splitext(osp.basename(config))[0]


def parse_baselines(specs, arms):
    """{arm: baseline or None} from ``--baseline`` items."""
    default, per_arm = None, {}
    names = ', '.join(arms)
    for spec in specs:
        arm, sep, base = spec.rpartition('=')
        base = arm_name(base) if base.endswith('.py') else base
        arm = arm_name(arm) if arm.endswith('.py') else arm
        if base not in arms:
            raise BadFileError(f'--baseline {spec}: {base!r} is not among the '
                               f'arms ({names})')
        if sep:
            if arm not in arms:
                raise BadFileError(f'--baseline {spec}: {arm!r} is not among '
                                   f'the arms ({names})')
            if arm == base:
                raise BadFileError(f'--baseline {spec}: an arm cannot be its '
                                   'own baseline')
            per_arm[arm] = base
        elif default is not None and default != base:
            raise BadFileError(f'--baseline: two default baselines, {default!r} '
                               f'and {base!r}; give the others as ARM=NAME')
        else:
            default = base
    out = OrderedDict()
    for arm in arms:
        base = per_arm.get(arm, default)
        out[arm] = None if base == arm else base
    return out


def comparisons(baselines, also, arms):
    """[(arm, baseline)]: every arm's baseline, then the ``--also-compare``
    pairs."""
    pairs = [(arm, base) for arm, base in baselines.items() if base]
    for spec in also:
        arm, sep, base = spec.partition('=')
        arm, base = (arm_name(n) if n.endswith('.py') else n
                     for n in (arm, base))
        for name in (arm, base):
            if not sep or name not in arms:
                raise BadFileError(f'--also-compare {spec}: expected ARM=NAME '
                                   f'with both among the arms ({", ".join(arms)})')
        if arm == base or (arm, base) in pairs:
            raise BadFileError(f'--also-compare {spec}: an arm against itself '
                               'or a comparison already made')
        pairs.append((arm, base))
    return pairs


# --------------------------------------------------------------------- arms

class Arm:
    """One config: its merged config, fingerprint inputs, sizes and params."""

    def __init__(self, config, cfg_options):
        self.config = config
        self.name = arm_name(config)
        cfg = load_config_file(config, 'config')
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        self.cfg = cfg
        where = f'config {config}'
        train_cfg = cfg.get('train_cfg') or {}
        loop = train_cfg.get('type', 'EpochBasedTrainLoop')
        if not train_cfg.get('by_epoch', loop == 'EpochBasedTrainLoop') or \
                loop not in ('EpochBasedTrainLoop', 'mmengine.EpochBasedTrainLoop'):
            raise BadFileError(f'{where}: expected epoch-based training '
                               '(train_cfg.by_epoch=True), got train_cfg='
                               f'{dict(train_cfg)}')
        epochs = train_cfg.get('max_epochs')
        if not isinstance(epochs, int) or epochs < 1:
            raise BadFileError(f'{where}: expected train_cfg.max_epochs, a '
                               f'positive int, got {epochs!r}')
        self.epochs = epochs
        if not cfg.get('val_dataloader') or not cfg.get('val_evaluator') or \
                cfg.get('val_cfg') is None:
            raise BadFileError(f'{where}: the study reads the validation metric '
                               'after each epoch; expected val_dataloader, '
                               'val_evaluator and val_cfg')
        backends = (cfg.get('visualizer') or {}).get('vis_backends') or []
        if not any('LocalVisBackend' in str(b.get('type', ''))
                   for b in backends if isinstance(b, dict)):
            raise BadFileError(f'{where}: expected a LocalVisBackend in '
                               'visualizer.vis_backends (it writes the json '
                               'scalars log the study reads)')
        self.params = None
        self.train_size = None
        self.val_size = None

    def fingerprint(self, seed):
        """What a finished run must match to count: the merged config, seeded,
        and the model code."""
        cfg = copy.deepcopy(self.cfg)
        cfg.merge_from_dict({'randomness.seed': seed})
        text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
        return hashlib.sha256((text + code_hash()).encode()).hexdigest()[:16]

    def measure(self, dataset_sizes):
        """Params of the model and the sizes of its datasets (built once; a bad
        model or missing data shows up here, before any run)."""
        from mmengine.registry import DATASETS
        model, _ = build_model_from_config(self.cfg, f'config {self.config}')
        self.params = sum(p.numel() for p in model.parameters())
        del model
        sizes = []
        for split in ('train', 'val'):
            dataset = self.cfg[f'{split}_dataloader']['dataset']
            key = json.dumps(dataset.to_dict() if hasattr(dataset, 'to_dict')
                             else dict(dataset), sort_keys=True, default=repr)
            if key not in dataset_sizes:
                try:
                    dataset_sizes[key] = len(DATASETS.build(dataset))
                except Exception as exc:
                    text = str(exc).strip().splitlines()
                    raise BadFileError(
                        f'config {self.config}: cannot load {split}_dataloader.'
                        f'dataset: {type(exc).__name__}: '
                        f'{text[0] if text else ""}') from exc
            sizes.append(dataset_sizes[key])
        self.train_size, self.val_size = sizes


def check_outputs(args):
    for flag in ('csv', 'md', 'plot'):
        path = getattr(args, flag)
        require_writable(path, f'--{flag}')
    exts = {'csv': ('.csv', ), 'md': ('.md', ),
            'plot': ('.png', '.svg', '.pdf')}
    for flag, allowed in exts.items():
        path = getattr(args, flag)
        if not path.lower().endswith(allowed):
            raise BadFileError(f'--{flag} {path}: expected a file name ending '
                               f'in {" or ".join(allowed)}')
    for flag in ('csv', 'md', 'plot'):
        path = osp.abspath(getattr(args, flag))
        work = osp.abspath(args.work_dir)
        if path.startswith(work + os.sep) and osp.basename(
                osp.dirname(path)).startswith('seed'):
            raise BadFileError(f'--{flag} {path}: inside a run folder')


def check_work_dir(work_dir):
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise BadFileError(f'--work-dir {work_dir} is not a folder')
    try:
        os.makedirs(work_dir, exist_ok=True)
        probe = osp.join(work_dir, f'.study-probe-{os.getpid()}')
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as exc:
        raise BadFileError(f'--work-dir {work_dir} cannot be written: '
                           f'{exc.strerror or exc}') from exc


class StudyLock:
    """One study process per work dir (a second would run the same runs)."""

    def __init__(self, work_dir):
        self.path = osp.join(work_dir, '.study.lock')
        self.held = False

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(self.path) as f:
                    pid = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and pid_alive(pid):
                raise BadFileError(
                    f'--work-dir {osp.dirname(self.path)}: another study '
                    f'(pid {pid}) is running in it ({self.path})') from None
            os.remove(self.path)  # left by a study that was killed
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        self.held = True
        return self

    def __exit__(self, *exc):
        if self.held:
            try:
                os.remove(self.path)
            except OSError:
                pass


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------------- logs

def read_json(path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def scalars_logs(run_dir):
    """The run's json scalars logs, oldest first (one per start of the run)."""
    if not osp.isdir(run_dir):
        return []
    found = []
    for stamp in sorted(os.listdir(run_dir)):
        vis = osp.join(run_dir, stamp, 'vis_data')
        for name in ('scalars.json', f'{stamp}.json'):
            if osp.isfile(osp.join(vis, name)):
                found.append(osp.join(vis, name))
                break
    return found


def read_curve(run_dir, metric):
    """{epoch: value} of ``metric`` over all of the run's logs (a later start of
    the run overrides an epoch an earlier one logged). Garbled lines (a run killed
    while writing) are skipped."""
    curve = {}
    for path in scalars_logs(run_dir):
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict) or metric not in record:
                    continue
                step, value = record.get('step'), record[metric]
                if isinstance(step, int) and isinstance(value, (int, float)):
                    curve[step] = float(value)
    return dict(sorted(curve.items()))


def has_checkpoint(run_dir):
    return osp.isdir(run_dir) and any(
        name.endswith('.pth') or name == 'last_checkpoint'
        for name in os.listdir(run_dir))


# ------------------------------------------------------------------- runs

def code_hash(_cache={}):
    """sha256 of every .py file of the mmrla package the runs import (path and
    content), so a run of other model code does not count as finished."""
    if 'hash' not in _cache:
        digest = hashlib.sha256()
        root = osp.join(REPO, 'mmrla')
        for folder, dirs, files in sorted(os.walk(root)):
            dirs.sort()
            for name in sorted(f for f in files if f.endswith('.py')):
                path = osp.join(folder, name)
                digest.update(osp.relpath(path, REPO).encode() + b'\0')
                with open(path, 'rb') as f:
                    digest.update(f.read() + b'\0')
        _cache['hash'] = digest.hexdigest()
    return _cache['hash']


class Run:

    def __init__(self, arm, seed, work_dir):
        self.arm = arm
        self.seed = seed
        self.dir = osp.join(work_dir, arm.name, f'seed{seed}')
        self.fingerprint = arm.fingerprint(seed)

    @property
    def label(self):
        return f'{self.arm.name} seed {self.seed}'

    def result(self):
        """The finished run's result, or None (not finished, or stale)."""
        result = read_json(osp.join(self.dir, RESULT))
        if not isinstance(result, dict) or result.get('fingerprint') != \
                self.fingerprint or not isinstance(result.get('top1'), float):
            return None
        return result

    def state(self):
        """'finished', 'stale' (a result or start of another config), 'partial'
        (started: resumes) or 'new'."""
        if self.result() is not None:
            return 'finished'
        if not osp.isdir(self.dir) or not os.listdir(self.dir):
            return 'new'
        for name in (RESULT, STATE):
            data = read_json(osp.join(self.dir, name))
            if isinstance(data, dict) and data.get('fingerprint') not in (
                    None, self.fingerprint):
                return 'stale'
        return 'partial'

    def move_aside(self):
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
        target = f'{self.dir}.stale-{stamp}'
        shutil.move(self.dir, target)
        return target


class Study:

    def __init__(self, args, arms, baselines, pairs):
        self.args = args
        self.arms = arms
        self.baselines = baselines
        self.pairs = pairs
        seeds = {arm.name: args.seeds_of.get(arm.name, args.seeds)
                 for arm in arms}
        # seed by seed: every arm's first seeds before any arm's later ones
        self.runs = [Run(arm, seed, args.work_dir)
                     for seed in sorted({s for ss in seeds.values() for s in ss})
                     for arm in arms if seed in seeds[arm.name]]
        self.device = device_name(args.threads)
        self.commit = git_commit()

    # -- running

    def run_all(self):
        """Run every unfinished run, up to ``--jobs`` at a time."""
        todo = [(i, r) for i, r in enumerate(self.runs, 1)
                if r.state() != 'finished']
        n = len(self.runs)
        seeds = (f'{len(self.args.seeds)} seeds' if not self.args.seeds_of
                 else 'their seeds')
        say(f'{n} runs ({len(self.arms)} arms x {seeds}): '
            f'{n - len(todo)} finished, {len(todo)} to run'
            + (f', {self.args.jobs} at a time' if self.args.jobs > 1 else ''))
        failed, active = [], []
        try:
            while todo or active:
                while todo and len(active) < self.args.jobs:
                    i, run = todo.pop(0)
                    say(f'run {i}/{n}: {run.label} '
                        f'(study ETA {fmt_time(self.eta(len(active)))})')
                    active.append(self.start(run, f'{i}/{n}'))
                waited = 0.0  # progress every POLL_S, an ended run at once
                while waited < POLL_S and all(
                        job['child'].poll() is None for job in active):
                    time.sleep(0.5)
                    waited += 0.5
                for job in list(active):
                    if self.poll(job):
                        active.remove(job)
                        if not self.finish(job):
                            failed.append(job['run'])
                        self.write_outputs()
        finally:
            for job in active:  # interrupted: stop the runs too
                self.stop(job)
        if failed:
            say(f'{len(failed)} runs failed: '
                f'{", ".join(r.label for r in failed)}; their logs are '
                f'{LOG} in their folders. Rerun the same command to retry them '
                '(finished runs are kept).')
            return 1
        say('all runs finished')
        return 0

    def eta(self, running=0):
        """Seconds left: each unfinished run costs its arm's mean wall time so far
        (or the mean over all finished runs), ``--jobs`` at a time."""
        walls = {}
        for run in self.runs:
            result = run.result()
            if result is not None:
                walls.setdefault(run.arm.name, []).append(result['wall_s'])
        every = [w for ws in walls.values() for w in ws]
        if not every:
            return None
        total = 0.0
        for run in self.runs:
            if run.result() is None:
                ws = walls.get(run.arm.name) or every
                total += sum(ws) / len(ws)
        return total / self.args.jobs

    def start(self, run, progress):
        state = run.state()
        if state == 'stale':
            moved = run.move_aside()
            say(f'{run.label}: its config or options changed since it started;'
                f' the old run moved to {moved}, starting again', 'warning')
        os.makedirs(run.dir, exist_ok=True)
        info = read_json(osp.join(run.dir, STATE))
        if not isinstance(info, dict) or info.get('fingerprint') != \
                run.fingerprint:
            info = dict(fingerprint=run.fingerprint, arm=run.arm.name,
                        seed=run.seed, config=run.arm.config, attempts=[])
        cmd = [sys.executable, TRAIN, run.arm.config, '--work-dir', run.dir,
               '--cfg-options', f'randomness.seed={run.seed}',
               *self.args.cfg_items]
        if has_checkpoint(run.dir):
            cmd.append('--resume')
        attempt = dict(start=now_iso(), wall_s=0.0, rc=None,
                       resumed='--resume' in cmd)
        info['attempts'].append(attempt)
        write_json(osp.join(run.dir, STATE), info)
        env = dict(os.environ)
        # the runs import this checkout's mmrla (the code the fingerprint covers),
        # not whichever one is installed
        env['PYTHONPATH'] = os.pathsep.join(
            [REPO] + [p for p in [env.get('PYTHONPATH')] if p])
        if self.args.threads:
            for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
                env[var] = str(self.args.threads)
        log = open(osp.join(run.dir, LOG), 'a')
        log.write(f'\n[study] {now_iso()} {" ".join(cmd)}\n')
        log.flush()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                 env=env)
        return dict(run=run, progress=progress, info=info, attempt=attempt,
                    log=log, child=child, start=time.monotonic(),
                    seen=set(read_curve(run.dir, self.args.metric)))

    def poll(self, job):
        """Progress of a running run; True when it has ended."""
        run, attempt = job['run'], job['attempt']
        ended = job['child'].poll() is not None
        attempt['wall_s'] = round(time.monotonic() - job['start'], 1)
        write_json(osp.join(run.dir, STATE), job['info'])
        curve = read_curve(run.dir, self.args.metric)
        for epoch in sorted(set(curve) - job['seen']):
            say(f'run {job["progress"]}: {run.label}: epoch '
                f'{epoch}/{run.arm.epochs} {self.args.metric} '
                f'{curve[epoch]:.2f} ({fmt_time(attempt["wall_s"])})')
        job['seen'] |= set(curve)
        return ended

    def stop(self, job):
        child = job['child']
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.close(job)

    def close(self, job):
        job['attempt']['wall_s'] = round(time.monotonic() - job['start'], 1)
        job['attempt']['rc'] = job['child'].returncode
        write_json(osp.join(job['run'].dir, STATE), job['info'])
        job['log'].close()

    def finish(self, job):
        """Record an ended run; True if it finished (its result written)."""
        self.close(job)
        run, progress, info = job['run'], job['progress'], job['info']
        rc = job['child'].returncode
        curve = read_curve(run.dir, self.args.metric)
        if rc != 0:
            say(f'run {progress}: {run.label} FAILED (exit code {rc}); the end '
                f'of {osp.join(run.dir, LOG)}:\n' + tail(osp.join(run.dir, LOG)),
                'error')
            return False
        if run.arm.epochs not in curve:
            say(f'run {progress}: {run.label} FAILED: it exited 0, but its '
                f'scalars logs ({", ".join(scalars_logs(run.dir)) or "none"}) '
                f'hold no {self.args.metric!r} for epoch {run.arm.epochs} '
                f'(epochs logged: {sorted(curve) or "none"})', 'error')
            return False
        wall = sum(a['wall_s'] for a in info['attempts'])
        result = dict(
            fingerprint=run.fingerprint, model=run.arm.name, seed=run.seed,
            top1=curve[run.arm.epochs], metric=self.args.metric,
            curve={str(k): v for k, v in curve.items()},
            epochs=run.arm.epochs, train_size=run.arm.train_size,
            val_size=run.arm.val_size, params=run.arm.params,
            wall_s=round(wall, 1), device=self.device,
            threads=self.args.threads, jobs=self.args.jobs,
            config=run.arm.config, commit=self.commit, finished=now_iso())
        write_json(osp.join(run.dir, RESULT), result)
        say(f'run {progress}: {run.label} done: {self.args.metric} '
            f'{result["top1"]:.2f} in {fmt_time(wall)}')
        return True

    def stop_child(self, *_):
        raise KeyboardInterrupt  # run_all's finally stops the runs

    # -- outputs

    def results(self):
        return [(run, run.result()) for run in self.runs
                if run.result() is not None]

    def write_outputs(self):
        results = self.results()
        write_csv(self.args.csv, results, self.baselines)
        table = markdown_table(results, self.arms, self.pairs,
                               self.args.metric, self.args.title,
                               len(self.runs))
        with atomic_write(self.args.md) as f:
            f.write(table)
        write_plot(self.args.plot, results, self.arms, self.args.metric,
                   self.args.title)
        say(f'wrote {self.args.csv}, {self.args.md}, {self.args.plot} '
            f'({len(results)} of {len(self.runs)} runs)')


# ---------------------------------------------------------------- outputs

def write_csv(path, results, baselines):
    with atomic_write(path, newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for run, result in results:
            row = {k: result.get(k) for k in CSV_FIELDS}
            row['top1'] = f'{result["top1"]:.2f}'
            row['baseline'] = baselines.get(run.arm.name) or ''
            writer.writerow(row)


def mean_std(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))


def welch(a, b, level=0.95):
    """Mean of ``a`` minus mean of ``b``, its ``level`` confidence interval and the
    two-sided p value of Welch's t test; CI and p are None with < 2 values in
    either sample."""
    ma, sa = mean_std(a)
    mb, sb = mean_std(b)
    diff = ma - mb
    if sa is None or sb is None:
        return diff, None, None
    va, vb = sa**2 / len(a), sb**2 / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, (diff, diff), 0.0 if diff else 1.0
    df = (va + vb)**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    from scipy import stats
    half = stats.t.ppf(0.5 + level / 2, df) * se
    p = 2 * stats.t.sf(abs(diff) / se, df)
    return diff, (diff - half, diff + half), float(p)


def group(results):
    """{arm: [final values]} and {arm: [curves]}, in run order."""
    finals, curves = OrderedDict(), OrderedDict()
    for run, result in results:
        finals.setdefault(run.arm.name, []).append(result['top1'])
        curves.setdefault(run.arm.name, []).append(
            {int(k): v for k, v in result['curve'].items()})
    return finals, curves


def holm(pvalues):
    """Holm's step-down adjustment of ``pvalues`` (Nones kept): the family-wise
    error rate over all of them is at most the level each is compared with."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted, running = list(pvalues), 0.0
    for rank, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (len(ranked) - rank) * p))
        adjusted[i] = running
    return adjusted


def fmt_p(p):
    return '—' if p is None else f'{p:.2f}' if p >= 0.01 else f'{p:.0e}'


def markdown_table(results, arms, pairs, metric, title, planned):
    finals, _ = group(results)
    walls = {}
    for run, result in results:
        walls.setdefault(run.arm.name, []).append(result['wall_s'])
    rows = []  # (arm, baseline or None); an arm with several baselines: a row each
    for arm in arms:
        bases = [b for a, b in pairs if a == arm.name] or [None]
        rows += [(arm, base) for base in bases]
    tests = []
    for arm, base in rows:
        values, ref = finals.get(arm.name), finals.get(base)
        tests.append(welch(values, ref) if base and values and ref else None)
    adjusted = holm([t[2] if t else None for t in tests])
    lines = []
    if title:
        lines += [f'**{title}**', '']
    lines += [
        f'| arm | baseline | seeds | {metric} mean ± std | Δ vs baseline '
        '[95 % CI] | p (Welch) | p (Holm) | params | epochs | train images | '
        'wall/run |', '|' + '---|' * 11
    ]
    for (arm, base), test, p_holm in zip(rows, tests, adjusted):
        values = finals.get(arm.name, [])
        if values:
            mean, std = mean_std(values)
            cell = f'{mean:.2f} ± {std:.2f}' if std is not None else \
                f'{mean:.2f}'
        else:
            cell = '—'
        delta, p = '—', None
        if test is not None:
            diff, ci, p = test
            delta = (f'{diff:+.2f} (CI needs ≥ 2 seeds each)' if ci is None
                     else f'{diff:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]')
        elif base and values:
            delta = '— (no baseline runs yet)'
        wall = walls.get(arm.name)
        lines.append(
            f'| {arm.name} | {base or "—"} | {len(values)} | {cell} | {delta} '
            f'| {fmt_p(p)} | {fmt_p(p_holm)} | {count(arm.params)} | '
            f'{arm.epochs} | {count(arm.train_size)} | '
            f'{fmt_time(sum(wall) / len(wall)) if wall else "—"} |')
    n_tests = sum(p is not None for p in adjusted)
    lines += [
        '', f'{len(results)} of {planned} runs finished. {metric}: after the '
        'last epoch, on the validation set; mean ± sample standard deviation '
        'over seeds; Δ: mean difference to the baseline arm, 95 % confidence '
        "interval and two-sided p value of Welch's t test (unequal variances); "
        f"p (Holm): that p value adjusted by Holm's method over the {n_tests} "
        'comparisons of this table. A CI that contains 0 does not show a '
        'difference; a difference is significant at the 5 % level (family-wise) '
        'only where p (Holm) < 0.05.', ''
    ]
    return '\n'.join(lines)


def write_plot(path, results, arms, metric, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    finals, curves = group(results)
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(12, 4.8), gridspec_kw=dict(width_ratios=[3, 2]))
    colors = plt.get_cmap('tab10')
    try:
        for i, arm in enumerate(arms):
            color = colors(i % 10)
            runs = curves.get(arm.name)
            if not runs:
                continue
            epochs = sorted(set().union(*runs))
            means, stds = [], []
            for e in epochs:
                m, s = mean_std([c[e] for c in runs if e in c])
                means.append(m)
                stds.append(s or 0.0)
            ax.plot(epochs, means, color=color, marker='o', markersize=3,
                    label=f'{arm.name} (n={len(runs)})')
            ax.fill_between(epochs, [m - s for m, s in zip(means, stds)],
                            [m + s for m, s in zip(means, stds)],
                            color=color, alpha=0.2, linewidth=0)
            values = finals[arm.name]
            ax2.scatter([i] * len(values), values, color=color, s=18,
                        zorder=3)
            m, s = mean_std(values)
            ax2.errorbar([i + 0.2], [m], yerr=[s or 0.0], color=color,
                         fmt='_', markersize=12, capsize=3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel('epoch')
        ax.set_ylabel(f'validation {metric} (%)')
        ax.set_title('validation curve, mean ± std over seeds')
        ax.grid(alpha=0.3)
        if curves:
            ax.legend(fontsize=8, loc='lower right')
        ax2.set_xticks(range(len(arms)))
        ax2.set_xlim(-0.5, len(arms) - 0.5)
        ax2.set_xticklabels([a.name for a in arms], rotation=40, ha='right',
                            fontsize=8)
        ax2.set_ylabel(f'final {metric} (%)')
        ax2.set_title('final value per run (dots), mean ± std')
        ax2.grid(alpha=0.3, axis='y')
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        fmt = osp.splitext(path)[1][1:].lower()
        with atomic_write(path, 'wb') as f:
            fig.savefig(f, format=fmt, dpi=110)
    finally:
        plt.close(fig)


# ------------------------------------------------------------------ helpers

def count(value):
    return '—' if value is None else f'{value:,}'


def say(message, level='info'):
    prefix = '[study]' if level == 'info' else f'[study] {level}:'
    print(f'{prefix} {message}', flush=True)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def fmt_time(seconds):
    if seconds is None:
        return 'unknown until a run finishes'
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f'{h}h{m:02d}m' if h else f'{m}m{s:02d}s'


def tail(path, lines=15):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return ''.join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return '(no log)'


def write_json(path, data):
    with atomic_write(path) as f:
        json.dump(data, f, indent=1)


def git_commit():
    """The checkout's commit (``+dirty`` with uncommitted changes), or None."""
    repo = osp.dirname(osp.dirname(TRAIN))
    try:
        head = subprocess.run(['git', '-C', repo, 'rev-parse', '--short=10',
                               'HEAD'], capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(['git', '-C', repo, 'status', '--porcelain',
                                '--untracked-files=no'], capture_output=True,
                               text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ('+dirty' if dirty else '')) or None


def device_name(threads=None):
    import torch
    if torch.cuda.is_available():
        return f'cuda: {torch.cuda.get_device_name(0)}'
    return f'cpu: {threads or torch.get_num_threads()} threads'


@cli_errors  # bad input: one `error:` line on stderr, exit code 1
def main(argv=None):
    args = parse_args(argv)
    for config in args.configs:
        if not osp.isfile(config):
            raise BadFileError(f'config file not found: {config}')
    names = [arm_name(c) for c in args.configs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadFileError(f'two configs name the same arm {repeated[0]!r} '
                           '(an arm is a config file stem); rename one')
    baselines = parse_baselines(args.baseline, names)
    pairs = comparisons(baselines, args.also_compare, names)
    unknown = sorted(set(args.seeds_of) - set(names))
    if unknown:
        raise BadFileError(f'--arm-seeds: {unknown[0]!r} is not among the arms '
                           f'({", ".join(names)})')
    for key, what in (('randomness.seed', 'seed (use --seeds)'),
                      ('work_dir', 'work_dir (WORK_DIR/ARM/seed<S>)')):
        if any(item.split('=', 1)[0] == key for item in args.cfg_items):
            raise BadFileError(f'--cfg-options {key}: the study sets the {what}')
    for flag, ext in (('csv', 'csv'), ('md', 'md'), ('plot', 'png')):
        if getattr(args, flag) is None:
            setattr(args, flag, osp.join(args.work_dir, f'study.{ext}'))
    check_outputs(args)
    check_work_dir(args.work_dir)
    arms = [Arm(c, args.cfg_options) for c in args.configs]
    if not args.collect_only:
        sizes = {}
        for arm in arms:
            arm.measure(sizes)
    study = Study(args, arms, baselines, pairs)
    if args.collect_only:
        for arm in arms:  # from the finished runs (no model or data built)
            done = [r.result() for r in study.runs if r.arm is arm]
            done = [d for d in done if d]
            if done:
                arm.params, arm.train_size, arm.val_size = (
                    done[0]['params'], done[0]['train_size'],
                    done[0]['val_size'])
        study.write_outputs()
        return 0
    if args.dry_run:
        for i, run in enumerate(study.runs, 1):
            print(f'{i}/{len(study.runs)} {run.label}: {run.state()} '
                  f'({run.dir})')
        return 0
    with StudyLock(args.work_dir):
        signal.signal(signal.SIGTERM, study.stop_child)
        try:
            return study.run_all()
        except KeyboardInterrupt:
            say('interrupted; rerun the same command to resume', 'warning')
            study.write_outputs()
            return 130


if __name__ == '__main__':
    sys.exit(main())
