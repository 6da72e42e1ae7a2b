"""Channel attention composed into residual blocks by one factory.

``build_channel_attention(dict(type='ECA', kernel_size=5), channels)`` returns a module
applied to the residual branch after its last norm, before the addition (as timm's
``attn_layer`` and the official ECA+RLA code do). ``None`` means no attention.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from mmengine.model import BaseModule
from mmpretrain.models.utils import SELayer


class ECALayer(BaseModule):
    """Efficient Channel Attention (Wang et al., CVPR 2020).

    A 1D convolution of ``kernel_size`` (odd) over the channel axis of the globally
    average-pooled input, then a sigmoid gate. The parameter is named ``conv.weight``
    with shape ``(1, 1, kernel_size)`` as in the official ECA-Net and RLA-Net code.
    ``gate(x)`` is the per-channel scale, ``(B, C, 1, 1)``: ``forward(x) = x *
    gate(x)``. A residual block can then add its shortcut in the same pass
    (``torch.addcmul``) instead of writing the scaled branch first.
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
        # adaptive pooling, as the official code (and so its FLOP counts) has it
        return self.gate_of_pooled(F.adaptive_avg_pool2d(x, 1))

    def gate_of_pooled(self, pooled):
        """The gate from the pooled input ``(B, C, 1, 1)``."""
        # (B, C, 1, 1) -> (B, 1, C): the channel axis becomes the 1D sequence
        gate = self.conv(pooled.flatten(1).unsqueeze(1)).sigmoid()
        return gate.transpose(1, 2).unsqueeze(-1)

    def forward(self, x):
        return x * self.gate(x)


class _GatedResidual(torch.autograd.Function):
    """``relu(branch * gate(branch) + identity)`` whose backward writes the
    branch's gradient in one pass: the gate's share through the pooling
    (``grad_pooled / HW``) and the addition's (``g * gate``) in one
    ``torch.addcmul``, where autograd writes both as full-size tensors and then
    adds them. The gate, a few numbers per channel, is recomputed in backward
    for its parameters' gradients. ECA+RLA-R50's training step: 4 %.
    """

    @staticmethod
    def forward(ctx, branch, identity, attn, relu, *params):
        pooled = F.adaptive_avg_pool2d(branch, 1)
        gate = attn.gate_of_pooled(pooled)
        out = torch.addcmul(identity, branch, gate)
        if relu:
            out = out.relu_()
        device = branch.device.type
        ctx.attn = attn
        ctx.autocast = (device, torch.is_autocast_enabled(device),
                        torch.get_autocast_dtype(device))
        ctx.save_for_backward(branch, pooled, gate, out if relu else None)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        branch, pooled, gate, out = ctx.saved_tensors
        g = grad_out if out is None else grad_out * (out > 0)  # the ReLU's
        need_branch, need_identity = ctx.needs_input_grad[:2]
        params = [p for p, need in zip(ctx.attn.parameters(),
                                       ctx.needs_input_grad[4:]) if need]
        leaf = pooled.detach().requires_grad_(need_branch)
        inputs = ([leaf] if need_branch else []) + params
        grads = []
        if inputs:
            grad_gate = (g * branch).sum((2, 3), keepdim=True)
            device, enabled, dtype = ctx.autocast
            with torch.enable_grad(), torch.autocast(
                    device, dtype=dtype, enabled=enabled):
                recomputed = ctx.attn.gate_of_pooled(leaf)
            grads = list(torch.autograd.grad(recomputed, inputs, grad_gate))
        grad_branch = None
        if need_branch:
            hw = branch.shape[2] * branch.shape[3]
            grad_branch = torch.addcmul(grads.pop(0) / hw, g, gate)
        grad_params = iter(grads)
        return (grad_branch, g if need_identity else None, None, None,
                *(next(grad_params) if need else None
                  for need in ctx.needs_input_grad[4:]))


def gated_residual(attn, branch, identity, relu=True):
    """``relu(branch * attn.gate(branch) + identity)`` (no ReLU if ``relu`` is
    False) for an ECA ``attn``; with gradients, through
    :class:`_GatedResidual`; without, written into ``branch`` (a residual
    block's fresh branch, which nothing else reads)."""
    params = tuple(attn.parameters())
    if torch.is_grad_enabled() and (branch.requires_grad
                                    or identity.requires_grad
                                    or any(p.requires_grad for p in params)):
        return _GatedResidual.apply(branch, identity, attn, relu, *params)
    out = torch.addcmul(identity, branch, attn.gate(branch), out=branch)
    return out.relu_() if relu else out


def eca_adaptive_kernel_size(channels, gamma=2, b=1):
    """ECA-Net's rule k = |log2(C)/gamma + b/gamma|, rounded up to an odd int."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


ATTENTION_TYPES = {'ECA': ECALayer, 'SE': SELayer}


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
