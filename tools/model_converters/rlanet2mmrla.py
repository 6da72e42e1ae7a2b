"""Convert an official RLA-Net checkpoint into an mmpretrain or mmdet-3.x checkpoint.

Usage:
    python tools/model_converters/rlanet2mmrla.py SRC DST

SRC is any of the 18 checkpoints the RLA-Net authors publish:
- an ImageNet classifier (``{'state_dict': ...}``, keys possibly prefixed
  ``module.``): RLA-ResNet-50/101 and their ECA variants (``resnet50_rla_2283``, ...)
  or dsRLA-MobileNetV2 k32 and its ECA variant (``dsrla_mobilenetv2_k32_2762``,
  ``dsrla_mobilenetv2_k32_eca_2707``). DST loads with ``strict=True`` into the
  mmpretrain ``ImageClassifier`` of the matching ``configs/rla`` config, and an
  RLA-ResNet one serves as a detection backbone init via
  ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``; or
- an mmdet-2.x detector (Faster R-CNN, Mask R-CNN, RetinaNet with an RLA-ResNet-50/101
  backbone, with or without ECA): DST is an mmdet-3.x checkpoint of the matching
  ``configs/rla`` config, for ``tools/test.py CONFIG DST``.
The last line printed names that config.
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
    meta = converted['meta']
    what = arch['architecture'] + (f' {arch["detector"]}'
                                   if 'detector' in arch else '')
    print(f'wrote {args.dst} ({meta["task"]}, {what}): '
          f'{len(converted["state_dict"])} tensors, '
          f'stage_blocks={arch["stage_blocks"]}, '
          f'rla_channels={arch["rla_channels"]}, '
          f'eca_kernel_sizes={arch["eca_kernel_sizes"]}, '
          f'num_classes={arch["num_classes"]}')
    print(f'config: {meta["config"]}' if meta['config'] else
          'config: none in configs/rla matches; set the backbone arguments above')
    return 0


if __name__ == '__main__':
    sys.exit(main())
