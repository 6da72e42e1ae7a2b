"""``relu(scale * branch + shortcut)`` where the scale is computed from the branch's
global average (layer attention), with the branch's gradient written in one pass.

Autograd's own backward of ``pool -> ... -> scale`` and ``addcmul`` writes the
branch's gradient twice, as two full-size tensors (``g * scale`` from the addition,
``grad_pooled / HW`` from the pooling) and then adds them: three more passes over
every branch than the plain residual block makes. Here the addition's backward
hands ``g`` and the scale to the pooling's node (:func:`pool_for_scale`), which
runs after it (its gradient comes through the scale) and writes
``grad_pooled / HW + g * scale`` in one ``addcmul``. The addition's node gives the
branch no gradient of its own. ``gated_residual``
(:mod:`~mmrla.models.layers.channel_attention`) does the same for ECA, whose gate
is cheap enough to recompute; layer attention's scale goes through a recurrent
state shared with later blocks, so the pooling's own backward is where both
gradients meet. LayerAttention-R50 (batch 8, 2 CPU cores): about 40 ms of a
3.4 s training step.
"""
import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .lstm import _graph_task, _plain_graph


class _Link:
    """What a scaled residual's backward leaves for the pooling of its branch:
    ``(g, scale)`` by backward pass."""

    def __init__(self):
        self.pending = {}


class _PoolForScale(torch.autograd.Function):

    @staticmethod
    def forward(ctx, branch, link):
        ctx.link = link
        ctx.shape = branch.shape
        ctx.memory_format = (torch.channels_last
                             if branch.dim() == 4 and not branch.is_contiguous()
                             and branch.is_contiguous(
                                 memory_format=torch.channels_last) else
                             torch.contiguous_format)
        return F.adaptive_avg_pool2d(branch, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_pooled):
        hw = ctx.shape[2] * ctx.shape[3]
        pending = ctx.link.pending.pop(_graph_task(), None)
        if pending is None:  # the residual gave the branch no gradient
            return grad_pooled.div(hw).expand(ctx.shape).contiguous(
                memory_format=ctx.memory_format), None
        g, scale = pending
        return torch.addcmul(grad_pooled / hw, g, scale), None


class _ScaledResidual(torch.autograd.Function):

    @staticmethod
    def forward(ctx, branch, identity, scale, link, relu):
        out = torch.addcmul(identity, branch, scale)
        if relu:
            out = out.relu_()
        ctx.link = link
        ctx.save_for_backward(branch, scale, out if relu else None)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        branch, scale, out = ctx.saved_tensors
        # the ReLU's backward, as autograd's
        g = grad_out if out is None else torch.ops.aten.threshold_backward(
            grad_out, out, 0)
        need_branch, need_identity, need_scale = ctx.needs_input_grad[:3]
        grad_scale = None
        if need_scale:
            dims = [d for d in range(g.dim()) if scale.shape[d] == 1]
            grad_scale = (g * branch).sum(dims, keepdim=True)
        if need_branch:
            ctx.link.pending[_graph_task()] = (g, scale)
        return (None, g if need_identity else None, grad_scale, None, None)


def pool_for_scale(branch):
    """``(F.adaptive_avg_pool2d(branch, 1), link)``: pass ``link`` to
    :func:`scaled_residual` of this branch with a scale computed from the
    pooled tensor. ``link`` is None where autograd's plain ops run (no
    gradient, tracers, torch.compile, torch function modes)."""
    if not (torch.is_grad_enabled() and branch.requires_grad) or _plain_graph():
        return F.adaptive_avg_pool2d(branch, 1), None
    link = _Link()
    return _PoolForScale.apply(branch, link), link


def scaled_residual(branch, identity, scale, link=None, relu=True,
                    inplace=False):
    """``relu(scale * branch + identity)`` (no ReLU if ``relu`` is False).

    ``link`` from :func:`pool_for_scale` of ``branch``, with ``scale`` computed
    differentiably from its pooled tensor: the branch's gradient is then
    written once, by the pooling's backward (see the module's docstring).
    Without a link, autograd's own ``addcmul``. ``inplace=True`` lets
    inference write into ``branch``, which the caller no longer needs.
    """
    grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (branch, identity, scale))
    if (link is not None and grad and branch.requires_grad
            and scale.requires_grad and not _plain_graph()):
        return _ScaledResidual.apply(branch, identity, scale, link, relu)
    out = torch.addcmul(identity, branch, scale,
                        out=branch if inplace and not grad else None)
    return out.relu_() if relu else out
