"""CRMN: Convolutional Residual Memory Network (Moniz & Pal, 2016).

A peephole LSTM reads the output of every residual block of the ResNet body; it never
writes back into the network. Its final hidden state joins the classifier.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmrla.registry import register_model

from ..layers import LSTMCell, adaptive_avg_pool, avg_pool
from ..utils import check_flags, check_positive_ints, is_int_seq
from .resnet_body import ResNetBody


def orthogonal_gate_init(lstm):
    """Saxe et al.'s orthogonal initialisation of an :class:`LSTMCell`'s gate
    weights, as CRMN (Sec. 4) does (Lasagne's ``init.Orthogonal``, gain 1):
    for each of the four gates, the input block ``W_x`` (M x N) and the
    recurrent block ``W_h`` (M x M) are each (semi-)orthogonal, so
    ``W_h^T W_h = I`` and the rows of ``W_x`` are orthonormal when M <= N.
    Biases and peepholes keep the cell's own initialisation."""
    n, m = lstm.input_size, lstm.hidden_size
    weight = lstm.linear.weight  # (4M, N + M): rows i, f, g, o; columns [x, h]
    if tuple(weight.shape) != (4 * m, n + m):
        raise ValueError(
            f'orthogonal_gate_init: lstm.linear.weight has shape '
            f'{tuple(weight.shape)}; expected (4 * hidden_size, input_size + '
            f'hidden_size) = {(4 * m, n + m)}')
    with torch.no_grad():
        for gate in weight.view(4, m, n + m):
            nn.init.orthogonal_(gate[:, :n])
            nn.init.orthogonal_(gate[:, n:])


@register_model
class CRMN(ResNetBody):
    """Convolutional residual memory network.

    After every residual block (not the stem), the block output (after the addition
    and non-linearity) is pooled, flattened and zero-padded to the longest block's
    length, and fed to a peephole LSTM (:class:`LSTMCell`, ``peephole=True``) with
    a learned initial hidden state and a zero initial cell. Its gate weights
    start orthogonal (:func:`orthogonal_gate_init`, the paper's Sec. 4).

    Pooling (``pool``):

    - ``'2x2'`` (the paper): 2x2 mean pooling, so the LSTM input length depends on
      the image size, fixed at construction by ``input_size`` (32x32 for CIFAR);
      smaller inputs are zero-padded, larger ones are refused.
    - ``'adaptive'`` (our extension, for images larger than CIFAR and for detection):
      adaptive mean pooling to a fixed ``pool_grid``, so any input size works and the
      input length stays small (a 224x224 ResNet-50 stage-1 output pooled 2x2 would
      be 200k values per step).

    Readout (``h_readout=True``, classification): the last stage's output is
    ``concat(GAP(x), h_L)`` as a ``(B, C + M, 1, 1)`` map, so mmpretrain's
    ``GlobalAveragePooling`` neck and ``LinearClsHead`` take it unchanged. With
    ``h_readout=False`` (detection) the memory could not influence any output (the
    paper's design: it never writes back), so none is built: the backbone returns
    the body's stage outputs.

    Args:
        depth (int): see :class:`ResNetBody`; the paper uses the CIFAR body, 6n+2.
        lstm_channels (int): M, LSTM units. Default: 100.
        pool (str): ``'2x2'`` or ``'adaptive'``.
        input_size (Sequence[int]): (H, W) the ``'2x2'`` LSTM input is sized for.
        pool_grid (Sequence[int]): (h, w) grid of ``'adaptive'`` pooling.
        gate_bias (float): initial bias of the input, forget and output gates
            (the paper found a negative one favourable, e.g. -1). Default: 0.
        h_readout (bool): join the final h to the last stage output.
    """

    pools = ('2x2', 'adaptive')

    def __init__(self,
                 depth,
                 lstm_channels=100,
                 pool='2x2',
                 input_size=(32, 32),
                 pool_grid=(2, 2),
                 gate_bias=0.0,
                 h_readout=True,
                 **kwargs):
        check_positive_ints(self, lstm_channels=lstm_channels)
        if pool not in self.pools:
            self._fail('pool', pool, f'one of {self.pools}')
        for arg, value in (('input_size', input_size), ('pool_grid',
                                                        pool_grid)):
            if not (is_int_seq(value, 2) and min(value) > 0):
                self._fail(arg, value, 'two positive ints (H, W)')
        if not isinstance(gate_bias, (int, float)) or isinstance(
                gate_bias, bool):
            self._fail('gate_bias', gate_bias, 'a number')
        check_flags(self, h_readout=h_readout)
        self.lstm_channels = lstm_channels
        self.pool = pool
        self.input_size = tuple(input_size)
        self.pool_grid = tuple(pool_grid)
        self.h_readout = h_readout
        self.gate_bias = gate_bias
        super().__init__(depth, **kwargs)

    def build_companion(self):
        self._check_readout(self.h_readout)
        self.lstm = None
        if self.h_readout:
            self.memory_size = max(self._feed_lengths())
            self.lstm = LSTMCell(
                self.memory_size,
                self.lstm_channels,
                peephole=True,
                gate_bias=self.gate_bias)
            orthogonal_gate_init(self.lstm)
            self.h0 = nn.Parameter(torch.zeros(self.lstm_channels))
            self.feat_dim += self.lstm_channels

    def _feed_lengths(self):
        """Length of every stage's pooled, flattened block output."""
        widths = [getattr(self, n)[-1].out_channels for n in self.res_layers]
        if self.pool == 'adaptive':
            return [c * self.pool_grid[0] * self.pool_grid[1] for c in widths]
        size = list(self.input_size)
        if self.stem_type == 'imagenet':  # stride-2 conv, stride-2 max-pool
            size = [math.ceil(math.ceil(s / 2) / 2) for s in size]
        lengths = []
        for stride, c in zip(self.strides, widths):
            size = [math.ceil(s / stride) for s in size]
            lengths.append(c * math.ceil(size[0] / 2) * math.ceil(size[1] / 2))
        return lengths

    @property
    def image_size_fixed_in_graph(self):
        if self.lstm is None or self.pool != '2x2':
            return None
        return ("the memory's input length follows the image size "
                "(pool='2x2'); pool='adaptive' takes any size")

    def companion_modules(self, stage):
        # the one memory serves every stage
        if stage == self.num_stages and self.lstm is not None:
            return [self.lstm, self.h0]
        return []

    def init_state(self, x):
        # the pooled block outputs so far: the memory never writes back, so it
        # runs once they are all known (see ``_run_memory``)
        return None if self.lstm is None else []

    def forward_block(self, stage, index, block, x, state):
        x = block.forward_plain(x)
        if self.lstm is None:
            return x, state
        if self.pool == 'adaptive':
            feed = adaptive_avg_pool(x, self.pool_grid)
        else:
            feed = avg_pool(x, 2)
        feed = feed.flatten(1)
        if feed.shape[1] > self.memory_size:
            raise ValueError(
                f'CRMN: a stage-{stage + 1} block output of shape '
                f'{tuple(x.shape[1:])} flattens to {feed.shape[1]} values after '
                f'2x2 pooling, more than the LSTM input ({self.memory_size}) '
                f'sized for input_size={self.input_size}; build with a larger '
                "input_size or pool='adaptive'")
        return x, state + [feed]  # zero-padded to memory_size, implicitly

    def _run_memory(self, feeds):
        """The LSTM over every block's feed, from the learned h0 and a zero
        cell (:meth:`LSTMCell.run`: the memory never writes back, so every
        feed is known before its first step)."""
        h = self.h0.to(feeds[0].dtype).expand(feeds[0].shape[0], -1)
        return self.lstm.run(feeds, (h, h.new_zeros(h.shape)))[0]

    def stage_output(self, stage, x, state):
        x = super().stage_output(stage, x, state)
        if self.h_readout and stage == self.num_stages - 1:
            pooled = F.adaptive_avg_pool2d(x, 1)
            h = self._run_memory(state)
            return torch.cat([pooled, h[:, :, None, None]], dim=1)
        return x
