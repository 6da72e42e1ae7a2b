"""Time and memory of a config's model against a baseline config's, side by side.

Usage:
    python tools/analysis/benchmark.py CONFIG BASELINE [--batch 8] [--shape H W]
        [--device cpu|cuda] [--repeats 10] [--warmup 2] [--amp] [--out FILE.md]
        [--a-options k=v ...] [--b-options k=v ...] [--retain-memory]
        [--clock wall|cpu]

Classifiers run ``--batch`` images of ``--shape`` (default 224 x 224); detectors one
image per batch (default 800 x 1333, a COCO-sized image) with a few random boxes. A
training step is forward + loss + backward + SGD step; inference is the model's
``predict``. Two-stage detectors' RPN output convs are zeroed and frozen in both
models, so that both propose the same boxes: random RPNs do not, and RoIAlign's cost
follows the proposals' areas (see ``same_proposals``). The two models alternate (A, B,
A, B, ...) so that drifts of the machine hit both alike; warm-up runs are not timed;
``--clock cpu`` times one intra-op thread's CPU time (``time.thread_time`` under
``torch.set_num_threads(1)``) instead of wall time: on a machine shared with other
jobs, their load barely moves it (CPU only). Medians and the spread (min-max) are
printed with the ratio A/B of the medians, and the
median and range of the ratios of each pair (A_i / B_i). Peak training memory:
the CUDA allocator's peak on GPU; on CPU the growth of the peak resident set of a
fresh subprocess per model over what it had after importing the libraries, before
building the model (so the interpreter and libraries do not dilute the ratio; needs
Linux's /proc); with glibc, that subprocess maps every block over 64 KiB on its own
(``glibc_malloc.map_large_blocks``), so that its resident set follows the live
tensors, not the heap's fragments (repeatable to 0.1 MiB here instead of 8 %), whether
or not ``--retain-memory`` is given. ``--amp``: bf16 autocast on CPU, fp16 on CUDA.
The table is printed as Markdown and, with ``--out``, written there with the machine,
date and command (atomically: never half-written). A bad CONFIG or BASELINE (missing,
empty, not a model config, syntax error) or an unwritable ``--out``: ``error: ...`` on
stderr, exit code 1, before anything is timed.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from glibc_malloc import map_large_blocks, retain_freed_memory  # beside this file

from mmrla.utils.fileio import (
    atomic_write,
    build_model_from_config,
    cli_errors,
    load_config_file,
    require_writable,
)
from mmrla.utils.launch import CfgOptions


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('baseline')
    parser.add_argument('--batch', type=int, default=None,
                        help='default: 8 (classifiers), 1 (detectors)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile both backbones')
    parser.add_argument('--retain-memory', action='store_true',
                        help='keep freed CPU memory in the process (glibc: no '
                        'mmap, no trim; see glibc_malloc.py) while both '
                        'models are timed (the memory runs map large blocks '
                        'singly either way)')
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help='wall: elapsed time (default); cpu: one '
                        "intra-op thread's CPU time (a machine shared with "
                        'other jobs)')
    parser.add_argument('--out', help='write the Markdown table here')
    parser.add_argument('--a-options', nargs='+', action=CfgOptions,
                        default={}, help='config overrides for CONFIG only, '
                        'e.g. model.backbone.with_cp=True')
    parser.add_argument('--b-options', nargs='+', action=CfgOptions,
                        default={}, help='config overrides for BASELINE only')
    parser.add_argument('--memory-only', action='store_true',
                        help=argparse.SUPPRESS)  # the per-model subprocess
    return parser.parse_args(argv)


def build(config, device, options=None):
    cfg = load_config_file(config)
    if options:
        cfg.merge_from_dict(options)
    model, scope = build_model_from_config(cfg, config)
    return model.to(device), scope == 'mmdet'


def make_batch(model, detector, batch, shape, device):
    """A data batch through the model's preprocessor, for loss and predict."""
    h, w = shape
    if detector:
        from mmdet.testing import demo_mm_inputs
        packed = demo_mm_inputs(batch, [[3, h, w]] * batch,
                                num_items=[3] * batch, num_classes=80)
    else:
        from mmpretrain.structures import DataSample
        num_classes = model.head.num_classes
        packed = dict(
            inputs=[torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
                    for _ in range(batch)],
            data_samples=[
                DataSample().set_gt_label(i % num_classes)
                for i in range(batch)
            ])
    data = model.data_preprocessor(packed, True)
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v
            for k, v in data.items()}


def same_proposals(model):
    """Zero and freeze a two-stage detector's RPN output convs, so that every
    model proposes the same boxes (the anchors, in one order) at every step.

    Random RPNs propose boxes whose sizes follow the random features, and
    RoIAlign's adaptive sampling (``sampling_ratio=0``) costs in proportion to
    the RoIs' areas: at random init, Faster R-CNN RLA-R50's RoIs covered 1.3 to
    2.6x the area of R50's (three seeds), and RoIAlign alone made 670 ms of a
    744 ms gap per training step; with the same proposals, areas within 1 %.
    The convs cost what they did (zeros are multiplied all the same).
    """
    rpn = getattr(model, 'rpn_head', None)
    for name in ('rpn_cls', 'rpn_reg'):
        conv = getattr(rpn, name, None)
        if isinstance(conv, torch.nn.Conv2d):
            torch.nn.init.zeros_(conv.weight)
            torch.nn.init.zeros_(conv.bias)
            conv.requires_grad_(False)


class Runner:
    """One model's training step and inference, ready to be timed."""

    def __init__(self, config, args, shape, options=None):
        self.device = torch.device(args.device)
        self.model, detector = build(config, self.device, options)
        batch = args.batch or (1 if detector else 8)
        self.data = make_batch(self.model, detector, batch, shape,
                               self.device)
        if detector:
            same_proposals(self.model)
        if args.compile:
            self.model.backbone = torch.compile(self.model.backbone)
        self.optim = torch.optim.SGD(self.model.parameters(), lr=1e-4,
                                     momentum=0.9)
        dtype = torch.float16 if self.device.type == 'cuda' else torch.bfloat16
        self.autocast = dict(device_type=self.device.type, dtype=dtype,
                             enabled=args.amp)

    def train_step(self):
        self.model.train()
        self.optim.zero_grad(set_to_none=True)
        with torch.autocast(**self.autocast):
            losses = self.model(**self.data, mode='loss')
        total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                    for k, v in losses.items() if 'loss' in k)
        total.backward()
        self.optim.step()

    def infer(self):
        self.model.eval()
        with torch.no_grad(), torch.autocast(**self.autocast):
            self.model(**self.data, mode='predict')

    def timed(self, fn, clock=time.perf_counter):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        start = clock()
        fn()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        return clock() - start


def _status_mib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def memory_only(args, shape):
    """In a fresh process: training-step memory of one model, as JSON.

    The libraries are imported first; then the resident set is read and its
    high-water mark reset (Linux ``/proc/self/clear_refs``), the model built and
    trained for two steps, and the growth of the high-water mark reported.
    Large blocks are mapped on their own (glibc), so that the high-water mark is
    that of the live tensors, not of the allocator's fragments.
    """
    cfg = load_config_file(args.config)
    scope = cfg.get('default_scope', 'mmpretrain')
    __import__(f'{scope}.models')
    device = torch.device(args.device)
    mapped = False
    if device.type == 'cpu':
        mapped = map_large_blocks()
        base = _status_mib('VmRSS')
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
    runner = Runner(args.config, args, shape, args.a_options)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(2):
        runner.train_step()
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = _status_mib('VmHWM') - base
    print(json.dumps(dict(peak_mib=peak, large_blocks_mapped=mapped)))
    return 0


def measure_memory(config, options, argv):
    cmd = [sys.executable, __file__, config, config, '--memory-only'] + argv
    if options:  # this side's overrides, as the subprocess's --a-options
        cmd += ['--a-options'] + [f'{k}={v!r}' for k, v in options.items()]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f'error: memory run of {config} failed:\n'
                         f'{out.stderr[-2000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(options):
    return f' ({", ".join(f"{k}={v}" for k, v in options.items())})' \
        if options else ''


def spread(values):
    return f'{min(values) * 1e3:.0f}-{max(values) * 1e3:.0f}'


def paired_ratio(a_times, b_times):
    """The median and range of ``A_i / B_i`` over the interleaved pairs: each
    pair ran back to back, so a drift of the machine between pairs cancels,
    and the range shows how far single pairs stray."""
    ratios = [a / b for a, b in zip(a_times, b_times, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def cpu_name():
    """The CPU's model and the instruction set torch's kernels use.

    Ratios moved between the project's machines (AVX2 and AVX-512 ones), so a
    table names the CPU it was measured on, not only its architecture.
    """
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            name = next((line.split(':', 1)[1].strip() for line in f
                         if line.startswith('model name')), name)
    except OSError:  # not Linux
        pass
    return f'{name} ({torch.backends.cpu.get_cpu_capability()})'


@cli_errors  # a bad config or --out: one line on stderr, exit code 1
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.shape is not None and min(args.shape) < 1:
        print(f'error: --shape must be positive, got {args.shape[0]} '
              f'{args.shape[1]}', file=sys.stderr)
        return 1
    if (args.repeats < 1 or args.warmup < 0
            or (args.batch is not None and args.batch < 1)):
        print('error: --repeats and --batch must be >= 1, --warmup >= 0',
              file=sys.stderr)
        return 1
    if args.clock == 'cpu' and not args.device.startswith('cpu'):
        print(f'error: --clock cpu times CPU threads; --device {args.device} '
              'needs --clock wall', file=sys.stderr)
        return 1
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print('error: --device cuda but no CUDA device', file=sys.stderr)
        return 1
    # bad files fail here, before minutes of timing
    load_config_file(args.config)
    detector = load_config_file(args.baseline).get('default_scope') == 'mmdet'
    if args.out:
        require_writable(args.out)
    shape = tuple(args.shape or ((800, 1333) if detector else (224, 224)))
    if args.retain_memory and not retain_freed_memory():
        print('error: --retain-memory needs glibc malloc (Linux)',
              file=sys.stderr)
        return 1
    if args.memory_only:
        return memory_only(args, shape)

    clock = time.perf_counter
    if args.clock == 'cpu':
        torch.set_num_threads(1)  # thread_time sees only this thread
        clock = time.thread_time
    runners = {
        'A': Runner(args.config, args, shape, args.a_options),
        'B': Runner(args.baseline, args, shape, args.b_options)
    }
    for runner in runners.values():
        for _ in range(args.warmup):
            runner.train_step()
            runner.infer()
    times = {(n, m): [] for n in runners for m in ('train', 'infer')}
    for _ in range(args.repeats):
        for name, runner in runners.items():  # interleaved A, B, A, B
            times[name, 'train'].append(
                runner.timed(runner.train_step, clock))
        for name, runner in runners.items():
            times[name, 'infer'].append(runner.timed(runner.infer, clock))
    del runners
    # what the memory subprocess needs: batch, shape, device, amp
    sub_argv = ['--device', args.device, '--shape', *map(str, shape)]
    sub_argv += ['--batch', str(args.batch)] if args.batch else []
    sub_argv += ['--amp'] if args.amp else []
    sub_argv += ['--compile'] if args.compile else []
    runs = {
        'A': measure_memory(args.config, args.a_options, sub_argv),
        'B': measure_memory(args.baseline, args.b_options, sub_argv)
    }
    memory = {k: run['peak_mib'] for k, run in runs.items()}
    mapped = all(run['large_blocks_mapped'] for run in runs.values())

    med = {k: statistics.median(v) for k, v in times.items()}
    batch = args.batch or (1 if detector else 8)
    lines = [
        f'A = `{args.config}`{fmt(args.a_options)}, B = `{args.baseline}`'
        f'{fmt(args.b_options)}; batch {batch}, '
        f'{shape[0]}x{shape[1]}, {args.device}'
        f'{", amp" if args.amp else ""}{", compiled" if args.compile else ""}'
        f'{", freed memory retained" if args.retain_memory else ""}'
        f'{", one thread CPU time" if args.clock == "cpu" else ""}'
        f', {args.repeats} interleaved repeats '
        f'after {args.warmup} warm-ups', '',
        '| measure | A/B | A | B | A/B of each pair, median (min-max) |',
        '|---|---|---|---|---|'
    ]
    for mode, label in (('train', 'training step'), ('infer', 'inference')):
        a, b = med['A', mode], med['B', mode]
        pair, low, high = paired_ratio(times['A', mode], times['B', mode])
        lines.append(f'| {label}, median ms (min-max) | **{a / b:.3f}** | '
                     f'{a * 1e3:.1f} ({spread(times["A", mode])}) | '
                     f'{b * 1e3:.1f} ({spread(times["B", mode])}) | '
                     f'{pair:.3f} ({low:.3f}-{high:.3f}) |')
    what = 'CUDA allocator peak' if args.device.startswith('cuda') else \
        'peak RSS growth of a fresh process' + (
            ', large blocks mapped singly' if mapped else '')
    lines.append(f'| training memory, MiB ({what}) | '
                 f'**{memory["A"] / memory["B"]:.3f}** | {memory["A"]:.0f} | '
                 f'{memory["B"]:.0f} | |')
    table = '\n'.join(lines)
    print(table)
    if args.out:
        machine = (f'{cpu_name()}, {os.cpu_count()} logical CPUs, '
                   f'torch {torch.__version__}')
        if args.device.startswith('cuda'):
            machine += f', {torch.cuda.get_device_name()}'
        with atomic_write(args.out) as f:  # never a half-written table
            f.write(f'# Benchmark\n\nMeasured {datetime.date.today()} on '
                    f'{machine} with\n`python tools/analysis/benchmark.py '
                    f'{" ".join(argv)}`:\n\n{table}\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
