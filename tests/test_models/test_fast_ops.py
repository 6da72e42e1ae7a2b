"""The fast CPU ops compute torch's ops: pooling bit for bit, tanh within 2e-7."""
import pytest
import torch
import torch.nn.functional as F

from mmrla.models.layers import avg_pool, tanh_


def _torch_pool(x):
    return F.avg_pool2d(x, 2, 2, ceil_mode=True)


@pytest.mark.parametrize('shape,layout', [((2, 3, 8, 6), 'nchw'),
                                          ((2, 5, 4, 10), 'channels_last'),
                                          ((2, 3, 7, 6), 'nchw')])
def test_avg_pool_is_torch_avg_pool_bit_for_bit(shape, layout):
    torch.manual_seed(0)
    x = torch.randn(shape)
    if layout == 'channels_last':
        x = x.contiguous(memory_format=torch.channels_last)
    grads = []
    for pool in (_torch_pool, lambda t: avg_pool(t, 2)):
        leaf = x.clone().requires_grad_()
        out = pool(leaf)
        grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        out.backward(grad_out)
        grads.append((out, leaf.grad))
    (ref, ref_grad), (out, grad) = grads
    assert out.shape == ref.shape == (shape[0], shape[1], (shape[2] + 1) // 2,
                                      (shape[3] + 1) // 2)
    assert torch.equal(out, ref) and torch.equal(grad, ref_grad)
    with torch.no_grad():
        assert torch.equal(avg_pool(x, 2), ref)
    # stride 4 is torch's pooling
    assert torch.equal(avg_pool(x, 4), F.avg_pool2d(x, 4, 4, ceil_mode=True))


def test_tanh_in_place_within_2e7_with_tanhs_gradient():
    x = torch.cat([torch.linspace(-30, 30, 20001), torch.tensor([0., -0.])])
    ref = torch.tanh(x.double())
    out = tanh_(x.clone())
    assert (out.double() - ref).abs().max() < 2e-7
    assert out[0] == -1 and out[20000] == 1  # saturates exactly
    with torch.no_grad():
        y = x.clone()
        assert tanh_(y).data_ptr() == y.data_ptr()  # in place
    # backward: tanh's own formula on the output, 1 - y^2
    a = x.clone().requires_grad_()
    y = tanh_(a * 1)
    assert type(y.grad_fn).__name__ == '_SigmoidTanhBackward'
    grad_out = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    y.backward(grad_out)
    torch.testing.assert_close(a.grad, grad_out * (1 - y.detach()**2),
                               rtol=0, atol=5e-7)
    b = x.clone().requires_grad_()
    torch.tanh(b).backward(grad_out)
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-6)
    # other dtypes: torch's tanh itself
    x64 = x.double()
    assert torch.equal(tanh_(x64.clone()), torch.tanh(x64))
