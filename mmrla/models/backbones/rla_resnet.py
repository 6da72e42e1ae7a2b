"""RLA-ResNet: ResNet with recurrent layer aggregation (Zhao et al., NeurIPS 2021).

One ResNet body (mmpretrain's ``ResNet``, its blocks and ``ResLayer``) carries a small
recurrent companion: a k-channel feature map h that is concatenated into the input of
every block and updated after every block by the stage's :class:`RLAStageCell`.
"""
import os.path as osp
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmpretrain.models.backbones.resnet import BasicBlock, ResNet
from mmpretrain.models.backbones.resnext import Bottleneck as _Bottleneck

from mmrla.registry import register_model
from ..layers import (RLAStageCell, build_channel_attention,
                      eca_adaptive_kernel_size)


class RLABlockMixin:
    """Turns a ResNet block into one that reads the RLA hidden state.

    The block's first conv takes ``concat(x, h)`` (in + k channels); the shortcut takes
    ``x`` alone. An optional channel attention scales the residual branch after its
    last norm, before the addition. ``forward(x, h)`` returns the block output and the
    residual branch (the latter feeds the paper-prose variant of the RLA update).
    """

    def _init_attention(self, attention):
        self.attn = build_channel_attention(attention, self.out_channels)

    def residual_branch(self, xh):
        raise NotImplementedError

    def forward(self, x, h):

        def _inner_forward(x, h):
            branch = self.residual_branch(torch.cat([x, h], dim=1))
            if self.attn is not None:
                branch = self.attn(branch)
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(self.drop_path(branch) + identity), branch

        if self.with_cp and (x.requires_grad or h.requires_grad):
            return cp.checkpoint(_inner_forward, x, h, use_reentrant=False)
        return _inner_forward(x, h)


class RLABasicBlock(RLABlockMixin, BasicBlock):
    """mmpretrain's BasicBlock reading ``concat(x, h)`` (new: the official code has
    no BasicBlock RLA-ResNet)."""

    def __init__(self, in_channels, out_channels, rla_channels=32,
                 attention=None, **kwargs):
        super().__init__(in_channels + rla_channels, out_channels, **kwargs)
        self.in_channels = in_channels
        self._init_attention(attention)

    def residual_branch(self, xh):
        out = self.relu(self.norm1(self.conv1(xh)))
        return self.norm2(self.conv2(out))


class RLABottleneck(RLABlockMixin, _Bottleneck):
    """mmpretrain's (ResNeXt-capable) Bottleneck reading ``concat(x, h)``."""

    def __init__(self, in_channels, out_channels, rla_channels=32,
                 attention=None, groups=1, width_per_group=4, **kwargs):
        super().__init__(
            in_channels + rla_channels,
            out_channels,
            groups=groups,
            width_per_group=width_per_group,
            **kwargs)
        self.in_channels = in_channels
        self._init_attention(attention)

    def residual_branch(self, xh):
        out = self.relu(self.norm1(self.conv1(xh)))
        out = self.relu(self.norm2(self.conv2(out)))
        return self.norm3(self.conv3(out))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_seq(value, length=None):
    return (isinstance(value, Sequence) and not isinstance(value, str)
            and all(_is_int(v) for v in value)
            and (length is None or len(value) == length))


@register_model
class RLAResNet(ResNet):
    """RLA-ResNet backbone (`RLA-Net <https://arxiv.org/abs/2110.11852>`_).

    After the stem, h = zeros(k, H/4, W/4). Every block reads ``concat(x, h)``; after
    block b of stage s, ``h <- conv3x3_s(tanh(BN_b(h + conv1x1_s(y))))``. In the first
    block of a strided stage, h is average-pooled 2x2 after the block has used it
    (``ceil_mode``, so h always matches the main path, for any input size).

    By default ``y`` is the block's final output: in the official code the residual
    branch is modified in place by the addition and ReLU, so that is what it feeds the
    update, and official weights reproduce only that way. The paper's prose says the
    residual branch; ``update_source='branch'`` gives that variant.

    Arguments not listed are those of mmpretrain's :class:`ResNet`, with its defaults.

    Args:
        depth (int): 18, 34 (BasicBlock), 50, 101, 152 (Bottleneck).
        rla_channels (int): k, channels of the hidden state. Default: 32.
        attention (dict | None): channel attention on every residual branch:
            ``dict(type='ECA', kernel_size=K)`` with K an odd int, a list of one odd
            int per stage (the official ECA+RLA uses ``[5, 5, 5, 7]``) or
            ``'adaptive'`` (ECA-Net's rule from the stage's channels);
            ``dict(type='SE', ratio=16)`` (mmpretrain's SELayer); None for none.
        update_source (str): ``'output'`` (official code) or ``'branch'`` (paper
            prose): what the RLA update reads from each block.
        h_readout (bool): if True, the last stage's output is
            ``concat(x, relu(BN(h)))`` (C + k channels), the classification readout
            of RLA-Net; if False (detection), only stage outputs are returned and h
            goes nowhere. Default: True.
        stage_blocks (Sequence[int] | None): blocks per stage, overriding the
            depth's default, e.g. ``(1, 1, 2, 1)``.
        groups (int): groups of the 3x3 conv in Bottleneck (ResNeXt). Default: 1.
        width_per_group (int): width per group (ResNeXt). Default: 4.

    Example:
        >>> import torch
        >>> from mmrla.models import RLAResNet
        >>> model = RLAResNet(depth=50, out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 256, 56, 56)
        (1, 512, 28, 28)
        (1, 1024, 14, 14)
        (1, 2080, 7, 7)
    """

    arch_settings = {
        18: (RLABasicBlock, (2, 2, 2, 2)),
        34: (RLABasicBlock, (3, 4, 6, 3)),
        50: (RLABottleneck, (3, 4, 6, 3)),
        101: (RLABottleneck, (3, 4, 23, 3)),
        152: (RLABottleneck, (3, 8, 36, 3)),
    }
    update_sources = ('output', 'branch')

    def __init__(self,
                 depth,
                 rla_channels=32,
                 attention=None,
                 update_source='output',
                 h_readout=True,
                 stage_blocks=None,
                 groups=1,
                 width_per_group=4,
                 num_stages=4,
                 strides=(1, 2, 2, 2),
                 dilations=(1, 1, 1, 1),
                 out_indices=(3, ),
                 frozen_stages=-1,
                 style='pytorch',
                 **kwargs):
        self._check_args(depth, rla_channels, update_source, stage_blocks,
                         groups, width_per_group, num_stages, strides,
                         dilations, out_indices, frozen_stages, style,
                         h_readout)
        block, default_blocks = self.arch_settings[depth]
        stage_blocks = tuple(stage_blocks or default_blocks[:num_stages])
        stage_attention = self._stage_attention(attention, block, num_stages,
                                                kwargs.get('base_channels', 64))
        # ResNet.__init__ reads the block counts from arch_settings; an instance
        # attribute overrides them for this model only.
        self.arch_settings = {depth: (block, stage_blocks)}
        self.rla_channels = rla_channels
        self.update_source = update_source
        self.h_readout = h_readout
        self._block_kwargs = dict(rla_channels=rla_channels)
        if block is RLABottleneck:
            self._block_kwargs.update(
                groups=groups, width_per_group=width_per_group)
        self._stage_attention_cfgs = stage_attention
        super().__init__(
            depth,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            style=style,
            **kwargs)

        for i, layer_name in enumerate(self.res_layers):
            res_layer = getattr(self, layer_name)
            self.add_module(
                f'rla{i + 1}',
                RLAStageCell(
                    res_layer[-1].out_channels,
                    rla_channels,
                    len(res_layer),
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg))
        if h_readout:
            self.rla_norm_name, rla_norm = build_norm_layer(
                self.norm_cfg, rla_channels, postfix='_rla')
            self.add_module(self.rla_norm_name, rla_norm)
            self.feat_dim += rla_channels
        self._freeze_stages()

    # ---- construction -------------------------------------------------------------
    def _check_args(self, depth, rla_channels, update_source, stage_blocks,
                    groups, width_per_group, num_stages, strides, dilations,
                    out_indices, frozen_stages, style, h_readout):

        def fail(arg, value, allowed):
            raise ValueError(f'RLAResNet: invalid {arg}={value!r}; '
                             f'expected {allowed}')

        if depth not in self.arch_settings:
            fail('depth', depth, f'one of {sorted(self.arch_settings)}')
        if not _is_int(rla_channels) or rla_channels <= 0:
            fail('rla_channels', rla_channels, 'a positive int')
        if update_source not in self.update_sources:
            fail('update_source', update_source,
                 f'one of {self.update_sources}')
        if not _is_int(num_stages) or not 1 <= num_stages <= 4:
            fail('num_stages', num_stages, 'an int in 1..4')
        if stage_blocks is not None and not (
                _is_int_seq(stage_blocks, num_stages)
                and all(n > 0 for n in stage_blocks)):
            fail('stage_blocks', stage_blocks,
                 f'None or {num_stages} positive ints (one per stage)')
        for name, value in (('strides', strides), ('dilations', dilations)):
            if not (_is_int_seq(value, num_stages)
                    and all(v > 0 for v in value)):
                fail(name, value, f'{num_stages} positive ints (one per stage)')
        if not (_is_int_seq(out_indices) and len(out_indices) > 0
                and all(0 <= i < num_stages for i in out_indices)):
            fail('out_indices', out_indices,
                 f'a non-empty sequence of stage indices in 0..{num_stages - 1}')
        if not _is_int(frozen_stages) or not -1 <= frozen_stages <= num_stages:
            fail('frozen_stages', frozen_stages,
                 f'an int in -1..{num_stages} (-1 freezes nothing)')
        if style not in ('pytorch', 'caffe'):
            fail('style', style, "'pytorch' or 'caffe'")
        if not _is_int(groups) or groups < 1:
            fail('groups', groups, 'a positive int')
        if not _is_int(width_per_group) or width_per_group < 1:
            fail('width_per_group', width_per_group, 'a positive int')
        if groups != 1 and self.arch_settings[depth][0] is RLABasicBlock:
            fail('groups', groups,
                 f'1 for depth {depth} (ResNeXt groups need Bottleneck, '
                 'depth >= 50)')
        if not isinstance(h_readout, bool):
            fail('h_readout', h_readout, 'True or False')
        if h_readout and num_stages - 1 not in out_indices:
            fail('out_indices', out_indices,
                 f'to include the last stage {num_stages - 1} when '
                 'h_readout=True (h joins the last stage output); '
                 'set h_readout=False for detection')

    @staticmethod
    def _stage_attention(attention, block, num_stages, base_channels):
        """Per-stage attention configs with ECA kernel sizes resolved."""
        if attention is None:
            return [None] * num_stages
        if not isinstance(attention, dict) or attention.get('type') not in (
                'ECA', 'SE'):
            raise ValueError(
                f'RLAResNet: invalid attention={attention!r}; expected None, '
                "dict(type='ECA', kernel_size=...) or dict(type='SE', "
                'ratio=...)')
        if attention['type'] == 'SE':
            return [dict(attention)] * num_stages
        kernel = attention.get('kernel_size', 'adaptive')
        if kernel == 'adaptive':
            expansion = 1 if block is RLABasicBlock else 4
            kernels = [
                eca_adaptive_kernel_size(base_channels * expansion * 2**i)
                for i in range(num_stages)
            ]
        elif _is_int(kernel):
            kernels = [kernel] * num_stages
        elif _is_int_seq(kernel, num_stages):
            kernels = list(kernel)
        else:
            raise ValueError(
                f'RLAResNet: invalid attention kernel_size={kernel!r}; '
                f"expected an odd int, 'adaptive' or a list of {num_stages} "
                'odd ints (one per stage)')
        for k in kernels:
            if k < 1 or k % 2 == 0:
                raise ValueError(
                    f'RLAResNet: invalid attention kernel_size={kernel!r}; '
                    'ECA kernel sizes must be positive odd ints')
        return [dict(attention, kernel_size=k) for k in kernels]

    def make_res_layer(self, **kwargs):
        stage = len(self.res_layers)
        kwargs.update(self._block_kwargs)
        kwargs['attention'] = self._stage_attention_cfgs[stage]
        return super().make_res_layer(**kwargs)

    @property
    def rla_norm(self):
        return getattr(self, self.rla_norm_name)

    def _freeze_stages(self):
        super()._freeze_stages()
        # A frozen stage freezes its recurrent cell too (absent while
        # ResNet.__init__ runs; called again once the cells exist).
        for i in range(1, self.frozen_stages + 1):
            cell = getattr(self, f'rla{i}', None)
            if cell is not None:
                cell.eval()
                for param in cell.parameters():
                    param.requires_grad = False

    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            path = cfg.get('checkpoint')
            # Fail before training starts, and say how to make the file.
            if (isinstance(path, str) and '://' not in path
                    and not osp.isfile(path)):
                raise FileNotFoundError(
                    f'RLAResNet: init_cfg checkpoint not found: {path}. '
                    'Convert the official RLA-Net ImageNet weights with '
                    '`python tools/model_converters/rlanet2mmrla.py '
                    f'<official .pth.tar> {path}` (see configs/rla/README.md),'
                    ' or set model.backbone.init_cfg=None to train from '
                    'scratch.')
        super().init_weights()

    def train(self, mode=True):
        super().train(mode)
        return self  # upstream ResNet.train returns None; nn.Module's returns self

    # ---- forward ------------------------------------------------------------------
    def _forward_stem(self, x):
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    def forward(self, x):
        x = self._forward_stem(x)
        # Created on x's device and dtype, so any device, dtype and autocast work.
        h = x.new_zeros(x.shape[0], self.rla_channels, *x.shape[2:])
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            cell = getattr(self, f'rla{i + 1}')
            for j, block in enumerate(getattr(self, layer_name)):
                x, branch = block(x, h)
                if block.stride != 1:
                    # ceil_mode pools odd sizes to ceil(H/2), the main path's size.
                    h = F.avg_pool2d(
                        h, block.stride, block.stride, ceil_mode=True)
                y = x if self.update_source == 'output' else branch
                h = cell(h, y, j)
            if i in self.out_indices:
                if self.h_readout and i == self.num_stages - 1:
                    outs.append(
                        torch.cat([x, F.relu(self.rla_norm(h))], dim=1))
                else:
                    outs.append(x)
        return tuple(outs)
