"""Write scikit-learn's digits (offline, ships with scikit-learn) as image folders.

Usage:
    python tools/dataset_converters/digits2folder.py [OUT_DIR]   (default: data/digits)

Produces ``OUT_DIR/{train,val}/<digit>/<index>.png`` (8x8 grayscale, 0..16 scaled to
0..240), the layout mmpretrain's ``CustomDataset`` reads. The split is fixed: every
5th sample (by index) is validation, 1437 train / 360 val images. Idempotent: an
existing complete folder is kept. The folder appears atomically (built beside it, then
renamed, with a ``.complete`` marker), so an interrupted run leaves nothing
half-written; an existing OUT_DIR without the marker (a file, another folder) is never
overwritten: ``error: ...`` on stderr, exit code 1.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image

from mmrla.utils.fileio import atomic_dir, cli_errors, is_complete_dir


def convert(out_dir):
    if is_complete_dir(out_dir):
        print(f'{out_dir} is already complete')
        return out_dir
    from sklearn.datasets import load_digits
    counts = {'train': 0, 'val': 0}
    with atomic_dir(out_dir) as tmp:
        digits = load_digits()
        for i, (image, label) in enumerate(zip(digits.images, digits.target)):
            split = 'val' if i % 5 == 0 else 'train'
            folder = osp.join(tmp, split, str(label))
            os.makedirs(folder, exist_ok=True)
            pixels = (image * 15).astype(np.uint8)
            Image.fromarray(pixels, mode='L').save(
                osp.join(folder, f'{i:04d}.png'))
            counts[split] += 1
    print(f'wrote {out_dir}: {counts["train"]} train, {counts["val"]} val')
    return out_dir


@cli_errors  # an OUT_DIR it must not overwrite: one line on stderr, exit 1
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', default='data/digits')
    convert(parser.parse_args(argv).out_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
