"""Parameters and FLOPs of a config's model, in standard units and in RLA-Net's.

Usage:
    python tools/analysis/get_flops.py CONFIG [--shape H W] [--cfg-options ...]

Standard units: mmengine's ``get_model_complexity_info`` (multiply-adds of every
supported op, which mmengine calls FLOPs; 1 M = 1e6, 1 G = 1e9). Paper units: the old
thop counting of the RLA-Net paper (conv/linear multiply-adds + 2 x BN input elements +
pooling outputs; "M" = 2^20, "G" = 2^30; see mmrla/utils/complexity.py), which
reproduces its Table 3. Classifiers are counted whole (backbone, neck, head) on one
image; detectors twice, backbone only and whole model, on one image with default
shape 800 x 1333. A bad CONFIG (missing, empty, not a model config, syntax error):
``error: ...`` on stderr, exit code 1.
"""
import argparse
import sys

import torch

from mmrla.utils.complexity import PAPER_M, count_params, paper_ops, paper_units
from mmrla.utils.fileio import build_model_from_config, cli_errors, load_config_file
from mmrla.utils.launch import CfgOptions


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: 224 224 for classifiers, '
                        '800 1333 for detectors)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
    return parser.parse_args(argv)


def standard(model, inputs):
    """mmengine's counts, or the reason they are not available."""
    from mmengine.analysis import get_model_complexity_info
    try:
        # counting needs no gradients (and traces inference's plain ops)
        with torch.no_grad():
            info = get_model_complexity_info(model, inputs=inputs,
                                             show_table=False, show_arch=False)
    except Exception as exc:  # tracing fails on some detector heads
        return None, f'n/a ({type(exc).__name__}: {str(exc)[:80]})'
    return info['flops'], None


def uncounted_by_thop(model):
    """The modules whose operations the paper's (module-hook) thop never saw."""
    backbone = getattr(model, 'backbone', None)
    neck = getattr(model, 'neck', None)
    if neck is not None and not getattr(backbone, 'paper_counts_global_pool',
                                        True):
        return [neck]
    return []


def report(name, model, inputs, call=None):
    params = count_params(model)
    ops = paper_ops(model, *inputs, skip=uncounted_by_thop(model)) \
        if call is None else call()
    total = sum(ops.values())
    flops, why = standard(model, inputs) if call is None else (
        None, "n/a (mmengine's tracer needs a plain tensor input)")
    pm, pg = paper_units(params, total)
    lines = [
        f'{name}:',
        f'  standard  params {params / 1e6:.2f} M   FLOPs '
        + (f'{flops / 1e9:.2f} G (multiply-adds, mmengine)' if flops is not None
           else why),
        f'  paper     params {pm:.2f} M   FLOPs {pg:.2f} G = '
        f'{total / PAPER_M:.1f} M   (/2^20, /2^30; '
        f'{total} ops: ' + ', '.join(f'{k} {v}' for k, v in sorted(ops.items()))
        + ')',
    ]
    return lines, dict(params=params, paper_ops=total, flops=flops,
                       paper_m=pm, paper_g=pg)


@cli_errors  # a bad config file: one line on stderr, exit code 1
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config_file(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model, scope = build_model_from_config(cfg, args.config)
    model.eval()
    detector = scope == 'mmdet'
    h, w = args.shape or ((800, 1333) if detector else (224, 224))
    if h < 1 or w < 1:
        print(f'error: --shape must be positive, got {h} {w}', file=sys.stderr)
        return 1
    x = torch.rand(1, 3, h, w)
    print(f'{args.config} at {h}x{w}')
    if not detector:
        lines, _ = report('model', model, (x, ))
    else:
        from mmdet.testing import demo_mm_inputs
        lines, _ = report('backbone', model.backbone, (x, ))
        data = model.data_preprocessor(
            demo_mm_inputs(1, [[3, h, w]], num_items=[1]), False)

        def whole():
            return paper_ops(model, data['inputs'], data['data_samples'],
                             mode='tensor')

        more, _ = report('whole detector', model, (), call=whole)
        lines += more
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
