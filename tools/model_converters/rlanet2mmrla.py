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
SRC is read with ``weights_only=True`` (a pickle that would run code is refused);
DST is written atomically (never partially). A bad SRC (missing, empty, truncated, not
a checkpoint, another model's) or an unwritable DST: ``error: ...`` on stderr, exit 1.
"""
import argparse
import sys

from mmrla.converters import convert_rlanet_checkpoint
from mmrla.utils.checkpoint import load_checkpoint_file, save_checkpoint_atomic
from mmrla.utils.fileio import cli_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official RLA-Net checkpoint')
    parser.add_argument('dst', help='output mmrla checkpoint')
    return parser.parse_args(argv)


@cli_errors  # a bad SRC or an unwritable DST: one line on stderr, exit code 1
def main(argv=None):
    args = parse_args(argv)
    checkpoint = load_checkpoint_file(args.src, 'official RLA-Net checkpoint')
    # a foreign checkpoint: CheckpointError naming SRC and the offending keys
    converted = convert_rlanet_checkpoint(checkpoint, source=args.src)
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
