"""Plot the layer attention of a LayerAttentionResNet checkpoint over a dataset.

Usage:
    python tools/analysis/plot_layer_attention.py CONFIG CHECKPOINT \\
        [--split test|val] [--max-batches N] [--out layer_attention.png] \\
        [--cfg-options ...]

Runs the model over the config's test (or val) dataloader and plots the mean +- std
over images of every block's alpha (for RLA-vector, the mean over its channels), as
in Figure 5 of the layer-attention paper. Also prints the figures as a table. The
checkpoint is read with torch's safe loader (``weights_only=True``) and must match the
model exactly; the image is written atomically. A bad CONFIG or CHECKPOINT (missing,
empty, truncated, not a checkpoint, another model's) or ``--out``: ``error: ...`` on
stderr, exit code 1.
"""
import argparse
import os.path as osp
import sys

import torch

from mmengine.runner import Runner

from mmrla.utils.checkpoint import check_checkpoint_file
from mmrla.utils.fileio import (
    BadFileError,
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
    parser.add_argument('checkpoint')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument('--max-batches', type=int, default=None,
                        help='stop after this many batches (default: all)')
    parser.add_argument('--out', default='layer_attention.png')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
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


def image_format(out):
    """The image format of ``out`` (its extension; ``png`` without one), checked
    before the model runs over the dataset."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    ext = osp.splitext(out)[1][1:].lower() or 'png'
    supported = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if ext not in supported:
        raise BadFileError(f'--out {out}: expected an image file name ending in '
                           f'one of {", ".join("." + e for e in supported)}')
    return ext


def plot(values, out, title):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    mean, std = values.mean(0), values.std(0, unbiased=False)
    blocks = range(1, values.shape[1] + 1)
    fig, ax = plt.subplots(figsize=(max(6, values.shape[1] * 0.25), 4))
    try:
        ax.errorbar(blocks, mean, yerr=std, fmt='o-', capsize=2, markersize=3)
        ax.set_xlabel('residual block')
        ax.set_ylabel('layer attention alpha (mean +- std)')
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        with atomic_write(out, 'wb') as f:  # no half-written plot on failure
            fig.savefig(f, format=image_format(out), dpi=100)
    finally:
        plt.close(fig)
    return mean, std


@cli_errors  # a bad config, checkpoint or --out: one line on stderr, exit 1
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config_file(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    image_format(args.out)
    require_writable(args.out)
    model, _ = build_model_from_config(cfg, args.config)
    if not hasattr(getattr(model, 'backbone', None), 'last_attention'):
        raise BadFileError(
            f'{args.config}: model.backbone is '
            f'{type(getattr(model, "backbone", model)).__name__}, expected a '
            'LayerAttentionResNet (it has no layer attention to plot)')
    # safe loader; another model's checkpoint is refused, naming the keys
    model.load_state_dict(check_checkpoint_file(args.checkpoint, model),
                          strict=True)
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
