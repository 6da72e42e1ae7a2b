"""Channel attention composed into residual blocks by one factory.

``build_channel_attention(dict(type='ECA', kernel_size=5), channels)`` returns a module
applied to the residual branch after its last norm, before the addition (as timm's
``attn_layer`` and the official ECA+RLA code do). ``None`` means no attention.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch.autograd.function import once_differentiable
from mmpretrain.models.utils import SELayer


class ECALayer(BaseModule):
    """Efficient Channel Attention (Wang et al., CVPR 2020).

    A 1D convolution of ``kernel_size`` (odd) over the channel axis of the globally
    average-pooled input, then a sigmoid gate. The parameter is named ``conv.weight``
    with shape ``(1, 1, kernel_size)`` as in the official ECA-Net and RLA-Net code.
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
        """The per-channel scale, ``(B, C, 1, 1)``: ``forward(x) = x * gate(x)``.
        A residual block can then add its shortcut in the same pass
        (:func:`gated_residual`) instead of writing the scaled branch first."""
        # adaptive pooling, as the official code (and so its FLOP counts) has it
        return self.gate_of_pooled(F.adaptive_avg_pool2d(x, 1))

    def gate_of_pooled(self, pooled):
        """The gate from the pooled input ``(B, C, 1, 1)``."""
        # (B, C, 1, 1) -> (B, 1, C): the channel axis becomes the 1D sequence.
        y = self.conv(pooled.flatten(1).unsqueeze(1))
        return y.sigmoid().transpose(1, 2).unsqueeze(-1)

    def forward(self, x):
        return x * self.gate(x)


class _GatedResidual(torch.autograd.Function):
    """:func:`gated_residual` with a backward pass that adds the pooling's
    gradient into the branch's in the same pass that scales the output's.

    Autograd's own backward writes the pooling's gradient as a full-size tensor
    and then adds it to the branch's: two more passes over every branch, the
    biggest part of ECA's training cost (ResNet-50's first stage, batch 8: a
    block's ECA costs 66 ms in autograd, 22 ms here). The gate itself, a few
    numbers per channel, is recomputed in backward.
    """

    @staticmethod
    def forward(ctx, branch, identity, attn, relu, *params):
        pooled = F.adaptive_avg_pool2d(branch, 1)
        gate = attn.gate_of_pooled(pooled)
        out = torch.addcmul(identity, branch, gate)
        if relu:
            out = out.relu_()
        device = branch.device.type
        ctx.attn, ctx.params = attn, params
        ctx.autocast = (device, torch.is_autocast_enabled(device),
                        torch.get_autocast_dtype(device))
        ctx.save_for_backward(branch, pooled, gate, out if relu else None)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        branch, pooled, gate, out = ctx.saved_tensors
        # the ReLU's backward, as autograd's
        g = grad_out if out is None else torch.ops.aten.threshold_backward(
            grad_out, out, 0)
        need_branch, need_identity = ctx.needs_input_grad[:2]
        params = [
            p for p, need in zip(ctx.params, ctx.needs_input_grad[4:]) if need
        ]
        inputs = params
        if need_branch:
            leaf = pooled.detach().requires_grad_()
            inputs = [leaf] + params
        grads = []
        if inputs:
            grad_gate = (g * branch).sum((2, 3), keepdim=True)
            device, enabled, dtype = ctx.autocast
            with torch.enable_grad(), torch.autocast(
                    device, dtype=dtype, enabled=enabled):
                gate_ = ctx.attn.gate_of_pooled(leaf if need_branch else
                                                pooled)
            grads = list(torch.autograd.grad(gate_, inputs, grad_gate))
        grad_branch = None
        if need_branch:
            # adaptive_avg_pool2d's backward (grad / HW everywhere) added in the
            # pass that scales g
            hw = branch.shape[2] * branch.shape[3]
            grad_branch = torch.addcmul(grads.pop(0) / hw, g, gate)
        grad_params = iter(grads)
        return (grad_branch, g if need_identity else None, None, None,
                *(next(grad_params) if need else None
                  for need in ctx.needs_input_grad[4:]))


def gated_residual(attn, branch, identity, relu=True, inplace=False):
    """``relu(branch * attn.gate(branch) + identity)`` (no ReLU if ``relu`` is
    False) in one pass over the branch, with the fused backward of
    :class:`_GatedResidual`.

    ``attn`` has ``gate_of_pooled`` (ECA). ``inplace=True`` lets inference write
    into ``branch``, which the caller no longer needs.
    """
    params = tuple(attn.parameters())
    needs_grad = torch.is_grad_enabled() and (
        branch.requires_grad or identity.requires_grad
        or any(p.requires_grad for p in params))
    if needs_grad and not (torch.jit.is_tracing()
                           or torch.compiler.is_compiling()):
        return _GatedResidual.apply(branch, identity, attn, relu, *params)
    # Tracers (FLOP counters, ONNX export) and torch.compile (which fuses on
    # its own; its tracer would break the graph at every block) see plain ops.
    out = torch.addcmul(identity, branch, attn.gate(branch),
                        out=None if needs_grad or not inplace else branch)
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
