"""Two elementwise ops whose torch CPU kernels are slow here, with the same maths.

Both run torch's own op on other devices and dtypes, under tracers and torch function
modes (FLOP counters, ONNX export: they count the op they see) and under torch.compile
(which generates its own kernels).

- ``tanh_``: torch's float32 CPU tanh is accurate to 1 ULP and compute-bound: 7.9 ms
  for RLA-MobileNetV2's first hidden state (batch 8, 32 x 112 x 112; 2 CPU cores),
  where ``2 sigmoid(2x) - 1`` takes 3.0 ms and differs by at most 2e-7.
- ``avg_pool2x2``: ``F.avg_pool2d(x, 2, 2)`` on CPU: 5.3 ms forward, 13 ms with
  backward on the same tensor, against 2.3 ms for the sum of the four strided
  views (added in the kernel's order) and one broadcast copy for backward.
"""
import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


def _use_torch_op(x):
    return (x.device.type != 'cpu' or torch.jit.is_tracing()
            or torch.compiler.is_compiling()
            or torch._C._is_torch_function_mode_enabled())


def _sigmoid_tanh_(x):
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


class _SigmoidTanh(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x):
        y = _sigmoid_tanh_(x)
        ctx.mark_dirty(y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


def tanh_(x):
    """``x.tanh_()``: in place, so only on a tensor whose producer's backward
    does not read it (e.g. a norm's output)."""
    if x.dtype != torch.float32 or _use_torch_op(x):
        return x.tanh_()
    if torch.is_grad_enabled() and x.requires_grad:
        return _SigmoidTanh.apply(x)
    return _sigmoid_tanh_(x)


def _pool2x2(x):
    # the kernel's order: (0, 0), (0, 1), (1, 0), (1, 1); / 4 is * 0.25 exactly
    out = x[:, :, 0::2, 0::2] + x[:, :, 0::2, 1::2]
    return out.add_(x[:, :, 1::2, 0::2]).add_(x[:, :, 1::2, 1::2]).mul_(0.25)


class _AvgPool2x2(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x):
        return _pool2x2(x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        n, c, h, w = grad.shape
        quarter = grad.mul(0.25)[:, :, :, None, :, None]
        return quarter.expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


def avg_pool(x, stride):
    """``F.avg_pool2d(x, stride, stride, ceil_mode=True)``: ``ceil_mode`` pools
    an odd size to ``ceil(H / stride)``, the size of a strided conv's output
    (padding 1, kernel 3), averaging the window's elements inside ``x``."""
    if (stride != 2 or x.dim() != 4 or x.shape[2] % 2 or x.shape[3] % 2
            or _use_torch_op(x)):
        return F.avg_pool2d(x, stride, stride, ceil_mode=True)
    if torch.is_grad_enabled() and x.requires_grad:
        return _AvgPool2x2.apply(x)
    return _pool2x2(x)
