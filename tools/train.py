"""Train a classifier or a detector; the config's ``default_scope`` decides which.

Same interface as mmdet's and mmpretrain's ``tools/train.py``; runs against the
pip-installed codebases. Importing mmrla first allow-lists the types in mmengine
Runner checkpoints, so ``--resume`` works with torch's safe ``weights_only`` loader.

Reliability (docs/reliability.md): a missing data root, annotation file or image folder
stops the run at start-up with one line naming the config field; a plain
``CheckpointHook`` in ``default_hooks`` is replaced by mmrla's ``AtomicCheckpointHook``
(same arguments; checkpoints are complete or absent, even after a SIGKILL while
saving), and the log says so (a config keeps upstream's with
``type='mmengine.CheckpointHook'``); ``--resume`` without a path skips a corrupt or
missing last checkpoint for the newest complete one, with a warning naming the file.
"""
import argparse
import os.path as osp

from _launch import (  # beside this file
    add_common_args,
    check_data_paths,
    close_process_group,
    load_config,
    parse_common,
)

from mmengine.hooks import CheckpointHook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmrla  # noqa: F401  (registers models; allow-lists Runner checkpoints)
from mmrla.engine import checkpoint_problem, find_resumable_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (without a path) from the '
        'latest checkpoint in the work directory')
    add_common_args(parser)
    return parse_common(parser, argv)


def use_atomic_checkpoints(cfg):
    """Replace a plain ``CheckpointHook`` in ``cfg.default_hooks`` by
    ``AtomicCheckpointHook`` (same arguments); return whether it did. A scoped
    name such as ``'mmengine.CheckpointHook'`` is left alone: that is how a
    config keeps upstream's."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook is None or hook.get('type') not in ('CheckpointHook',
                                                CheckpointHook):
        return False
    hook['type'] = 'AtomicCheckpointHook'
    return True


def build_cfg(args, notes=None):
    """The run's config; ``notes`` (a list) collects ``(level, message)`` pairs
    for the run's log (which does not exist yet)."""
    notes = [] if notes is None else notes
    # an explicit checkpoint is checked before the (slower) data checks
    if args.resume not in (None, 'auto') and not osp.isfile(args.resume):
        raise SystemExit(f'error: --resume checkpoint not found: {args.resume}')
    cfg = load_config(args)
    splits = ['train']
    if cfg.get('val_cfg') is not None and cfg.get('val_dataloader'):
        splits.append('val')
    check_data_paths(cfg, splits)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise SystemExit('error: --auto-scale-lr needs '
                             'auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        # mmengine would resume from whatever last_checkpoint names; pick the newest
        # complete checkpoint instead (None: none, start from scratch as upstream)
        path, problems = find_resumable_checkpoint(cfg.work_dir)
        notes.extend(('warning', f'--resume: {p}') for p in problems)
        if path is not None:
            notes.append(('info', f'--resume: resuming from {path}'))
        cfg.resume = path is not None
        cfg.load_from = path
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(
                f'error: --resume checkpoint not found: {args.resume}')
        problem = checkpoint_problem(args.resume)
        if problem:
            raise SystemExit(f'error: --resume: {problem}')
        cfg.resume = True
        cfg.load_from = args.resume
    if use_atomic_checkpoints(cfg):
        notes.append(('info', (
            'default_hooks.checkpoint: CheckpointHook -> AtomicCheckpointHook '
            '(same arguments; a checkpoint is complete or absent, and the old '
            'ones are deleted after it; type=\'mmengine.CheckpointHook\' keeps '
            "upstream's)")))
    return cfg


def main(argv=None):
    notes = []
    cfg = build_cfg(parse_args(argv), notes)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    for level, message in notes:
        getattr(runner.logger, level)(message)
    runner.train()
    close_process_group()


if __name__ == '__main__':
    main()
