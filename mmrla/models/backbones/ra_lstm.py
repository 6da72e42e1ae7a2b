"""RA-LSTM: recurrent aggregation of a CNN's blocks with an LSTM.

Yu Qin, *Recurrent Layer Aggregation using LSTM* (IJCNN 2019,
<https://openreview.net/forum?id=6e9VOmiMY4>; the paper calls the network CNN-RA).
A CNN is grouped into stages of equal resolution and the stages into blocks of at
least two conv layers (at most two blocks read per stage, each read before its
stage's down-sampling; Section 4.1). Each selected block's output is mapped, by one
*mapping node*, to a vector of the last block's channel count C (Sections 3.1, 4.2),
and an LSTM reads the vectors from the lowest level to the highest (Section 3.2). The
classifier reads the LSTM. The aggregation never writes back: the CNN computes
exactly what it computes without it.

Where the paper leaves a detail open (the middle nodes' kernel size, the nodes'
bias, normalisation and activation, the initial LSTM state, pooling at other input
sizes), the rule chosen here is stated in :class:`RecurrentAggregation`; the
departures from the paper are listed in ``configs/ra_lstm/README.md``.

Two backbones live here: :class:`RAVGG` and :class:`RAResNet` (the plain VGG of
the paper, :class:`~.vgg_body.VGGBody`, and mmrla's :class:`ResNetBody` with the
aggregation); both share one :class:`RecurrentAggregation` through
:class:`RecurrentAggregationMixin`.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BaseModule

from mmrla.registry import register_model

from ..layers import LSTMCell, adaptive_avg_pool
from ..utils import check_positive_ints, invalid_arg, is_int, is_int_seq
from .resnet_body import ResNetBody
from .vgg_body import VGGBody


class RecurrentAggregation(BaseModule):
    """Mapping nodes, the LSTM and the readout of RA-LSTM.

    The N selected feature maps arrive from low to high level; ``C`` is the last
    one's channel count and ``r_i`` the ratio of map i's resolution to the last
    one's (known at construction from the network's strides). Each map becomes a
    C-vector by its level:

    - **last** (the last map, ``r = 1``): global average pooling.
    - **middle** (``r`` is 1 or 2, not the last map): a ``r x r`` conv with stride
      ``r`` to C channels (so it lands on the last map's resolution), then global
      average pooling.
    - **shallow** (``r >= 4``): a ``k x k`` conv with stride ``k`` to
      ``c = C / g^2`` channels, then average pooling to a ``g x g`` grid, flattened:
      ``g * g * c = C`` values. ``g`` is ``shallow_grid`` (default 2) and
      ``k = r / g``, so at the design size the pooling kernel equals the last map's
      spatial size, as in the paper (CIFAR, last map 8x8, a 32x32 level:
      2x2/2 conv to C/4 channels, 16x16, 8x8 average pooling, 2x2 x C/4).

    Our rules where the paper (Sections 3.1, 4.2) leaves a detail open: node convs
    have kernel = stride (non-overlapping, like the shallow node's k x k / k; the
    paper gives the middle node's kernel no size) and a bias, with no normalisation
    or activation; the pooling is adaptive, so any input size works (maps whose side
    is not a multiple of the conv's stride are zero-padded at the bottom and right
    first, so no row is dropped); the LSTM (:class:`LSTMCell`, one bias per gate,
    forget gate, no peepholes) starts from zero ``h`` and ``c``.

    Readouts (``readout``), as ``(B, out_channels, 1, 1)``:

    - ``'RA'``: ``u = ReLU(W h_N + b)`` with ``W`` of ``fc_channels x M``
      (Eq. 3, the "256d-fc" of Table 1; the paper writes no bias).
    - ``'RA-B'``: ``concat(h_N, GAP(last map))`` (``M + C``; Section 5.2, Fig. 7).
    - ``'RA-C'``: ``concat(h_1, ..., h_N)`` (``N * M``; Section 5.2, Fig. 8).

    Args:
        in_channels (Sequence[int]): channels of the N maps, low to high.
        ratios (Sequence[int]): resolution of each map over the last map's; the
            last is 1.
        lstm_channels (int): M, LSTM units. Default: 256.
        readout (str): ``'RA'``, ``'RA-B'`` or ``'RA-C'``. Default: ``'RA'``.
        fc_channels (int | None): width of u for ``'RA'``; None: M.
        shallow_grid (int): g, the side of the shallow nodes' pooled grid.
        owner (str | None): the name that argument errors carry (the backbone's).
    """

    readouts = ('RA', 'RA-B', 'RA-C')

    def __init__(self,
                 in_channels,
                 ratios,
                 lstm_channels=256,
                 readout='RA',
                 fc_channels=None,
                 shallow_grid=2,
                 owner=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        owner = owner or self
        check_aggregation_args(owner, lstm_channels, readout, fc_channels,
                               shallow_grid)
        if not (is_int_seq(in_channels) and len(in_channels) > 0
                and min(in_channels) > 0):
            invalid_arg(owner, 'in_channels', in_channels,
                        'a non-empty sequence of positive ints')
        if not (is_int_seq(ratios, len(in_channels)) and min(ratios) > 0
                and ratios[-1] == 1):
            invalid_arg(owner, 'ratios', ratios,
                        f'{len(in_channels)} positive ints (resolution over the '
                        'last map), the last 1')
        channels = in_channels[-1]
        grid_cells = shallow_grid * shallow_grid
        self.in_channels = tuple(in_channels)
        self.ratios = tuple(ratios)
        self.channels = channels
        self.lstm_channels = lstm_channels
        self.readout = readout
        self.shallow_grid = shallow_grid
        self.levels = []
        nodes = []
        for i, (cin, ratio) in enumerate(zip(in_channels, ratios)):
            if i == len(in_channels) - 1:
                self.levels.append('last')
                nodes.append(nn.Identity())
            elif ratio <= 2:
                self.levels.append('middle')
                nodes.append(nn.Conv2d(cin, channels, ratio, stride=ratio))
            elif ratio >= 4 and ratio % shallow_grid == 0 \
                    and channels % grid_cells == 0:
                self.levels.append('shallow')
                k = ratio // shallow_grid
                nodes.append(
                    nn.Conv2d(cin, channels // grid_cells, k, stride=k))
            else:
                invalid_arg(
                    owner, 'shallow_grid', shallow_grid,
                    f'a grid g with g | r and g^2 | C for every shallow level '
                    f'(here r={ratio}, C={channels}; resolution ratios '
                    f'{tuple(ratios)} of the selected blocks: 1 or 2 are middle '
                    'levels, 3 is none)')
        self.nodes = nn.ModuleList(nodes)
        self.lstm = LSTMCell(channels, lstm_channels)
        self.fc = None
        if readout == 'RA':
            fc_channels = fc_channels or lstm_channels
            self.fc = nn.Linear(lstm_channels, fc_channels)
            self.out_channels = fc_channels
        elif readout == 'RA-B':
            self.out_channels = lstm_channels + channels
        else:
            self.out_channels = len(in_channels) * lstm_channels

    @property
    def num_levels(self):
        return len(self.levels)

    def map(self, i, x):
        """The C-vector of map ``i`` (``(B, C)``)."""
        level, node = self.levels[i], self.nodes[i]
        if level == 'last':
            return x.mean((2, 3))
        stride = node.stride[0]
        # always (a zero pad is free): a traced graph keeps the sizes symbolic
        x = F.pad(x, (0, -x.shape[3] % stride, 0, -x.shape[2] % stride))
        x = node(x)
        if level == 'middle':
            return x.mean((2, 3))
        grid = (self.shallow_grid, self.shallow_grid)
        return adaptive_avg_pool(x, grid).flatten(1)

    def init_state(self, ref):
        """Zero ``(h, c)`` and no outputs yet; ``ref`` gives batch, dtype, device."""
        h = ref.new_zeros(ref.shape[0], self.lstm_channels)
        return dict(h=h, c=h, outputs=[], vector=None)

    def step(self, i, x, state):
        """Feeds map ``i`` to the LSTM; returns the new state."""
        vector = self.map(i, x)
        h, c = self.lstm(vector, (state['h'], state['c']))
        return dict(h=h, c=c, outputs=state['outputs'] + [h], vector=vector)

    def read(self, state):
        """The readout after the last map (``(B, out_channels, 1, 1)``)."""
        h = state['h']
        if self.readout == 'RA':
            out = torch.relu(self.fc(h))
        elif self.readout == 'RA-B':
            out = torch.cat([h, state['vector']], dim=1)  # last vector is GAP
        else:
            out = torch.cat(state['outputs'], dim=1)
        return out[:, :, None, None]

    def forward(self, feats):
        """The readout of the N maps ``feats``, low to high level."""
        if len(feats) != self.num_levels:
            raise ValueError(f'{type(self).__name__}: got {len(feats)} maps, '
                             f'built for {self.num_levels}')
        state = self.init_state(feats[0])
        for i, x in enumerate(feats):
            state = self.step(i, x, state)
        return self.read(state)


def check_aggregation_args(owner, lstm_channels, readout, fc_channels,
                           shallow_grid):
    """The checks of the aggregation's own arguments (before any network is built)."""
    check_positive_ints(owner, lstm_channels=lstm_channels,
                        shallow_grid=shallow_grid)
    if readout not in RecurrentAggregation.readouts:
        invalid_arg(owner, 'readout', readout,
                    f'one of {RecurrentAggregation.readouts}')
    if fc_channels is not None and (not is_int(fc_channels)
                                    or fc_channels < 1):
        invalid_arg(owner, 'fc_channels', fc_channels,
                    'None (the LSTM width) or a positive int')
    if fc_channels is not None and readout != 'RA':
        invalid_arg(owner, 'fc_channels', fc_channels,
                    f"None with readout={readout!r} (only 'RA' has the layer)")


class RecurrentAggregationMixin:
    """Adds :class:`RecurrentAggregation` to a body with the companion hooks
    (:class:`VGGBody`, :class:`ResNetBody`).

    The backbone returns the body's stage outputs (``out_indices``, which must hold
    the last stage), unchanged, followed by the readout ``(B, feat_dim, 1, 1)``:
    mmpretrain's ``GlobalAveragePooling`` neck and ``LinearClsHead``
    (``in_channels=feat_dim``) read the last element.

    ``selected``: the blocks read, as ``(stage, block)`` index pairs (0-based; a
    negative block counts from the stage's end), from low to high, at most two per
    stage, the last being the network's last block (the last level). None: the
    last block of every stage. The last level is taken from the last stage's
    output (after a pre-activation body's final norm).

    Args (of both RA backbones, after their body's):
        selected (Sequence[Sequence[int]] | None): ``(stage, block)`` pairs read.
        lstm_channels (int): LSTM units. Default: 256.
        readout (str): ``'RA'``, ``'RA-B'`` or ``'RA-C'``.
        fc_channels (int | None): width of the ``'RA'`` layer; None: the LSTM's.
        shallow_grid (int): side of the shallow nodes' grid. Default: 2.
    """

    def __init__(self,
                 *args,
                 selected=None,
                 lstm_channels=256,
                 readout='RA',
                 fc_channels=None,
                 shallow_grid=2,
                 **kwargs):
        check_aggregation_args(self, lstm_channels, readout, fc_channels,
                               shallow_grid)
        # read by build_companion(), which the body's __init__ calls
        self.ra_args = dict(selected=selected, lstm_channels=lstm_channels,
                            readout=readout, fc_channels=fc_channels,
                            shallow_grid=shallow_grid)
        super().__init__(*args, **kwargs)

    def build_companion(self):
        selected = self.ra_args['selected']
        last = self.num_stages - 1
        if last not in self.out_indices:
            self._fail('out_indices', self.out_indices,
                       f'to include the last stage {last} (the readout follows '
                       'its output)')
        self.selected = self._normalise_selected(selected)
        # the resolution of a stage over the last one's: the strides after it
        ratios = [math.prod(self.strides[s + 1:]) for s, _ in self.selected]
        self.aggregation = RecurrentAggregation(
            [self.stage_out_channels(s) for s, _ in self.selected],
            ratios,
            lstm_channels=self.ra_args['lstm_channels'],
            readout=self.ra_args['readout'],
            fc_channels=self.ra_args['fc_channels'],
            shallow_grid=self.ra_args['shallow_grid'],
            owner=type(self).__name__)
        # levels fed inside the loop; the last one from the last stage's output
        self._step_of = {b: i for i, b in enumerate(self.selected[:-1])}
        self.feat_dim = self.aggregation.out_channels

    def _normalise_selected(self, selected):
        blocks = self.stage_blocks
        if selected is None:
            return [(s, n - 1) for s, n in enumerate(blocks)]
        expected = ('(stage, block) index pairs, low to high, at most 2 per '
                    f'stage, ending with the last block ({len(blocks) - 1}, -1); '
                    f'blocks per stage: {tuple(blocks)}')
        if not (isinstance(selected, (list, tuple)) and selected and all(
                is_int_seq(p, 2) for p in selected)):
            self._fail('selected', selected, expected)
        pairs = []
        for s, b in selected:
            if not (0 <= s < len(blocks) and -blocks[s] <= b < blocks[s]):
                self._fail('selected', selected, expected)
            pairs.append((s, b % blocks[s]))
        per_stage = [sum(s == i for s, _ in pairs) for i in range(len(blocks))]
        if (any(a >= b for a, b in zip(pairs, pairs[1:]))
                or max(per_stage) > 2
                or pairs[-1] != (len(blocks) - 1, blocks[-1] - 1)):
            self._fail('selected', selected, expected)
        return pairs

    def companion_modules(self, stage):
        # a node freezes with the stage it reads; the LSTM and readout with the last
        agg = self.aggregation
        mods = [
            agg.nodes[i] for i, (s, _) in enumerate(self.selected)
            if s == stage - 1
        ]
        if stage == self.num_stages:
            mods += [agg.lstm] + ([agg.fc] if agg.fc is not None else [])
        return mods

    def init_state(self, x):
        return self.aggregation.init_state(x)

    def forward_block(self, stage, index, block, x, state):
        x = block.forward_plain(x)
        step = self._step_of.get((stage, index))
        if step is not None:
            state = self.aggregation.step(step, x, state)
        return x, state

    def stage_output(self, stage, x, state):
        x = super().stage_output(stage, x, state)
        if stage != self.num_stages - 1:
            return x
        state = self.aggregation.step(self.aggregation.num_levels - 1, x,
                                      state)
        return x, self.aggregation.read(state)

    def forward(self, x):
        # the body returns the last stage's entry as (x, readout); flatten it
        *outs, (last, readout) = super().forward(x)
        return (*outs, last, readout)


@register_model
class RAVGG(RecurrentAggregationMixin, VGGBody):
    """VGG with recurrent aggregation (RA-LSTM, the paper's VGG-1 / VGG-2 + RA).

    Arguments not listed are :class:`VGGBody`'s; the aggregation is
    :class:`RecurrentAggregation`, fed as :class:`RecurrentAggregationMixin` says.
    Every selectable block holds at least two convs (the paper's rule).

    The aggregation arguments are :class:`RecurrentAggregationMixin`'s.
    """

    def __init__(self,
                 stage_channels=(128, 256, 512),
                 stage_blocks=None,
                 convs_per_block=2,
                 **kwargs):
        if is_int(convs_per_block) and convs_per_block < 2:
            self._fail('convs_per_block', convs_per_block,
                       'an int >= 2 (an aggregated block holds at least two '
                       'convs)')
        super().__init__(stage_channels, stage_blocks, convs_per_block,
                         **kwargs)


@register_model
class RAResNet(RecurrentAggregationMixin, ResNetBody):
    """ResNet with recurrent aggregation (RA-LSTM).

    Arguments not listed are :class:`ResNetBody`'s. The paper's CIFAR ResNet
    (Section 4.3, Table 1) has 61 conv layers: 21, 20 and 20 with 64, 128 and 256
    channels. Our configs build it as He et al.'s CIFAR ResNet four times wider with
    ten basic blocks per stage (``stem_type='cifar', widen_factor=4,
    stage_blocks=(10, 10, 10)``: the 3x3 stem and 20 convs, then 20 and 20). Every
    residual block (two or three convs) is selectable.

    The aggregation arguments are :class:`RecurrentAggregationMixin`'s.
    """

    def stage_out_channels(self, stage):
        return getattr(self, self.res_layers[stage])[-1].out_channels
