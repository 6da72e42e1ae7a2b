"""Plot the layer attention of a LayerAttentionResNet checkpoint over a dataset.

Usage:
    python tools/analysis/plot_layer_attention.py CONFIG CHECKPOINT \\
        [--split test|val] [--max-batches N] [--out layer_attention.png] \\
        [--cfg-options ...]

Runs the model over the config's test (or val) dataloader and plots the mean +- std
over images of every block's alpha (for RLA-vector, the mean over its channels), as
in Figure 5 of the layer-attention paper. Also prints the figures as a table.
"""
import argparse
import importlib
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument('--max-batches', type=int, default=None,
                        help='stop after this many batches (default: all)')
    parser.add_argument('--out', default='layer_attention.png')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def collect(model, dataloader, max_batches=None):
    """Per-block alphas of every image: a ``(num_images, num_blocks)`` tensor."""
    rows = []
    model.eval()
    with torch.no_grad():
        for i, data in enumerate(dataloader):
            if max_batches is not None and i >= max_batches:
                break
            data = model.data_preprocessor(data, False)
            model.extract_feat(data['inputs'])
            alphas = model.backbone.last_attention
            rows.append(torch.stack([a.float().mean(dim=1) for a in alphas],
                                    dim=1).cpu())
    if not rows:
        raise RuntimeError('the dataloader gave no batch')
    return torch.cat(rows)


def plot(values, out, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    mean, std = values.mean(0), values.std(0, unbiased=False)
    blocks = range(1, values.shape[1] + 1)
    fig, ax = plt.subplots(figsize=(max(6, values.shape[1] * 0.25), 4))
    ax.errorbar(blocks, mean, yerr=std, fmt='o-', capsize=2, markersize=3)
    ax.set_xlabel('residual block')
    ax.set_ylabel('layer attention alpha (mean +- std)')
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = out + '.partial.png'
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, out)  # no half-written plot on failure
    return mean, std


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        print(f'error: config file not found: {args.config}', file=sys.stderr)
        return 1
    if not osp.isfile(args.checkpoint):
        print(f'error: checkpoint not found: {args.checkpoint}',
              file=sys.stderr)
        return 1
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope', 'mmpretrain')
    init_default_scope(scope)
    model = importlib.import_module(f'{scope}.registry').MODELS.build(cfg.model)
    if not hasattr(getattr(model, 'backbone', None), 'last_attention'):
        print(
            f'error: {args.config}: model.backbone is '
            f'{type(getattr(model, "backbone", model)).__name__}, expected a '
            'LayerAttentionResNet (it has no layer attention to plot)',
            file=sys.stderr)
        return 1
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.to(args.device)
    dataloader = Runner.build_dataloader(cfg[f'{args.split}_dataloader'])
    values = collect(model, dataloader, args.max_batches)
    mean, std = plot(values, args.out, osp.basename(args.checkpoint))
    print(f'{values.shape[0]} images, {values.shape[1]} blocks')
    print('block  mean    std')
    for i, (m, s) in enumerate(zip(mean.tolist(), std.tolist()), 1):
        print(f'{i:5d}  {m:.4f}  {s:.4f}')
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
