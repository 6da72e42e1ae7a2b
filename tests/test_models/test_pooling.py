"""``avg_pool``: the companions' state pooling keeps the main path's size.
``adaptive_avg_pool``: torch's adaptive average pooling, in products a traced graph
keeps symbolic."""
import pytest
import torch
import torch.nn.functional as F

from mmrla.models.layers import adaptive_avg_pool, avg_pool


def test_odd_sizes_pool_to_the_strided_convs_size():
    # a 3x3 conv with stride 2 and padding 1 maps 7x5 to 4x3; so must h's pooling
    x = torch.arange(35, dtype=torch.float64).view(1, 1, 7, 5)
    out = avg_pool(x, 2)
    assert out.shape == (1, 1, 4, 3)
    # full windows are means of four, the ragged edge windows of what is inside
    assert out[0, 0, 0, 0] == (0 + 1 + 5 + 6) / 4
    assert out[0, 0, 0, 2] == (4 + 9) / 2
    assert out[0, 0, 3, 2] == 34
    torch.testing.assert_close(
        avg_pool(x, 2),
        torch.nn.functional.avg_pool2d(x, 2, 2, ceil_mode=True))


@pytest.mark.parametrize('cells', [(1, 1), (2, 2), (3, 5), (7, 4)])
def test_adaptive_avg_pool_is_torchs(cells):
    """The same cells as ``F.adaptive_avg_pool2d`` / ``1d`` (overlapping where
    the size does not divide, repeated where it is smaller), for every size
    up to 19 x 19."""
    g = torch.Generator().manual_seed(0)
    for h in range(1, 20):
        x = torch.randn(2, 3, h, 20 - h, dtype=torch.float64, generator=g)
        torch.testing.assert_close(adaptive_avg_pool(x, cells),
                                   F.adaptive_avg_pool2d(x, cells),
                                   rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(
            adaptive_avg_pool(x[:, 0], cells[:1]),
            F.adaptive_avg_pool1d(x[:, 0], cells[0]), rtol=1e-12, atol=1e-12)
