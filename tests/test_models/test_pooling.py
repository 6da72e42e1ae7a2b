"""``avg_pool``: torch's ceil-mode average pooling, by strided sums where that is faster."""
import pytest
import torch
import torch.nn.functional as F

from mmrla.models.layers import avg_pool
from mmrla.utils.complexity import paper_ops


def _torch(x, stride=2):
    return F.avg_pool2d(x, stride, stride, ceil_mode=True)


def _pooled_with_grad(pool, x):
    leaf = x.detach().clone().requires_grad_()
    out = pool(leaf)
    grad_out = torch.randn(out.shape, dtype=out.dtype,
                           generator=torch.Generator().manual_seed(1))
    out.backward(grad_out)
    return out, leaf.grad


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_strided_sums_are_torchs_pooling(dtype):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 8, 12, dtype=dtype) * 100
    out, grad = _pooled_with_grad(lambda t: avg_pool(t, 2), x)
    ref, ref_grad = _pooled_with_grad(_torch, x)
    # the fast path ran: its own node, not torch's pooling
    assert type(avg_pool(x.requires_grad_(), 2).grad_fn).__name__ == \
        '_AvgPool2x2Backward'
    assert out.shape == ref.shape == (3, 5, 4, 6)
    # another order of the same four additions: rounding errors of at most
    # 2 eps of the summed magnitudes
    bound = 2 * torch.finfo(dtype).eps * _torch(x.detach().abs())
    assert ((out - ref).abs() <= bound).all()
    # the gradient is a quarter of the output's, in both: exactly equal
    assert torch.equal(grad, ref_grad)
    with torch.no_grad():
        assert torch.equal(avg_pool(x, 2), out)


@pytest.mark.parametrize('case', ['odd', 'channels_last', 'bfloat16',
                                  'stride 4', 'transposed', 'counted'])
def test_other_cases_are_torchs_pooling_itself(case):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 6)
    stride = 2
    if case == 'odd':
        x = torch.randn(2, 3, 7, 6)  # ceil_mode: a last window of one row
    elif case == 'channels_last':
        x = x.contiguous(memory_format=torch.channels_last)
    elif case == 'bfloat16':  # torch's bf16 pooling sums in float32
        x = x.bfloat16()
    elif case == 'stride 4':
        stride = 4
    elif case == 'transposed':
        x = x.transpose(2, 3)
    x.requires_grad_()
    if case == 'counted':  # the paper-unit counter sees the pooling
        counts = paper_ops(lambda: avg_pool(x, 2))
        assert counts['avg_pool'] == 2 * 3 * 4 * 3
        return
    out = avg_pool(x, stride)
    assert type(out.grad_fn).__name__ == 'AvgPool2DBackward0'
    assert torch.equal(out, _torch(x, stride))


def test_strided_sums_backward_is_differentiable():
    # the pooling's own backward (nearest upsampling of a quarter) has
    # gradients of its own: double backward works
    x = torch.randn(2, 3, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: avg_pool(t, 2), (x, ))
    assert torch.autograd.gradgradcheck(lambda t: avg_pool(t, 2), (x, ))
