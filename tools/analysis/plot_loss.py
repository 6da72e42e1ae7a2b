"""Plot training losses of an mmengine run to a PNG.

Usage:
    python tools/analysis/plot_loss.py WORK_DIR|SCALARS_JSON [--out loss_curve.png]
        [--keys loss ...]

Reads the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` that mmengine's
``LocalVisBackend`` writes and that holds training losses (a later ``tools/test.py``
run in the same work_dir writes metrics only), or the given ``scalars.json``, and plots
each key against the iteration. The image (its format from ``--out``'s extension) is
written atomically. A missing, empty or garbled log (each line must be a JSON object),
or logs without any of ``--keys``: ``error: ...`` naming the file on stderr, exit 1.
"""
import argparse
import glob
import json
import numbers
import os.path as osp
import sys

from mmrla.utils.fileio import (
    BadFileError,
    MissingFileError,
    atomic_write,
    cli_errors,
    require_file,
    require_writable,
)


def find_scalars(work_dir):
    """Every run's scalars.json, newest first (timestamps sort in time order)."""
    if not osp.exists(work_dir):
        raise MissingFileError(f'work_dir or scalars.json not found: {work_dir}')
    if osp.isfile(work_dir):
        return [require_file(work_dir, 'log file')]
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')), reverse=True)
    if not found:
        raise MissingFileError(
            f'no */vis_data/scalars.json under {work_dir}; is it a work_dir '
            'of tools/train.py?')
    return found


def read_curves(path, keys):
    """{key: (steps, values)} of the training records (with ``step`` and ``lr``).

    Raises:
        BadFileError: a line that is not a JSON object, or a non-numeric
            ``step``/key value; the message names the file and the line.
    """
    curves = {k: ([], []) for k in keys}
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise BadFileError(
                    f'{path}, line {number}: expected one JSON object per line '
                    f'(an mmengine scalars.json), got {line.strip()[:40]!r} '
                    f'({exc})') from None
            if not isinstance(record, dict):
                raise BadFileError(
                    f'{path}, line {number}: expected a JSON object, got a '
                    f'{type(record).__name__}')
            if 'step' not in record or 'lr' not in record:
                continue  # validation records carry metrics, not losses
            for key in keys:
                if key in record:
                    for name in ('step', key):
                        value = record[name]
                        if not isinstance(value, numbers.Real) or isinstance(
                                value, bool):
                            raise BadFileError(
                                f'{path}, line {number}: expected a number for '
                                f'{name!r}, got {value!r}')
                    curves[key][0].append(record['step'])
                    curves[key][1].append(record[key])
    return {k: v for k, v in curves.items() if v[0]}


def image_format(out, fig):
    """The format of ``out`` (its extension; ``png`` without one), checked."""
    ext = osp.splitext(out)[1][1:].lower() or 'png'
    supported = fig.canvas.get_supported_filetypes()
    if ext not in supported:
        raise BadFileError(f'--out {out}: expected an image file name ending in '
                           f'one of {", ".join("." + e for e in supported)}')
    return ext


@cli_errors  # a bad log or --out: one line on stderr, exit code 1
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='a work_dir of tools/train.py, or a '
                        'scalars.json')
    parser.add_argument('--out', default=None,
                        help='default: WORK_DIR/loss_curve.png (beside a '
                        'scalars.json given directly)')
    parser.add_argument('--keys', nargs='+', default=['loss'])
    args = parser.parse_args(argv)
    candidates = find_scalars(args.work_dir)
    looked = []
    for scalars in candidates:
        curves = read_curves(scalars, args.keys)
        if curves:
            break
        looked.append(scalars + (' (empty)' if osp.getsize(scalars) == 0 else
                                 ''))
    else:
        raise BadFileError(
            f'none of the keys {args.keys} in the training records (with '
            f'"step" and "lr") of {", ".join(looked)}')
    folder = args.work_dir if osp.isdir(args.work_dir) else osp.dirname(
        args.work_dir)
    out = args.out or osp.join(folder, 'loss_curve.png')
    require_writable(out)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        fmt = image_format(out, fig)
        for key, (steps, values) in curves.items():
            ax.plot(steps, values, label=key)
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.set_title(osp.basename(osp.normpath(args.work_dir)))
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        with atomic_write(out, 'wb') as f:  # never a half-written image
            fig.savefig(f, format=fmt, dpi=100)
    finally:
        plt.close(fig)
    print(f'wrote {out} from {scalars}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
