"""``avg_pool``: the companions' state pooling keeps the main path's size."""
import torch

from mmrla.models.layers import avg_pool


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
