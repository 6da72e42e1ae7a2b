"""RLA cells: the recurrent update of RLA-Net's hidden state along depth.

One cell per stage. Every cell reads the block's feature ``y`` (C channels) through a
1x1 conv shared by the stage (``update_conv``), has one norm per block (``norms``)
and keeps a state whose ``hidden`` part (k channels) is what the blocks read. The
default :class:`RLAStageCell` is the official RLA-Net update; its options and the
ConvLSTM / ConvGRU cells are the paper's ablations (Table 6), with the official
ablation code's layouts.
"""
import torch
import torch.nn as nn

from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from ..utils import invalid_arg
from .pooling import avg_pool


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
        conv_cfg (dict | None): config of the two convs.
        norm_cfg (dict): config of the per-block norms.
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
    """

    update_orders = ('add-first', 'add-last', 'post')

    def __init__(self,
                 in_channels,
                 rla_channels,
                 num_blocks,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 recurrent_conv=None,
                 update_order='add-first',
                 shared=True,
                 init_cfg=None):
        super().__init__(in_channels, rla_channels, num_blocks, conv_cfg,
                         norm_cfg, init_cfg)
        if update_order not in self.update_orders:
            invalid_arg(self, 'update_order', update_order,
                        f'one of {self.update_orders}')
        if not isinstance(shared, bool):
            invalid_arg(self, 'shared', shared, 'True or False')
        self.update_order = update_order
        self.readout_norm = update_order != 'post'
        self.shared = shared

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
