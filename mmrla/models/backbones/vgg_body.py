"""A plain VGG for small images: the body of the RA-LSTM paper's CIFAR networks
(VGG-1, VGG-2) and their "without RA" baselines, which :class:`RAVGG` extends."""
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from mmcv.cnn import ConvModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmrla.registry import register_model

from ..utils import (
    check_common_args,
    check_positive_ints,
    check_stage_args,
    freeze,
    invalid_arg,
    is_int_seq,
)
from .companion import CompanionBlock, CompanionHooks, CompanionStage


class VGGBlock(CompanionBlock, nn.Sequential):
    """A group of conv-BN-ReLU layers that a companion reads as one block."""

    def forward_plain(self, x):
        return nn.Sequential.forward(self, x)


class VGGStage(CompanionStage, nn.Sequential):
    """A stage of :class:`VGGBlock`: ``stage(x, walk)``; with ``downsample``, a
    2x2 max-pool in front. The pool closes the previous stage, after its
    blocks' outputs (what a companion reads, and the stage output)."""

    def __init__(self, *blocks, downsample=False):
        super().__init__(*blocks)
        self.downsample = downsample

    def forward(self, x, walk=None):
        if self.downsample:
            x = F.max_pool2d(x, 2)
        return super().forward(x, walk)


@register_model
class VGGBody(CompanionHooks, BaseBackbone):
    """A plain VGG for small images: stages of 3x3 conv-BN-ReLU at one resolution,
    2x2 max-pooling between stages, no pooling after the last stage and no
    fully-connected layers (the upstream neck and head classify; the paper's
    pooling after the last stage is the baseline configs' ``PoolFlatten`` neck,
    since RA-LSTM reads the last block before it).

    The RA-LSTM paper's CIFAR networks (Section 4.3, Table 1; and their "without
    RA" baselines): VGG-1, ``stage_channels=(128, 256, 512)``,
    ``stage_blocks=(1, 1, 1)``, two convs per block; VGG-2, the same with
    ``convs_per_block=4`` (12 convs "grouped into 3 blocks"). A *block* is a group
    of ``convs_per_block`` convs, the unit RA-LSTM can select. mmpretrain's
    :class:`VGG` does not fit: its widths are fixed (64 * 2^i), its depths come from
    a table, it pools after every stage and gives no access to block outputs.

    Companions hook in through :mod:`.companion`'s hooks.

    Args:
        stage_channels (Sequence[int]): output channels of each stage.
        stage_blocks (Sequence[int] | None): blocks per stage; None: one each.
        convs_per_block (int): 3x3 convs per block. Default: 2.
        in_channels (int): input channels. Default: 3.
        out_indices (Sequence[int] | None): stages to return; None: the last.
        frozen_stages (int): stages 1..frozen_stages are frozen; -1 or 0: none.
        conv_cfg, norm_cfg, act_cfg (dict | None): of every conv (mmcv
            ``ConvModule``; the conv has a bias only without a norm).
        norm_eval (bool): keep the norms in eval mode while training.
    """

    def __init__(self,
                 stage_channels=(128, 256, 512),
                 stage_blocks=None,
                 convs_per_block=2,
                 in_channels=3,
                 out_indices=None,
                 frozen_stages=-1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 norm_eval=False,
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]):
        super().__init__(init_cfg)
        if not (is_int_seq(stage_channels) and len(stage_channels) > 0
                and min(stage_channels) > 0):
            self._fail('stage_channels', stage_channels,
                       'a non-empty sequence of positive ints')
        num_stages = len(stage_channels)
        if stage_blocks is None:
            stage_blocks = (1, ) * num_stages
        check_positive_ints(self, convs_per_block=convs_per_block,
                            in_channels=in_channels)
        if out_indices is None:
            out_indices = (num_stages - 1, )
        check_stage_args(self, num_stages, out_indices, frozen_stages,
                         stage_blocks=stage_blocks)
        check_common_args(self, norm_eval=norm_eval, conv_cfg=conv_cfg,
                          norm_cfg=norm_cfg, act_cfg=act_cfg, init_cfg=init_cfg)
        self.stage_channels = tuple(stage_channels)
        self.stage_blocks = tuple(stage_blocks)
        self.convs_per_block = convs_per_block
        self.num_stages = num_stages
        self.strides = (1, ) + (2, ) * (num_stages - 1)  # the max-pools
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.layers = []
        cin = in_channels
        for i, (cout, blocks) in enumerate(zip(stage_channels, stage_blocks)):
            stage = VGGStage(downsample=i > 0)
            for _ in range(blocks):
                convs = []
                for _ in range(convs_per_block):
                    convs.append(
                        ConvModule(cin, cout, 3, padding=1, conv_cfg=conv_cfg,
                                   norm_cfg=norm_cfg, act_cfg=act_cfg))
                    cin = cout
                stage.append(VGGBlock(*convs))
            self.add_module(f'layer{i + 1}', stage)
            self.layers.append(f'layer{i + 1}')
        self.feat_dim = stage_channels[-1]
        self.attach_companion(self.layers)

    def _fail(self, arg, value, allowed):
        invalid_arg(self, arg, value, allowed)

    def stage_out_channels(self, stage):
        return self.stage_channels[stage]

    def _freeze_stages(self):
        for i in range(1, self.frozen_stages + 1):
            freeze([getattr(self, f'layer{i}')] + self.companion_modules(i))

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
