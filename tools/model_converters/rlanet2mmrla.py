"""Convert an official RLA-Net checkpoint into an mmrla/mmpretrain checkpoint.

Usage:
    python tools/model_converters/rlanet2mmrla.py SRC DST

SRC is either
- an official classification checkpoint (``{'state_dict': ...}``, keys possibly
  prefixed ``module.``): DST loads with ``strict=True`` into an mmpretrain
  ``ImageClassifier`` with an ``RLAResNet`` backbone, and serves as a detection
  backbone init via ``init_cfg=dict(type='Pretrained', checkpoint=DST,
  prefix='backbone.')``; or
- an official mmdet-2.x detector checkpoint (Faster/Mask R-CNN, RetinaNet with an RLA
  backbone): DST is an mmdet-3.x checkpoint for the matching ``configs/rla`` config,
  for ``tools/test.py CONFIG DST``.
SRC is read with ``weights_only=True``; DST is written atomically (never partially).
"""
import argparse
import sys

from mmrla.converters import convert_rlanet_checkpoint
from mmrla.utils import (CheckpointError, load_checkpoint_file,
                         save_checkpoint_atomic)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official RLA-Net checkpoint')
    parser.add_argument('dst', help='output mmrla checkpoint')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        checkpoint = load_checkpoint_file(args.src)
        converted = convert_rlanet_checkpoint(checkpoint, source=args.src)
    except (CheckpointError, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    save_checkpoint_atomic(converted, args.dst)
    arch = converted['meta']['architecture']
    print(f'wrote {args.dst} ({converted["meta"]["task"]}): '
          f'{len(converted["state_dict"])} tensors, '
          f'stage_blocks={arch["stage_blocks"]}, '
          f'rla_channels={arch["rla_channels"]}, '
          f'eca_kernel_sizes={arch["eca_kernel_sizes"]}, '
          f'num_classes={arch["num_classes"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
