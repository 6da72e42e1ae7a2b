"""Layer-RNN networks (Xie, Noble & Zisserman, *Layer Recurrent Neural Networks*,
ICLR 2017 submission / CVPR 2017): the CIFAR-10 networks of the paper's Table 1
(Baseline-CNN, A-Forward, A-Concat, A-Sum, B-F) and a ResNet whose stages end with
L-RNNs inserted into the pre-trained network as in its Section 4 (for detection).

The CIFAR-10 catalogue (:attr:`LRNNNet.arch_zoo`) follows Table 1: a 3x3 conv stem
(64 filters), CNN modules (two 3x3 conv-BN-ReLU, :class:`CNNModule`), L-RNN modules
(:class:`~mmrla.models.layers.LRNNModule`), 2x2 max-pooling between resolutions, then
global pooling and dropout 0.5. Built from these modules the networks reproduce the
parameter counts of Table 2 (exact counts with the 10-way classifier in
``configs/lrnn/README.md``). Where Table 1 and Table 2 disagree, the count decides
and the README says so: C (one fusion), D (one width) and F (one extra L-RNN, the
ICLR abstract's 15 layers kept); A-Sum's 1x1 convs lift the module input
(:class:`~mmrla.models.layers.FeatureFusion`).
"""
from collections.abc import Sequence

import torch.nn as nn
import torch.nn.functional as F

from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from mmrla.registry import register_model

from ..layers.spatial_rnn import (
    CELLS,
    FUSIONS,
    RECURRENT_INITS,
    FeatureFusion,
    LRNNModule,
    SpatialRecurrence,
)
from ..utils import check_common_args, check_positive_ints, invalid_arg, is_int
from .resnet_body import ResNetBody, SplitBottleneck

LAYER_KINDS = ('cnn', 'lrnn', 'pool')
# why a traced graph of an L-RNN holds one image size (image_size_fixed_in_graph)
SCAN_UNROLLED = ('its spatial RNNs take one step per row and column, and a traced '
                 'graph holds the steps of the traced size (ONNX export: no loop)')


class CNNModule(BaseModule):
    """conv3x3-BN-ReLU-conv3x3-BN-ReLU, joined with its input by
    :class:`FeatureFusion` (the paper's Figure 2a)."""

    def __init__(self, in_channels, out_channels, fusion='forward',
                 conv_cfg=None, norm_cfg=dict(type='BN'), init_cfg=None):
        super().__init__(init_cfg)
        self.fusion = FeatureFusion(in_channels, out_channels, fusion,
                                    conv_cfg)
        layers = []
        for cin in (self.fusion.branch_in_channels, out_channels):
            layers += [
                build_conv_layer(conv_cfg, cin, out_channels, 3, padding=1,
                                 bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
                nn.ReLU(inplace=True)
            ]
        self.convs = nn.Sequential(*layers)
        self.out_channels = self.fusion.out_channels

    def forward(self, x):
        return self.fusion(x, self.convs)


def _cnn(c, fusion):
    return ('cnn', c, fusion)


def _lrnn(d, fusion):
    return ('lrnn', d, fusion)


POOL = ('pool', )
C, F_, S = 'concat', 'forward', 'sum'


@register_model
class LRNNNet(BaseModule):
    """The Layer-RNN paper's CIFAR-10 networks (its Table 1), by name or as a
    layer list.

    After a 3x3 conv stem (``stem_channels``, BN, ReLU), the layers of ``arch``
    run in order; then global max or average pooling (the paper's 8x8 pooling of an
    8x8 map, adaptive here, so any input size works) and dropout. The output is a
    ``(N, C, 1, 1)`` map (``feat_dim`` = C) for mmpretrain's ``GlobalAveragePooling``
    neck and ``LinearClsHead``, or, with ``global_pool=None``, the last feature map.

    ``arch`` is a name from :attr:`arch_zoo` (the paper's networks; conv layers
    including the stem):

    - ``'baseline-cnn'`` (7): CNN modules only, concatenation at every skip;
    - ``'a-forward'``, ``'a-concat'``, ``'a-sum'`` (5): two CNN modules and one
      L-RNN module (256 units), with the named fusion;
    - ``'b'`` (9), ``'c'`` (13), ``'d'`` (19): A-Concat deepened by CNN modules,
      alternating forward and concatenation;
    - ``'e'`` (7), ``'f'`` (15): L-RNN modules (128 units, forward) interleaved
      with CNN modules (concatenation),

    or a list of layers:

    - ``['cnn', C, fusion]``: a CNN module (two 3x3 conv-BN-ReLU, C filters);
    - ``['lrnn', D, fusion]``: an :class:`LRNNModule` with D units per direction;
    - ``['pool']``: 2x2 max-pooling (``ceil_mode``: odd sizes and 1x1 maps work),

    with fusion ``'forward'``, ``'sum'`` or ``'concat'``.

    Args:
        arch (str | list): see above. Default: ``'f'``.
        cell (str): the L-RNNs' cell, ``'rnn'`` (vanilla, ReLU) or ``'gru'``.
        layer_norm (bool | None): Layer Normalization in vanilla cells; None: True
            for ``'rnn'`` (the paper), False for ``'gru'``.
        global_pool (str | None): ``'max'`` (the paper's better choice),
            ``'avg'`` or None (return the feature map, no dropout).
        dropout (float): dropout before the classifier, in [0, 1). Default: 0.5.
        stem_channels (int): filters of the stem conv. Default: 64.
        in_channels (int): image channels. Default: 3.
        recurrent_init (str): V's initialisation (see :class:`SpatialRNN`).
    """

    arch_zoo = {
        'baseline-cnn': [_cnn(64, C), POOL, _cnn(128, C), POOL, _cnn(256, C)],
        'a-forward': [_cnn(64, F_), POOL, _cnn(128, F_), POOL, _lrnn(256, F_)],
        'a-concat': [_cnn(64, C), POOL, _cnn(128, C), POOL, _lrnn(256, C)],
        'a-sum': [_cnn(64, S), POOL, _cnn(128, S), POOL, _lrnn(256, S)],
        'b': [_cnn(64, F_), _cnn(64, C), POOL,
              _cnn(128, F_), _cnn(128, C), POOL, _lrnn(256, C)],
        # Table 1 concatenates after the third 128-filter module too (2.69M
        # parameters with GRUs); forward reproduces Table 2's 2.5M
        'c': [_cnn(64, F_), _cnn(64, F_), _cnn(64, C), POOL,
              _cnn(128, F_), _cnn(128, F_), _cnn(128, F_), POOL,
              _lrnn(256, C)],
        # Table 1 lists the second triple at 32x32 with 128 filters (3.72M with
        # GRUs); 64, the width of every other module there, reproduces the 3M
        'd': [_cnn(64, F_), _cnn(64, F_), _cnn(64, C)] * 2 + [POOL] +
             [_cnn(128, F_), _cnn(128, F_), _cnn(128, C), POOL,
              _lrnn(256, C)],
        'e': [_cnn(64, C), POOL, _lrnn(128, F_), _cnn(128, C), POOL,
              _lrnn(128, F_), _cnn(128, C)],
        # Table 1's layout (15 conv layers, 1.39M parameters) and one more L-RNN
        # before the global pooling, as A-D end: 1.54M against Table 2's 1.55M
        'f': [_cnn(64, C)] * 3 + [POOL] + [_lrnn(128, F_), _cnn(64, C)] * 2 +
             [POOL] + [_lrnn(128, F_), _cnn(64, C)] * 2 + [_lrnn(128, F_)],
    }
    global_pools = ('max', 'avg', None)

    def __init__(self,
                 arch='f',
                 cell='rnn',
                 layer_norm=None,
                 global_pool='max',
                 dropout=0.5,
                 stem_channels=64,
                 in_channels=3,
                 recurrent_init='uniform',
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]):
        super().__init__(init_cfg)
        layers = self._parse_arch(arch)
        if cell not in CELLS:
            self._fail('cell', cell, f'one of {CELLS}')
        if layer_norm is None:
            layer_norm = cell == 'rnn'
        if not isinstance(layer_norm, bool) or (layer_norm and cell != 'rnn'):
            self._fail('layer_norm', layer_norm,
                       "None, True or False (True only with cell='rnn')")
        if global_pool not in self.global_pools:
            self._fail('global_pool', global_pool,
                       f'one of {self.global_pools}')
        if (not isinstance(dropout, (int, float)) or isinstance(dropout, bool)
                or not 0 <= dropout < 1):
            self._fail('dropout', dropout, 'a number in [0, 1)')
        check_positive_ints(self, stem_channels=stem_channels,
                            in_channels=in_channels)
        if recurrent_init not in RECURRENT_INITS or (
                recurrent_init == 'identity' and cell != 'rnn'):
            self._fail('recurrent_init', recurrent_init,
                       f"one of {RECURRENT_INITS} ('identity' only with "
                       "cell='rnn')")
        check_common_args(self, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                          init_cfg=init_cfg)
        self.arch = layers
        self.cell = cell
        self.global_pool = global_pool
        self.stem = nn.Sequential(
            build_conv_layer(conv_cfg, in_channels, stem_channels, 3,
                             padding=1, bias=False),
            build_norm_layer(norm_cfg, stem_channels)[1],
            nn.ReLU(inplace=True))
        channels = stem_channels
        modules = []
        for kind, *spec in layers:
            if kind == 'pool':
                modules.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                continue
            width, fusion = spec
            if kind == 'cnn':
                module = CNNModule(channels, width, fusion, conv_cfg,
                                   norm_cfg)
            else:
                module = LRNNModule(
                    channels, width, cell=cell, layer_norm=layer_norm,
                    fusion=fusion, recurrent_init=recurrent_init,
                    conv_cfg=conv_cfg)
            modules.append(module)
            channels = module.out_channels
        self.layers = nn.Sequential(*modules)
        self.feat_dim = channels
        self.dropout = nn.Dropout(dropout) if (global_pool and dropout) \
            else nn.Identity()

    def _fail(self, arg, value, allowed):
        invalid_arg(self, arg, value, allowed)

    @property
    def image_size_fixed_in_graph(self):
        return SCAN_UNROLLED if any(kind == 'lrnn'
                                    for kind, *_ in self.arch) else None

    def _parse_arch(self, arch):
        names = ', '.join(repr(name) for name in self.arch_zoo)
        if isinstance(arch, str):  # the paper's spelling works too: 'A-Concat'
            if arch.lower() not in self.arch_zoo:
                self._fail('arch', arch, f'one of {names} or a layer list')
            return [list(layer) for layer in self.arch_zoo[arch.lower()]]
        expected = (f"one of {names}, or a non-empty list of ['cnn', C, "
                    f"fusion], ['lrnn', D, fusion] and ['pool'] with C, D "
                    f'positive ints and fusion one of {FUSIONS}')
        if not isinstance(arch, Sequence) or not arch:
            self._fail('arch', arch, expected)
        layers = []
        for layer in arch:
            ok = (isinstance(layer, Sequence) and not isinstance(layer, str)
                  and len(layer) > 0 and layer[0] in LAYER_KINDS)
            if ok and layer[0] == 'pool':
                ok = len(layer) == 1
            elif ok:
                ok = (len(layer) == 3 and is_int(layer[1]) and layer[1] > 0
                      and layer[2] in FUSIONS)
            if not ok:
                self._fail('arch', arch, expected)
            layers.append(list(layer))
        return layers

    def forward(self, x):
        x = self.layers(self.stem(x))
        if self.global_pool is None:
            return (x, )
        pool = F.adaptive_max_pool2d if self.global_pool == 'max' \
            else F.adaptive_avg_pool2d
        return (self.dropout(pool(x, 1)), )


@register_model
class LRNNResNet(ResNetBody):
    """A ResNet whose chosen stages end with an L-RNN inserted as in the paper's
    Section 4: the pre-trained layers serve as U and b, V starts at zero, so at
    initialisation the network computes exactly the plain ResNet's features (and
    loads its checkpoints unchanged: every ResNet state-dict name is kept; the
    recurrences are ``lrnn{s}.*``, s the 1-based stage).

    In the last block of each stage with ``lrnn_stages[s]``, a
    :class:`SpatialRecurrence` (horizontal then vertical, both bidirectional, the two
    directions of a pass averaged) replaces a ReLU:

    - ``lrnn_position='output'`` (default: the stage *ends* with the L-RNN): the
      block's final ReLU, ``h_j = ReLU(branch_j + shortcut_j + V h_{j-1})``:
      C = 1024 and 2048 channels in ResNet-50, ``4 C^2`` parameters per stage
      (21.0M for stages 3 and 4);
    - ``'mid'``: the ReLU after the block's 3x3 conv (conv2 of a Bottleneck, conv1
      of a BasicBlock): 256 and 512 channels in ResNet-50 (1.3M parameters).

    Post-activation blocks only (the identity at V = 0 needs a ReLU to replace).

    Args:
        depth (int): see :class:`ResNetBody`.
        lrnn_stages (Sequence[bool]): one flag per stage. Default:
            ``(False, False, True, True)``.
        lrnn_position (str): ``'output'`` or ``'mid'``.
    """

    positions = ('output', 'mid')

    def __init__(self,
                 depth,
                 lrnn_stages=(False, False, True, True),
                 lrnn_position='output',
                 **kwargs):
        if (not isinstance(lrnn_stages, Sequence)
                or isinstance(lrnn_stages, str)
                or not all(isinstance(f, bool) for f in lrnn_stages)):
            self._fail('lrnn_stages', lrnn_stages,
                       'a sequence of bools, one per stage')
        if lrnn_position not in self.positions:
            self._fail('lrnn_position', lrnn_position,
                       f'one of {self.positions}')
        if kwargs.get('preact') and any(lrnn_stages):
            self._fail('preact', kwargs['preact'],
                       'False with L-RNNs (pre-activation blocks end without '
                       'the ReLU an inserted L-RNN replaces)')
        self.lrnn_stages = tuple(lrnn_stages)
        self.lrnn_position = lrnn_position
        super().__init__(depth, **kwargs)

    def build_companion(self):
        if len(self.lrnn_stages) != self.num_stages:
            self._fail('lrnn_stages', self.lrnn_stages,
                       f'{self.num_stages} bools (one per stage)')
        for i, layer_name in enumerate(self.res_layers):
            if self.lrnn_stages[i]:
                block = getattr(self, layer_name)[-1]
                self.add_module(f'lrnn{i + 1}',
                                SpatialRecurrence(self._lrnn_channels(block)))

    @property
    def image_size_fixed_in_graph(self):
        return SCAN_UNROLLED if any(self.lrnn_stages) else None

    def _lrnn_channels(self, block):
        if self.lrnn_position == 'output':
            return block.out_channels
        conv = block.conv2 if isinstance(block, SplitBottleneck) \
            else block.conv1
        return conv.out_channels

    def companion_modules(self, stage):
        return [getattr(self, f'lrnn{stage}')] if self.lrnn_stages[stage - 1] \
            else []

    def forward_block(self, stage, index, block, x, state):
        # the L-RNN sits in the last block of its stage
        if not self.lrnn_stages[stage] or index != self.stage_blocks[stage] - 1:
            return block.forward_plain(x), state
        lrnn = getattr(self, f'lrnn{stage + 1}')
        if self.lrnn_position == 'output':
            branch, identity = block.forward_parts(x)
            return lrnn(block.drop_path(branch) + identity), state
        return block.merge(*block.forward_parts(x, mid_act=lrnn),
                           inplace=True), state
