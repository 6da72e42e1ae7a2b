"""Average pooling of the recurrent companions' states and feeds.

``avg_pool(x, stride)`` is ``F.avg_pool2d(x, stride, stride, ceil_mode=True)``. torch's
CPU kernel for a contiguous (NCHW) float tensor walks every output element's window
one by one: with stride 2 on RLA-MobileNetV2's first hidden state (batch 8,
32 x 112 x 112; 2 cores) it takes 6.6 ms forward and 16 ms with backward, where adding
the two rows of each window (contiguous halves of a row pair) and then the two columns
takes 0.8 and 6.5 ms; on CRMN-32's 15 block outputs it was 10.8 ms of a 90 ms
inference. The sum runs in another order ((x00 + x10) + (x01 + x11) instead of
x00 + x01 + x10 + x11), so results may differ in the last bit; / 4 is * 0.25 exactly.

With gradients it is one autograd node whose backward writes the input's gradient
in one pass (:class:`_AvgPool2x2`); the gradient is exactly autograd's.

Every other case runs torch's op: other strides, odd sizes (``ceil_mode`` windows),
channels-last and other layouts, other devices and dtypes (bfloat16's pooling
accumulates in float32), tracers, torch.compile (which generates its own kernel) and
torch function modes (the paper-unit counter counts the pooling it sees).
"""
import torch
import torch.nn.functional as F


def _sums_rows_then_columns(x):
    return (x.dtype in (torch.float32, torch.float64)
            and x.device.type == 'cpu' and x.dim() == 4
            and x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0
            and x.is_contiguous()
            and not (torch.jit.is_tracing() or torch.compiler.is_compiling()
                     or torch._C._is_torch_function_mode_enabled()))


def _sum_pool(x):
    n, c, h, w = x.shape
    pairs = x.view(n, c, h // 2, 2 * w)  # row 2i and row 2i + 1, side by side
    rows = pairs[..., :w] + pairs[..., w:]
    return (rows[..., 0::2] + rows[..., 1::2]).mul_(0.25)


class _AvgPool2x2(torch.autograd.Function):
    """:func:`_sum_pool` with the pooling's backward: a quarter of the
    output's gradient in every cell of its window, as one nearest-neighbour
    upsampling. Autograd's backward of the strided views wrote each view's
    gradient into a zero-filled tensor and added them: RLA-MobileNetV2's
    first state (batch 8, 32 x 112 x 112, 2 cores) 9.8 -> 5.7 ms forward
    and backward; at CIFAR sizes about the same."""

    @staticmethod
    def forward(ctx, x):
        return _sum_pool(x)

    @staticmethod
    def backward(ctx, grad):
        # nearest-neighbour upsampling of a quarter of the gradient
        return F.interpolate(grad.mul(0.25), scale_factor=2, mode='nearest')


def avg_pool(x, stride):
    """``F.avg_pool2d(x, stride, stride, ceil_mode=True)`` (see the module's
    docstring for when it is computed as sums of strided views)."""
    if stride != 2 or not _sums_rows_then_columns(x):
        return F.avg_pool2d(x, stride, stride, ceil_mode=True)
    if torch.is_grad_enabled() and x.requires_grad:
        return _AvgPool2x2.apply(x)
    return _sum_pool(x)
