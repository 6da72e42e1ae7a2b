"""Plot training losses of an mmengine run to a PNG.

Usage:
    python tools/analysis/plot_loss.py WORK_DIR [--out loss_curve.png] [--keys loss ...]

Reads the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` that mmengine's
``LocalVisBackend`` writes and that holds training losses (a later ``tools/test.py``
run in the same work_dir writes metrics only), and plots each key against the iteration.
"""
import argparse
import glob
import json
import os.path as osp
import sys


def find_scalars(work_dir):
    """Every run's scalars.json, newest first (timestamps sort in time order)."""
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')), reverse=True)
    if not found:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}; is it a work_dir '
            'of tools/train.py?')
    return found


def read_curves(path, keys):
    curves = {k: ([], []) for k in keys}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if 'step' not in record or 'lr' not in record:
                continue  # validation records carry metrics, not losses
            for key in keys:
                if key in record:
                    curves[key][0].append(record['step'])
                    curves[key][1].append(record[key])
    return {k: v for k, v in curves.items() if v[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--out', default=None,
                        help='default: WORK_DIR/loss_curve.png')
    parser.add_argument('--keys', nargs='+', default=['loss'])
    args = parser.parse_args(argv)
    try:
        candidates = find_scalars(args.work_dir)
    except FileNotFoundError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    for scalars in candidates:
        curves = read_curves(scalars, args.keys)
        if curves:
            break
    else:
        print(f'error: none of {args.keys} in any of {candidates}',
              file=sys.stderr)
        return 1
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, (steps, values) in curves.items():
        ax.plot(steps, values, label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_title(osp.basename(osp.normpath(args.work_dir)))
    ax.legend()
    ax.grid(alpha=0.3)
    out = args.out or osp.join(args.work_dir, 'loss_curve.png')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f'wrote {out} from {scalars}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
