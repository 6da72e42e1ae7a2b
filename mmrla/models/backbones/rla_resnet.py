"""RLA-Net: recurrent layer aggregation (Zhao et al., NeurIPS 2021).

The shared ResNet body (:class:`ResNetBody`) carries a small recurrent companion: a
k-channel feature map h that is concatenated into the input of every block and
updated after every block by the stage's cell. Both halves live here:
:meth:`RLAResNet.forward_block` runs one block and its update (the official loop's
``x, y, h = block(x, h)`` and the cell), and :class:`RLAStageCell` is the update,
``h <- recurrent_conv(tanh(BN_b(h + update_conv(y))))``. The cells' options and the
ConvLSTM / ConvGRU cells are the paper's ablations (Table 6), with the official
ablation code's layouts; RLA-MobileNetV2 uses the same cell.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from mmrla.registry import register_model

from ..layers import avg_pool
from ..utils import check_flags, check_positive_ints, invalid_arg
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
    See :class:`RLAStageCell`.

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
        check_positive_ints(self, rla_channels=rla_channels)
        if update_source not in self.update_sources:
            self._fail('update_source', update_source,
                       f'one of {self.update_sources}')
        check_flags(self, h_readout=h_readout, shared=shared, exchange=exchange)
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
        """One step of the official loop: ``x, y, h = block(x, h)`` (conv1
        reads ``concat(x, h)``; h is pooled after a strided block used it),
        then ``h = cell(h, y)``, the update :class:`RLAStageCell` writes out."""
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
        x = super().stage_output(stage, x, state)
        if self.h_readout and stage == self.num_stages - 1:
            h = self.rla1.hidden(state)
            if self.rla1.readout_norm:
                h = F.relu(self.rla_norm(h))
            return torch.cat([x, h], dim=1)
        return x


# ---- the cells: the recurrent update of h along depth ------------------------------
class _StageCell(BaseModule):
    """What every RLA cell shares: the state protocol and the update 1x1 + norms."""

    #: whether the classifier reads ``relu(BN(h))`` (else ``h`` as it is)
    readout_norm = True

    def __init__(self,
                 in_channels,
                 rla_channels,
                 num_blocks,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 init_cfg=None):
        super().__init__(init_cfg)
        self.rla_channels = rla_channels
        self.update_conv = build_conv_layer(
            conv_cfg, in_channels, rla_channels, kernel_size=1, bias=False)
        self.norms = nn.ModuleList(
            build_norm_layer(norm_cfg, rla_channels)[1]
            for _ in range(num_blocks))
        self.build_recurrence(rla_channels, conv_cfg)

    def build_recurrence(self, rla_channels, conv_cfg):
        """The gated cells' own layers."""

    def update_conv_of(self, block_idx):
        """The 1x1 conv that reads block ``block_idx``'s feature."""
        return self.update_conv

    def gated_input(self, y, block_idx):
        """``tanh(norms[b](update_conv(y)))``: how gated cells read a block."""
        return torch.tanh(self.norms[block_idx](self.update_conv_of(block_idx)(y)))

    def init_state(self, x):
        """Zeros at the resolution of ``x``, on its device and dtype, in its
        memory format (channels-last models keep every tensor channels-last)."""
        h = x.new_zeros(x.shape[0], self.rla_channels, *x.shape[2:])
        if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(
                memory_format=torch.channels_last):
            h = h.contiguous(memory_format=torch.channels_last)
        return h

    @staticmethod
    def hidden(state):
        """The part of the state the blocks and the classifier read."""
        return state

    @staticmethod
    def pool(state, stride):
        # ceil_mode pools odd sizes to ceil(H/2), the main path's size
        return avg_pool(state, stride)


class RLAStageCell(_StageCell):
    """The recurrent parts of one stage of an RLA network.

    After block ``b`` of the stage produced ``y``, the hidden state is updated as in
    the official RLA-Net code (``update_order='add-first'``)::

        h <- recurrent_conv(tanh(norms[b](h + update_conv(y))))

    ``update_conv`` (1x1, C -> k) and ``recurrent_conv`` (3x3, k -> k) are shared by
    all blocks of the stage; each block has its own norm. No conv has a bias.

    Args:
        in_channels (int): C, the channels of the stage's block outputs.
        rla_channels (int): k, the channels of the hidden state.
        num_blocks (int): blocks in the stage (one norm each).
        recurrent_conv (nn.Module | None): an existing recurrent conv to share
            with other cells (RLA-MobileNetV2 shares one across the network);
            None builds this stage's own dense 3x3.
        update_order (str): ``'add-first'`` (above); ``'add-last'``, the
            official ablation wirings v2/v4/v6:
            ``h <- recurrent_conv(tanh(norms[b](h))) + update_conv(y)``;
            ``'post'``, the post-activated hidden unit (ablation (e)):
            ``h <- tanh(norms[b](recurrent_conv(h + update_conv(y))))``, whose
            classifier reads h without a further norm.
        shared (bool): if False, every block has its own 1x1 and 3x3 (ablation
            (b)). Default: True.
        conv_cfg, norm_cfg, init_cfg: of the two convs, of the per-block norms
            (default BN), and mmengine's.
    """

    update_orders = ('add-first', 'add-last', 'post')

    def __init__(self,
                 in_channels,
                 rla_channels,
                 num_blocks,
                 recurrent_conv=None,
                 update_order='add-first',
                 shared=True,
                 **kwargs):
        super().__init__(in_channels, rla_channels, num_blocks, **kwargs)
        if update_order not in self.update_orders:
            invalid_arg(self, 'update_order', update_order,
                        f'one of {self.update_orders}')
        check_flags(self, shared=shared)
        self.update_order = update_order
        self.readout_norm = update_order != 'post'
        self.shared = shared

        conv_cfg = kwargs.get('conv_cfg')

        def recurrent():
            return build_conv_layer(
                conv_cfg,
                rla_channels,
                rla_channels,
                kernel_size=3,
                padding=1,
                bias=False)

        if recurrent_conv is None:
            recurrent_conv = recurrent()
        self.recurrent_conv = recurrent_conv
        if not shared:
            # block b uses update_convs[b] and recurrent_convs[b]
            del self.update_conv, self.recurrent_conv
            self.update_convs = nn.ModuleList(
                build_conv_layer(conv_cfg, in_channels, rla_channels, 1,
                                 bias=False) for _ in range(num_blocks))
            self.recurrent_convs = nn.ModuleList(
                recurrent() for _ in range(num_blocks))

    def update_conv_of(self, block_idx):
        return self.update_conv if self.shared else self.update_convs[block_idx]

    def forward(self, h, y, block_idx):
        """The state after block ``block_idx`` produced ``y``."""
        recurrent = (self.recurrent_conv
                     if self.shared else self.recurrent_convs[block_idx])
        u = self.update_conv_of(block_idx)(y)
        norm = self.norms[block_idx]
        if self.update_order == 'add-first':
            return recurrent(torch.tanh(norm(h + u)))
        if self.update_order == 'add-last':
            return recurrent(torch.tanh(norm(h))) + u
        return torch.tanh(norm(recurrent(h + u)))


class ConvLSTMStageCell(_StageCell):
    """The ConvLSTM cell of RLA-Net's ablation (d).

    The block feature enters as ``u = tanh(norms[b](update_conv(y)))``; one 3x3
    conv (no bias) of ``concat(u, h)`` gives the gates ``i, f, o, g`` (in this
    order); ``c <- f * c + i * g`` and ``h <- o * tanh(c)``. The state is
    ``(h, c)``; the blocks and the classifier read ``h`` as it is.
    """

    readout_norm = False

    def build_recurrence(self, rla_channels, conv_cfg):
        self.conv = build_conv_layer(
            conv_cfg,
            2 * rla_channels,
            4 * rla_channels,
            kernel_size=3,
            padding=1,
            bias=False)

    def init_state(self, x):
        h = super().init_state(x)
        return h, torch.zeros_like(h)

    @staticmethod
    def hidden(state):
        return state[0]

    @staticmethod
    def pool(state, stride):
        return tuple(_StageCell.pool(s, stride) for s in state)

    def forward(self, state, y, block_idx):
        h, c = state
        u = self.gated_input(y, block_idx)
        i, f, o, g = self.conv(torch.cat([u, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class ConvGRUStageCell(_StageCell):
    """The ConvGRU cell of RLA-Net's ablation (d).

    ``u = tanh(norms[b](update_conv(y)))``; ``gate_conv`` (3x3, bias) of
    ``concat(u, h)`` gives ``r, z`` through group norms and sigmoids;
    ``h~ = tanh(GN(output_conv(concat(u, r * h))))`` and
    ``h <- z * h + (1 - z) * h~``. The group norms are ``GroupNorm(1, k)``
    (eps 1e-6) as in the official code; the classifier reads ``h`` as it is.
    """

    readout_norm = False

    def build_recurrence(self, rla_channels, conv_cfg):
        k = rla_channels
        self.gate_conv = build_conv_layer(conv_cfg, 2 * k, 2 * k, 3, padding=1)
        self.output_conv = build_conv_layer(conv_cfg, 2 * k, k, 3, padding=1)
        self.reset_gate_norm = nn.GroupNorm(1, k, eps=1e-6)
        self.update_gate_norm = nn.GroupNorm(1, k, eps=1e-6)
        self.output_norm = nn.GroupNorm(1, k, eps=1e-6)

    def forward(self, h, y, block_idx):
        u = self.gated_input(y, block_idx)
        r, z = self.gate_conv(torch.cat([u, h], dim=1)).chunk(2, dim=1)
        r = torch.sigmoid(self.reset_gate_norm(r))
        z = torch.sigmoid(self.update_gate_norm(z))
        candidate = torch.tanh(
            self.output_norm(self.output_conv(torch.cat([u, r * h], dim=1))))
        return z * h + (1 - z) * candidate


RLA_CELLS = {
    'rla': RLAStageCell,
    'lstm': ConvLSTMStageCell,
    'gru': ConvGRUStageCell
}
