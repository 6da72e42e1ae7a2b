"""RLA-MobileNetV2: MobileNetV2 with recurrent layer aggregation (Zhao et al., 2021).

mmpretrain's :class:`MobileNetV2` (stem, arch settings, freezing, ``out_indices``)
with the official RLA-MobileNetV2 companion: a k-channel state h joins every inverted
residual after its expansion, so the depthwise 3x3 and the projection see
``hidden + k`` channels, and is updated from the block's projection output.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones import MobileNetV2
from mmpretrain.models.utils import make_divisible

from mmrla.registry import register_model

from ..layers import build_channel_attention, stage_attention_cfgs
from ..utils import (
    check_common_args,
    check_flags,
    check_positive_ints,
    freeze,
    invalid_arg,
    is_int,
)
from .companion import CompanionBlock, CompanionHooks, CompanionStage
from .rla_resnet import RLAStageCell

# upstream MobileNetV2 arguments that reach it through **kwargs, checked up front
COMMON_ARGS = ('conv_cfg', 'norm_cfg', 'act_cfg', 'norm_eval', 'with_cp',
               'init_cfg')


class RLAInvertedResidual(CompanionBlock, BaseModule):
    """An inverted residual whose depthwise conv also reads the RLA state.

    ``expand`` (1x1, absent when ``expand_ratio == 1``) maps the input to
    ``hidden`` channels; h (``rla_channels``) is concatenated to it; ``depthwise``
    (3x3, ``hidden + k`` groups) and ``project`` (1x1 to ``out_channels``, no
    activation) follow, then the optional channel attention. ``forward_parts(x, h)``
    returns ``(out, y)``: ``y`` is the projection output (what the RLA update reads)
    and ``out = x + y`` where the block has a residual connection. Called as a
    module, ``block(x, walk)`` lets :class:`RLAMobileNetV2` run it with its state
    (:class:`~mmrla.models.backbones.companion.CompanionBlock`).
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride,
                 expand_ratio,
                 rla_channels,
                 attention=None,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU6'),
                 with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.stride = stride
        self.out_channels = out_channels
        self.rla_channels = rla_channels
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        mixed = hidden + rla_channels
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.expand = ConvModule(
            in_channels, hidden, 1, act_cfg=act_cfg, **
            common) if expand_ratio != 1 else None
        self.depthwise = ConvModule(
            mixed,
            mixed,
            3,
            stride=stride,
            padding=1,
            groups=mixed,
            act_cfg=act_cfg,
            **common)
        self.project = ConvModule(mixed, out_channels, 1, act_cfg=None, **common)
        self.attn = build_channel_attention(attention, out_channels)

    def forward_parts(self, x, h):
        """``(out, y)`` (see the class)."""

        def parts(x, h):
            a = x if self.expand is None else self.expand(x)
            y = self.project(self.depthwise(torch.cat([a, h], dim=1)))
            if self.attn is not None:
                y = self.attn(y)
            return (x + y if self.use_res_connect else y), y

        if self.with_cp and (x.requires_grad or h.requires_grad):
            return cp.checkpoint(parts, x, h, use_reentrant=False)
        return parts(x, h)

    def forward_plain(self, x):
        """The block with a zero state (RLA's state before its first update)."""
        h = x.new_zeros(x.shape[0], self.rla_channels, *x.shape[2:])
        return self.forward_parts(x, h)[0]


class CompanionSequential(CompanionStage, nn.Sequential):
    """A stage of :class:`RLAInvertedResidual` blocks: ``stage(x, walk)``."""


@register_model
class RLAMobileNetV2(CompanionHooks, MobileNetV2):
    """RLA-MobileNetV2 backbone (`RLA-Net <https://arxiv.org/abs/2110.11852>`_).

    As in the official code: after the stem, h = zeros(k, H/2, W/2). Every inverted
    residual reads ``concat(expand(x), h)`` in its depthwise conv; h is
    average-pooled in strided blocks after the block used it (``ceil_mode``, so any
    input size works), then ``h <- rc(tanh(BN_b(h + conv1x1_l(y))))`` with ``y`` the
    block's projection output, one 1x1 per layer of ``arch_settings`` (7), one BN per
    block and one recurrent conv ``rc`` shared by the whole network: a depthwise 3x3
    (the paper's RLA-MobileNetV2: 3,624,168 parameters with the 1000-class head;
    3.46M in the paper's 2^20 units) or, with ``recurrent_conv='dense'``, a dense
    3x3. With ``h_readout`` the final 1x1 conv (to 1280) reads
    ``concat(x, relu6(BN(h)))``.

    Args:
        rla_channels (int): k. Default: 32.
        recurrent_conv (str): ``'depthwise'`` (default) or ``'dense'``.
        attention (dict | None): channel attention after every projection,
            e.g. ``dict(type='ECA')``. ECA's ``kernel_size`` defaults to ECA-Net's
            MobileNetV2 rule (1 below 96 output channels, else 3; the ECA+RLA
            model then has 3,624,199 parameters); an int, a list of 7 (one per
            layer) or ``'adaptive'`` (ECA-Net's log rule) override it.
        h_readout (bool): concatenate ``relu6(BN(h))`` before the last conv
            (classification). False (detection) leaves ``conv2`` as upstream.
        **kwargs: :class:`mmpretrain.models.MobileNetV2` arguments
            (``widen_factor``, ``out_indices`` in 0..7, ``frozen_stages``,
            ``norm_eval``, ``with_cp``, ...).

    Example:
        >>> import torch
        >>> from mmrla.models import RLAMobileNetV2
        >>> model = RLAMobileNetV2(out_indices=(2, 4, 7)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 32, 28, 28)
        (1, 96, 14, 14)
        (1, 1280, 7, 7)
    """

    recurrent_convs = ('depthwise', 'dense')
    # The official model pools functionally before its classifier, so the thop of
    # the paper's FLOPs never counted that pooling (tools/analysis/get_flops.py).
    paper_counts_global_pool = False

    def __init__(self,
                 rla_channels=32,
                 recurrent_conv='depthwise',
                 attention=None,
                 h_readout=True,
                 widen_factor=1.,
                 out_indices=(7, ),
                 frozen_stages=-1,
                 **kwargs):
        check_positive_ints(self, rla_channels=rla_channels)
        if recurrent_conv not in self.recurrent_convs:
            invalid_arg(self, 'recurrent_conv', recurrent_conv,
                        f'one of {self.recurrent_convs}')
        check_flags(self, h_readout=h_readout)
        if (isinstance(widen_factor, bool)
                or not isinstance(widen_factor, (int, float))
                or widen_factor <= 0):
            invalid_arg(self, 'widen_factor', widen_factor,
                        'a positive number')
        if (not isinstance(out_indices, (list, tuple)) or not out_indices
                or any(not is_int(i) or not 0 <= i <= 7 for i in out_indices)):
            invalid_arg(self, 'out_indices', out_indices,
                        'a non-empty sequence of ints in 0..7')
        if not is_int(frozen_stages) or not -1 <= frozen_stages <= 7:
            invalid_arg(self, 'frozen_stages', frozen_stages, 'an int in -1..7')
        check_common_args(
            self, **{k: v for k, v in kwargs.items() if k in COMMON_ARGS})
        self.rla_channels = rla_channels
        self.recurrent_conv = recurrent_conv
        self.h_readout = h_readout
        channels = [make_divisible(c * widen_factor, 8)
                    for _, c, _, _ in self.arch_settings]
        # ECA-Net's MobileNetV2 rule: kernel 1 below 96 channels, else 3
        self._layer_attention = stage_attention_cfgs(
            self, attention, channels,
            default_kernels=[1 if c < 96 else 3 for c in channels])
        self._layer_index = 0
        super().__init__(
            widen_factor=widen_factor,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            **kwargs)
        self.attach_companion(self.layers[:-1])

    def build_companion(self):
        conv_cfg, norm_cfg = self.conv_cfg, self.norm_cfg
        rla_channels = self.rla_channels
        rc_groups = rla_channels if self.recurrent_conv == 'depthwise' else 1
        shared_rc = build_conv_layer(
            conv_cfg,
            rla_channels,
            rla_channels,
            3,
            padding=1,
            groups=rc_groups,
            bias=False)
        for i, layer_name in enumerate(self.layers[:-1]):
            layer = getattr(self, layer_name)
            self.add_module(
                f'rla{i + 1}',
                RLAStageCell(
                    layer[-1].out_channels,
                    rla_channels,
                    len(layer),
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    recurrent_conv=shared_rc))
        if self.h_readout:
            # conv2 reads concat(x, relu6(BN(h))): rebuild it with k more inputs
            self.conv2 = ConvModule(
                self.in_channels + rla_channels,
                self.out_channel,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=self.act_cfg)
            self.rla_norm_name, rla_norm = build_norm_layer(
                norm_cfg, rla_channels, postfix='_rla')
            self.add_module(self.rla_norm_name, rla_norm)
        # channels of the last output, what a classification head reads
        self.feat_dim = self.out_channel

    @property
    def rla_norm(self):
        return getattr(self, self.rla_norm_name)

    def make_layer(self, out_channels, num_blocks, stride, expand_ratio):
        # called by MobileNetV2.__init__ once per row of arch_settings
        attention = self._layer_attention[self._layer_index]
        self._layer_index += 1
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                RLAInvertedResidual(
                    self.in_channels,
                    out_channels,
                    stride if i == 0 else 1,
                    expand_ratio,
                    self.rla_channels,
                    attention=attention,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp))
            self.in_channels = out_channels
        return CompanionSequential(*blocks)

    def init_state(self, x):
        # h = zeros at the stem output's size, on x's device, dtype and layout
        return self.rla1.init_state(x)

    def forward_block(self, stage, index, block, x, h):
        cell = getattr(self, f'rla{stage + 1}')
        x, y = block.forward_parts(x, h)
        if block.stride != 1:
            h = cell.pool(h, block.stride)
        return x, cell(h, y, index)

    def forward_stem(self, x):
        return self.conv1(x)

    def forward_tail(self, x, h):
        # MobileNetV2's last "layer" (out index 7) is conv2, after the stages
        if self.h_readout:
            x = torch.cat([x, F.relu6(self.rla_norm(h))], dim=1)
        x = self.conv2(x)
        return (x, ) if len(self.layers) - 1 in self.out_indices else ()

    def _freeze_stages(self):
        super()._freeze_stages()
        # a frozen layer freezes its cell too, but not the recurrent conv
        # that every layer's cell shares
        for i in range(1, self.frozen_stages + 1):
            cell = getattr(self, f'rla{i}')
            freeze([cell.update_conv, cell.norms])

    def train(self, mode=True):
        # upstream MobileNetV2.train returns None; nn.Module.train returns self
        super().train(mode)
        return self
