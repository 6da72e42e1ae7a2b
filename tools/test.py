"""Test (and evaluate) a checkpoint; the config's ``default_scope`` decides the task.

Same interface as mmdet's ``tools/test.py``: ``--out`` dumps predictions to a pickle,
``--show-dir`` saves painted predictions, ``--tta`` uses the config's test-time
augmentation. Metrics are those of the config's test evaluator (e.g. CocoMetric).
A missing data root, annotation file or image folder stops it at start-up with one line
naming the config field. Distributed (tools/dist_test.sh), mmengine's evaluator gathers
the ranks' results and drops the samples DefaultSampler repeated to pad the last batch,
so every image is evaluated (and dumped by ``--out``) exactly once.
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

from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmrla  # noqa: F401  (registers models; allow-lists Runner checkpoints)
from mmrla.utils.checkpoint import check_checkpoint_file
from mmrla.utils.fileio import exit_on_bad_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump predictions to this pickle file (.pkl)')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions there (a relative path is under '
        'work_dir/<time>/)')
    parser.add_argument(
        '--tta', action='store_true', help='test-time augmentation')
    add_common_args(parser)
    return parse_common(parser, argv)


def use_tta(cfg):
    """Test-time augmentation: the config's ``tta_model``/``tta_pipeline``, else the
    upstream defaults (flip and no flip, merged by DetTTAModel or by averaging
    class scores), as mmdet's and mmpretrain's own test tools do."""
    test_data = cfg.test_dataloader.dataset
    while 'dataset' in test_data:
        test_data = test_data['dataset']
    if 'tta_model' not in cfg:
        cfg.tta_model = (
            dict(type='DetTTAModel',
                 tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                              max_per_img=100))
            if cfg.default_scope == 'mmdet' else
            dict(type='AverageClsScoreTTA'))
    if 'tta_pipeline' not in cfg:
        pack = test_data.pipeline[-1]
        if cfg.default_scope == 'mmdet':  # DetTTAModel un-flips with these keys
            pack = dict(type='PackDetInputs',
                        meta_keys=('img_id', 'img_path', 'ori_shape',
                                   'img_shape', 'scale_factor', 'flip',
                                   'flip_direction'))
        flip = dict(type='TestTimeAug',
                    transforms=[[dict(type='RandomFlip', prob=1.),
                                 dict(type='RandomFlip', prob=0.)], [pack]])
        cfg.tta_pipeline = [*test_data.pipeline[:-1], flip]
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    test_data.pipeline = cfg.tta_pipeline


def build_cfg(args):
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint file not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'error: --out must end with .pkl, got {args.out}')
    cfg = load_config(args)
    check_data_paths(cfg, ['test'])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        hook = cfg.default_hooks.get('visualization')
        if hook is None:
            raise SystemExit('error: --show-dir needs a visualization hook '
                             'in default_hooks')
        if cfg.default_scope == 'mmdet':  # DetVisualizationHook
            hook.update(draw=True, test_out_dir=args.show_dir)
        else:  # mmpretrain's VisualizationHook
            hook.update(enable=True, out_dir=args.show_dir)
    if args.tta:
        use_tta(cfg)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    # mmengine loads with strict=False and only warns: a checkpoint of another
    # model would be evaluated with untrained weights
    with exit_on_bad_file():
        check_checkpoint_file(args.checkpoint, runner.model)
    if args.out is not None:
        dump = DumpResults
        if cfg.default_scope == 'mmdet':  # encodes masks compactly, as mmdet's
            from mmdet.evaluation import DumpDetResults as dump
        runner.test_evaluator.metrics.append(dump(out_file_path=args.out))
    metrics = runner.test()
    close_process_group()
    return metrics


if __name__ == '__main__':
    main()
