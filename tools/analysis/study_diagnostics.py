"""What the companions learned in a finished study (tools/analysis/study.py).

Usage:
    python tools/analysis/study_diagnostics.py WORK_DIR [--images 2000] [--md OUT.md]
        [--data-root DIR]

For every finished run (``WORK_DIR/ARM/seed<S>`` with its ``study_result.json``) it
loads the run's last checkpoint into the run's config and runs the first ``--images``
validation images in eval mode, then writes one Markdown row per arm (over its seeds):

- the training loss of the last epoch (mean of the logged values, from the run's json
  scalars log);
- layer attention's alpha (``LayerAttentionResNet.last_attention``): mean over images
  and blocks, and the range of the per-block means;
- ECA's gates (every ``ECALayer.gate`` output): mean, standard deviation and the share
  of gates below 0.1 (channels the gate has all but switched off).

Run it with the same code as the study (``PYTHONPATH`` at the study's checkout).
"""
import argparse
import glob
import json
import os.path as osp
import sys

import torch

from mmrla.utils.fileio import (
    BadFileError,
    atomic_write,
    build_model_from_config,
    cli_errors,
    load_config_file,
)


def last_epoch_loss(run_dir, epochs):
    """Mean of the training ``loss`` values logged in the last epoch; the
    iteration of each record says its epoch (``step`` / iterations per epoch)."""
    losses = []
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path, encoding='utf-8', errors='replace') as f:
            records = [json.loads(line) for line in f if line.strip()]
        train = [r for r in records if 'loss' in r and 'step' in r]
        if not train:
            continue
        per_epoch = max(r['step'] for r in train) / epochs
        losses = [r['loss'] for r in train
                  if r['step'] > per_epoch * (epochs - 1)] or losses
    return sum(losses) / len(losses) if losses else None


def probe(config, checkpoint, images, data_root=None):
    """alphas (per block, mean over images) and every ECA gate value."""
    from mmengine.runner import Runner, load_checkpoint

    from mmrla.models.layers import ECALayer
    cfg = load_config_file(config, 'config')
    model, _ = build_model_from_config(cfg, config)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    gates = []
    for layer in model.modules():
        if isinstance(layer, ECALayer):
            def record(x, gate=layer.gate):
                out = gate(x)
                gates.append(out.flatten())
                return out
            layer.gate = record  # this instance only; the model is thrown away
    cfg.val_dataloader.dataset.indices = images
    if data_root:
        cfg.val_dataloader.dataset.data_root = data_root
    cfg.val_dataloader.batch_size = 250
    loader = Runner.build_dataloader(cfg.val_dataloader)
    alphas = []
    with torch.no_grad():
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            model.backbone(data['inputs'])
            attention = getattr(model.backbone, 'last_attention', None)
            if attention:
                alphas.append(torch.stack([a.mean(1) for a in attention], 1))
    alpha = torch.cat(alphas).mean(0) if alphas else None
    return alpha, torch.cat(gates) if gates else None


def fmt(values, digits=2):
    if not values:
        return '—'
    t = torch.tensor(values, dtype=torch.float64)
    spread = f' ± {t.std().item():.{digits}f}' if len(values) > 1 else ''
    return f'{t.mean().item():.{digits}f}{spread}'


@cli_errors
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--images', type=int, default=2000)
    parser.add_argument('--md', help='write the table here (default: stdout)')
    parser.add_argument('--data-root', help="the validation data's folder, if "
                        "not the config's")
    args = parser.parse_args(argv)
    results = sorted(glob.glob(osp.join(args.work_dir, '*', 'seed*',
                                        'study_result.json')))
    if not results:
        raise BadFileError(f'{args.work_dir}: no finished run '
                           '(ARM/seed<S>/study_result.json)')
    arms = {}
    for path in results:
        run_dir = osp.dirname(path)
        with open(path) as f:
            result = json.load(f)
        with open(osp.join(run_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        alpha, gates = probe(result['config'], checkpoint, args.images,
                             args.data_root)
        row = arms.setdefault(result['model'], dict(loss=[], alpha=[],
                                                    blocks=[], gate=[],
                                                    spread=[], off=[]))
        row['loss'].append(last_epoch_loss(run_dir, result['epochs']))
        if alpha is not None:
            row['alpha'].append(alpha.mean().item())
            row['blocks'] += [alpha.min().item(), alpha.max().item()]
        if gates is not None:
            row['gate'].append(gates.mean().item())
            row['spread'].append(gates.std().item())
            row['off'].append(100 * (gates < 0.1).float().mean().item())
        print(f'{result["model"]} seed {result["seed"]}: done', file=sys.stderr)
    lines = [
        '| arm | runs | last-epoch train loss | alpha mean | per-block alpha '
        'range | ECA gate mean | ECA gate std | gates < 0.1 (%) |',
        '|' + '---|' * 8
    ]
    for name, row in arms.items():
        blocks = (f'{min(row["blocks"]):.2f} … {max(row["blocks"]):.2f}'
                  if row['blocks'] else '—')
        lines.append(
            f'| {name} | {len(row["loss"])} | {fmt(row["loss"], 3)} | '
            f'{fmt(row["alpha"])} | {blocks} | {fmt(row["gate"])} | '
            f'{fmt(row["spread"])} | {fmt(row["off"], 1)} |')
    table = '\n'.join(lines) + '\n'
    if args.md:
        with atomic_write(args.md) as f:
            f.write(table)
    else:
        print(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
