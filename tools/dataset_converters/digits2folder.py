"""Write scikit-learn's digits (offline, ships with scikit-learn) as image folders.

Usage:
    python tools/dataset_converters/digits2folder.py [OUT_DIR]   (default: data/digits)

Produces ``OUT_DIR/{train,val}/<digit>/<index>.png`` (8x8 grayscale, 0..16 scaled to
0..240), the layout mmpretrain's ``CustomDataset`` reads. The split is fixed: every
5th sample (by index) is validation, 1437 train / 360 val images. Idempotent: an
existing complete folder is kept. The folder appears atomically (built beside it, then
renamed), so an interrupted run leaves nothing half-written.
"""
import argparse
import os.path as osp
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image

DONE = '.complete'


def convert(out_dir):
    if osp.isfile(osp.join(out_dir, DONE)):
        print(f'{out_dir} is already complete')
        return out_dir
    from sklearn.datasets import load_digits
    digits = load_digits()
    parent = osp.dirname(osp.abspath(out_dir))
    shutil.os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.digits.', dir=parent)
    try:
        counts = {'train': 0, 'val': 0}
        for i, (image, label) in enumerate(zip(digits.images, digits.target)):
            split = 'val' if i % 5 == 0 else 'train'
            folder = osp.join(tmp, split, str(label))
            shutil.os.makedirs(folder, exist_ok=True)
            pixels = (image * 15).astype(np.uint8)
            Image.fromarray(pixels, mode='L').save(
                osp.join(folder, f'{i:04d}.png'))
            counts[split] += 1
        open(osp.join(tmp, DONE), 'w').close()
        if osp.exists(out_dir):  # an incomplete earlier attempt
            shutil.rmtree(out_dir)
        shutil.os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f'wrote {out_dir}: {counts["train"]} train, {counts["val"]} val')
    return out_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', default='data/digits')
    convert(parser.parse_args(argv).out_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
