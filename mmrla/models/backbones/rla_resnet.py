"""RLA-ResNet: ResNet with recurrent layer aggregation (Zhao et al., NeurIPS 2021).

The shared ResNet body (:class:`ResNetBody`) carries a small recurrent companion: a
k-channel feature map h that is concatenated into the input of every block and
updated after every block by the stage's :class:`RLAStageCell`.
"""
import torch
import torch.nn.functional as F

from mmcv.cnn import build_norm_layer

from mmrla.registry import register_model

from ..layers import RLA_CELLS
from ..utils import is_int
from .resnet_body import ResNetBody, SplitBasicBlock, SplitBottleneck

# The blocks RLA-ResNet builds (conv1 reads concat(x, h)): the body's split blocks.
RLABasicBlock = SplitBasicBlock
RLABottleneck = SplitBottleneck


@register_model
class RLAResNet(ResNetBody):
    """RLA-ResNet backbone (`RLA-Net <https://arxiv.org/abs/2110.11852>`_).

    After the stem, h = zeros(k, H', W') (the stem output's size). Every block
    reads ``concat(x, h)``; after block b of stage s,
    ``h <- conv3x3_s(tanh(BN_b(h + conv1x1_s(y))))``. In the first block of a
    strided stage, h is average-pooled after the block has used it (``ceil_mode``,
    so h always matches the main path, for any input size). In pre-activation
    blocks h joins the block input after its BN-ReLU, so it enters conv1
    un-normalised, as in post-activation blocks.

    By default ``y`` is the block's final output: in the official code the residual
    branch is modified in place by the addition and ReLU, so that is what it feeds the
    update, and official weights reproduce only that way. The paper's prose says the
    residual branch; ``update_source='branch'`` gives that variant.

    The paper's ablations (Table 6) are options of this one model, with the
    official ablation code's layouts: (b) ``shared=False`` (the official code also
    reads the branch: ``update_source='branch'``); (c) ``exchange=False``; (d)
    ``cell='lstm'`` / ``'gru'``; (e) ``update_order='post'``; (f-j) the wirings
    v2-v6: v2 and v4 ``update_order='add-last'``, v3 the default (its block
    output is what the default reads), v5 ``update_source='identity'``, v6 both.
    See :mod:`mmrla.models.layers.rla_cell`.

    Arguments not listed are those of :class:`ResNetBody` (CIFAR stem,
    pre-activation, ``stage_blocks``, ResNeXt ``groups``, ``attention``) and of
    mmpretrain's :class:`ResNet`, with their defaults.

    Args:
        depth (int): see :class:`ResNetBody` (ImageNet: 18, 34, 50, 101, 152;
            CIFAR: 20, 32, 44, 56, 110, 164, ...).
        rla_channels (int): k, channels of the hidden state. Default: 32.
        update_source (str): what the RLA update reads from each block:
            ``'output'`` (official code), ``'branch'`` (paper prose) or
            ``'identity'`` (the shortcut, ablation wirings v5/v6).
        cell (str): ``'rla'`` (default), ``'lstm'`` (ConvLSTM) or ``'gru'``
            (ConvGRU).
        update_order (str): for ``cell='rla'``: ``'add-first'`` (default),
            ``'add-last'`` or ``'post'`` (see :class:`RLAStageCell`).
        shared (bool): share the update's 1x1 and 3x3 across a stage's blocks
            (default) or give every block its own (``cell='rla'`` only).
        exchange (bool): if False, h never enters the blocks; it only joins the
            classifier (ablation (c)). Default: True.
        h_readout (bool): if True, the last stage's output is
            ``concat(x, relu(BN(h)))`` (C + k channels), the classification readout
            of RLA-Net; if False (detection), only stage outputs are returned and h
            goes nowhere. Default: True. Cells whose h is already normalised
            (``'post'``, ``'lstm'``, ``'gru'``) join ``h`` as it is.

    Example:
        >>> import torch
        >>> from mmrla.models import RLAResNet
        >>> model = RLAResNet(depth=50, out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 256, 56, 56)
        (1, 512, 28, 28)
        (1, 1024, 14, 14)
        (1, 2080, 7, 7)
    """

    update_sources = ('output', 'branch', 'identity')

    def __init__(self,
                 depth,
                 rla_channels=32,
                 update_source='output',
                 h_readout=True,
                 cell='rla',
                 update_order='add-first',
                 shared=True,
                 exchange=True,
                 **kwargs):
        if not is_int(rla_channels) or rla_channels <= 0:
            self._fail('rla_channels', rla_channels, 'a positive int')
        if update_source not in self.update_sources:
            self._fail('update_source', update_source,
                       f'one of {self.update_sources}')
        for arg, value in (('h_readout', h_readout), ('shared', shared),
                           ('exchange', exchange)):
            if not isinstance(value, bool):
                self._fail(arg, value, 'True or False')
        if cell not in RLA_CELLS:
            self._fail('cell', cell, f'one of {tuple(RLA_CELLS)}')
        cell_kwargs = dict(update_order=update_order, shared=shared)
        if cell != 'rla':
            if update_order != 'add-first' or not shared:
                self._fail('cell', cell,
                           "'rla' with update_order or shared=False (those "
                           'options belong to the RLA cell)')
            cell_kwargs = {}
        elif update_order not in RLA_CELLS['rla'].update_orders:
            self._fail('update_order', update_order,
                       f"one of {RLA_CELLS['rla'].update_orders}")
        self.rla_channels = rla_channels
        self.update_source = update_source
        self.h_readout = h_readout
        self.exchange = exchange
        self.cell_type = RLA_CELLS[cell]
        self.cell_kwargs = cell_kwargs
        super().__init__(depth, **kwargs)

    def build_companion(self):
        self._check_readout(self.h_readout)
        for i, layer_name in enumerate(self.res_layers):
            res_layer = getattr(self, layer_name)
            self.add_module(
                f'rla{i + 1}',
                self.cell_type(
                    res_layer[-1].out_channels,
                    self.rla_channels,
                    len(res_layer),
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    **self.cell_kwargs))
        if self.h_readout:
            if self.rla1.readout_norm:
                self.rla_norm_name, rla_norm = build_norm_layer(
                    self.norm_cfg, self.rla_channels, postfix='_rla')
                self.add_module(self.rla_norm_name, rla_norm)
            self.feat_dim += self.rla_channels

    @property
    def rla_norm(self):
        return getattr(self, self.rla_norm_name)

    def missing_checkpoint_hint(self, path):
        return ('Convert the official RLA-Net ImageNet weights with '
                '`python tools/model_converters/rlanet2mmrla.py <official '
                f'.pth.tar> {path}` (see configs/rla/README.md)')

    def extra_block_kwargs(self, stage):
        return dict(extra_in_channels=self.rla_channels if self.exchange else 0)

    def companion_modules(self, stage):
        # A frozen stage freezes its recurrent cell too.
        return [getattr(self, f'rla{stage}')]

    def init_state(self, x):
        # Created on x's device and dtype, so any device, dtype and autocast work.
        return self.rla1.init_state(x)

    def forward_block(self, stage, index, block, x, state):
        cell = getattr(self, f'rla{stage + 1}')
        h = cell.hidden(state) if self.exchange else None
        if self.update_source == 'output':
            x = y = block.forward_residual(x, h)
        else:
            branch, identity = block.forward_parts(x, h)
            # the branch-reading update needs the branch after the addition
            x = block.merge(branch, identity,
                            inplace=self.update_source != 'branch')
            y = branch if self.update_source == 'branch' else identity
        if block.stride != 1:
            state = cell.pool(state, block.stride)
        return x, cell(state, y, index)

    def stage_output(self, stage, x, state):
        if self.h_readout and stage == self.num_stages - 1:
            h = self.rla1.hidden(state)
            if self.rla1.readout_norm:
                h = F.relu(self.rla_norm(h))
            return torch.cat([x, h], dim=1)
        return x


