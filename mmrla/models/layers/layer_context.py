"""Context of a block for layer attention: a pooled summary of fixed length."""
import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BaseModule

from .pooling import adaptive_avg_pool


def resample_channels(s, length):
    """Resample a batch of vectors ``(B, C)`` to ``(B, length)``.

    Down (C > length): mean over contiguous groups (``adaptive_avg_pool1d``'s
    cells, by :func:`adaptive_avg_pool`; exact groups of ``C / length`` when it
    divides). Up (C < length): nearest-neighbour
    repetition (each value ``length / C`` times when it divides).
    """
    channels = s.shape[1]
    if channels == length:
        return s
    if channels > length:
        return adaptive_avg_pool(s, (length, ))
    return F.interpolate(s.unsqueeze(1), size=length, mode='nearest').squeeze(1)


class LayerContext(BaseModule):
    """S = F_context(A): pool a block's residual branch to a vector, optionally
    pass it through a two-layer MLP, and resample it to ``out_length``.

    Args:
        channels (int): channels of A.
        out_length (int): N, the common length of every block's context.
        mode (str): ``'gap'``, ``'gmp'`` (global average / max pooling),
            ``'gap_mlp'``, ``'gmp_mlp'`` (then FC-ReLU-FC, C -> C/ratio -> C).
        mlp_ratio (int): reduction of the MLP's hidden layer. Default: 16.
    """
    modes = ('gap', 'gmp', 'gap_mlp', 'gmp_mlp')

    def __init__(self, channels, out_length, mode='gap', mlp_ratio=16,
                 init_cfg=None):
        super().__init__(init_cfg)
        if mode not in self.modes:
            raise ValueError(f'LayerContext: invalid mode={mode!r}; expected '
                             f'one of {self.modes}')
        self.out_length = out_length
        self.pool = F.adaptive_max_pool2d if mode.startswith('gmp') \
            else F.adaptive_avg_pool2d
        self.mlp = None
        if mode.endswith('_mlp'):
            hidden = max(1, channels // mlp_ratio)
            self.mlp = nn.Sequential(
                nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                nn.Linear(hidden, channels))

    def forward(self, a):
        s = self.pool(a, 1).flatten(1)
        if self.mlp is not None:
            s = self.mlp(s)
        return resample_channels(s, self.out_length)
