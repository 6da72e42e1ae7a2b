"""Channel attention composed into residual blocks by one factory.

``build_channel_attention(dict(type='ECA', kernel_size=5), channels)`` returns a module
applied to the residual branch after its last norm, before the addition (as timm's
``attn_layer`` and the official ECA+RLA code do). ``None`` means no attention.
"""
import math

import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BaseModule
from mmpretrain.models.utils import SELayer

from ..utils import invalid_arg, is_int, is_int_seq


class ECALayer(BaseModule):
    """Efficient Channel Attention (Wang et al., CVPR 2020).

    A 1D convolution of ``kernel_size`` (odd) over the channel axis of the globally
    average-pooled input, then a sigmoid gate. The parameter is named ``conv.weight``
    with shape ``(1, 1, kernel_size)`` as in the official ECA-Net and RLA-Net code.
    ``gate(x)`` is the per-channel scale, ``(B, C, 1, 1)``: ``forward(x) = x *
    gate(x)``. A residual block merges it as any scale of its branch
    (``SplitBlockMixin.merge``: the gate joins the addition's pass).
    """

    def __init__(self, channels, kernel_size=3, init_cfg=None):
        super().__init__(init_cfg)
        if (not isinstance(kernel_size, int) or isinstance(kernel_size, bool)
                or kernel_size < 1 or kernel_size % 2 == 0):
            raise ValueError('ECA kernel_size must be a positive odd int, '
                             f'got {kernel_size!r}')
        self.channels = channels
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(
            1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def gate(self, x):
        """The per-channel scale of ``x``, ``(B, C, 1, 1)``."""
        # adaptive pooling, as the official code (and so its FLOP counts) has it
        pooled = F.adaptive_avg_pool2d(x, 1)
        # (B, C, 1, 1) -> (B, 1, C): the channel axis becomes the 1D sequence
        gate = self.conv(pooled.flatten(1).unsqueeze(1)).sigmoid()
        return gate.transpose(1, 2).unsqueeze(-1)

    def forward(self, x):
        return x * self.gate(x)


def eca_adaptive_kernel_size(channels, gamma=2, b=1):
    """ECA-Net's rule k = |log2(C)/gamma + b/gamma|, rounded up to an odd int."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


ATTENTION_TYPES = {'ECA': ECALayer, 'SE': SELayer}


def stage_attention_cfgs(owner, attention, channels, default_kernels=None):
    """One channel-attention config per stage from one ``attention`` config.

    ``channels`` are the stages' output channels. ECA's ``kernel_size`` is an odd
    int (every stage), one odd int per stage, or ``'adaptive'`` (ECA-Net's rule
    from each stage's channels); left out, ``default_kernels`` (a backbone's own
    rule from ECA-Net) or else ``'adaptive'``. SE configs repeat as they are;
    ``attention=None`` gives Nones. ``owner`` names the backbone in errors.
    """
    n = len(channels)
    if attention is None:
        return [None] * n
    if not isinstance(attention, dict) or attention.get(
            'type') not in ATTENTION_TYPES:
        invalid_arg(owner, 'attention', attention,
                    "None, dict(type='ECA', kernel_size=...) or "
                    "dict(type='SE', ratio=...)")
    if attention['type'] != 'ECA':
        return [dict(attention)] * n
    kernel = attention.get('kernel_size')
    if kernel is None and default_kernels is not None:
        kernels = list(default_kernels)
    elif kernel is None or kernel == 'adaptive':
        kernels = [eca_adaptive_kernel_size(c) for c in channels]
    elif is_int(kernel):
        kernels = [kernel] * n
    elif is_int_seq(kernel, n):
        kernels = list(kernel)
    else:
        invalid_arg(owner, 'attention kernel_size', kernel,
                    f"an odd int, 'adaptive' or a list of {n} odd ints "
                    '(one per stage)')
    if any(k < 1 or k % 2 == 0 for k in kernels):
        invalid_arg(owner, 'attention kernel_size', kernel, 'positive odd ints')
    return [dict(attention, kernel_size=k) for k in kernels]


def build_channel_attention(cfg, channels):
    """Build the channel attention given by ``cfg`` for ``channels``, or None.

    Args:
        cfg (dict | None): ``dict(type='ECA', kernel_size=k)`` or
            ``dict(type='SE', ratio=16)`` (mmpretrain's ``SELayer``); None for none.
        channels (int): channels of the residual branch.
    """
    if cfg is None:
        return None
    if not isinstance(cfg, dict) or cfg.get('type') not in ATTENTION_TYPES:
        raise ValueError('channel attention must be None or a dict with type in '
                         f'{sorted(ATTENTION_TYPES)}, got {cfg!r}')
    args = dict(cfg)
    layer_type = ATTENTION_TYPES[args.pop('type')]
    return layer_type(channels, **args)
