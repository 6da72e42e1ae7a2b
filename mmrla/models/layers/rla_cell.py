"""The RLA cell: the recurrent update of RLA-Net's hidden state along depth."""
import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule


class RLAStageCell(BaseModule):
    """The recurrent parts of one stage of an RLA network.

    After block ``b`` of the stage produced ``y`` (C channels), the hidden state
    (k channels) is updated as in the official RLA-Net code::

        h <- recurrent_conv(tanh(norms[b](h + update_conv(y))))

    ``update_conv`` (1x1, C -> k) and ``recurrent_conv`` (3x3, k -> k) are shared by
    all blocks of the stage; each block has its own norm. No conv has a bias.

    Args:
        in_channels (int): C, the channels of the stage's block outputs.
        rla_channels (int): k, the channels of the hidden state.
        num_blocks (int): blocks in the stage (one norm each).
        conv_cfg (dict | None): config of the two convs.
        norm_cfg (dict): config of the per-block norms.
        recurrent_conv (nn.Module | None): an existing recurrent conv to share
            with other cells (RLA-MobileNetV2 shares one across the network);
            None builds this stage's own dense 3x3.
    """

    def __init__(self,
                 in_channels,
                 rla_channels,
                 num_blocks,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 recurrent_conv=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.update_conv = build_conv_layer(
            conv_cfg, in_channels, rla_channels, kernel_size=1, bias=False)
        self.norms = nn.ModuleList(
            build_norm_layer(norm_cfg, rla_channels)[1]
            for _ in range(num_blocks))
        if recurrent_conv is None:
            recurrent_conv = build_conv_layer(
                conv_cfg,
                rla_channels,
                rla_channels,
                kernel_size=3,
                padding=1,
                bias=False)
        self.recurrent_conv = recurrent_conv

    def forward(self, h, y, block_idx):
        h = h + self.update_conv(y)
        return self.recurrent_conv(torch.tanh(self.norms[block_idx](h)))
