"""A neck for fully connected classifiers: pool to a fixed grid, flatten."""
import torch
import torch.nn.functional as F

from mmengine.model import BaseModule

from mmrla.registry import register_model

from ..utils import check_positive_ints, invalid_arg


@register_model
class PoolFlatten(BaseModule):
    """Pools each feature map to a ``grid x grid`` grid and flattens it:
    ``(B, C, H, W)`` to ``(B, C * grid * grid)``, for a fully connected head
    (mmpretrain's ``StackedLinearClsHead`` with ``in_channels=C * grid**2``).

    mmpretrain's necks pool globally (``GlobalAveragePooling``,
    ``GeneralizedMeanPooling``) or flatten without pooling (``LinearNeck``,
    ``gap_dim=0``); a VGG classifier reads the last map pooled, not pooled away.
    The RA-LSTM paper's VGG (Section 4.3, Table 1) ends its last stage with 2x2
    max-pooling before the fully connected layers: on its 8x8 last map at 32x32
    input, ``grid=4`` is exactly that pooling. The pooling is adaptive, so any input
    size gives the same grid and the head's width does not depend on it.

    A tuple of maps (a backbone's stage outputs) gives a tuple, one per map, as
    ``GlobalAveragePooling`` does; the head reads the last.

    Args:
        grid (int): side of the pooled grid. Default: 4.
        mode (str): ``'max'`` or ``'avg'`` pooling. Default: ``'max'``.
    """

    modes = ('max', 'avg')

    def __init__(self, grid=4, mode='max', init_cfg=None):
        super().__init__(init_cfg)
        check_positive_ints(self, grid=grid)
        if mode not in self.modes:
            invalid_arg(self, 'mode', mode, f'one of {self.modes}')
        self.grid = grid
        self.mode = mode

    def _flatten(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise TypeError(f'{type(self).__name__}: expected (B, C, H, W) '
                            f'maps, got {_describe(x)}')
        pool = (F.adaptive_max_pool2d
                if self.mode == 'max' else F.adaptive_avg_pool2d)
        return pool(x, self.grid).flatten(1)

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(self._flatten(x) for x in inputs)
        return self._flatten(inputs)


def _describe(x):
    if isinstance(x, torch.Tensor):
        return f'a tensor of shape {tuple(x.shape)}'
    return f'a {type(x).__name__}'
