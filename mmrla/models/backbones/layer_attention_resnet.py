"""Recurrent Layer Attention network (ICLR 2020 submission, "RLA attention").

An LSTM shared by all blocks walks along the depth of the ResNet body: it reads a
summary (context) of every block's residual branch and emits a layer-attention scale
that multiplies that branch before the addition.
"""
from collections import Counter

import torch
import torch.nn as nn

from mmengine.model import BaseModule

from mmrla.registry import register_model

from ..layers import LayerContext, LSTMCell
from ..utils import check_flags, check_positive_ints, is_int
from .resnet_body import ResNetBody


class LayerAttentionHead(BaseModule):
    """alpha_l = sigmoid(W2_l relu(W1_l h_l)); W1: M -> M/r, W2: M/r -> 1 (or C_l for
    RLA-vector), no biases (the paper's parameter count)."""

    def __init__(self, hidden_size, reduction, out_size=1, init_cfg=None):
        super().__init__(init_cfg)
        mid = max(1, hidden_size // reduction)
        self.fc1 = nn.Linear(hidden_size, mid, bias=False)
        self.fc2 = nn.Linear(mid, out_size, bias=False)

    def forward(self, h):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(h))))


@register_model
class LayerAttentionResNet(ResNetBody):
    """ResNet with recurrent layer attention.

    For residual block l with residual-branch output A_l (C_l channels):

    - context ``S_l = F_context(A_l)``: global average or max pooling, optionally
      followed by a two-layer MLP, then resampled to one length N: channel
      counts above N are averaged over contiguous groups (``adaptive_avg_pool1d``),
      below N repeated (nearest neighbour);
    - ``h_l, c_l = LSTM(S_l, (h_{l-1}, c_{l-1}))``, M units, zero initial state,
      one LSTM shared by all blocks;
    - ``alpha_l = sigmoid(W2_l relu(W1_l h_l))`` per block, a scalar (or a C_l
      vector with ``vector=True``, RLA-vector); the block computes
      ``relu(alpha_l * A_l + shortcut)``.

    The parameters added to the body are ``4 (M^2 + N M + M)`` (LSTM) plus
    ``sum_l (M^2 / r + M / r * out_l)`` (heads; out_l = 1, or C_l for RLA-vector),
    the paper's formula, plus the context MLPs if any.

    IA+RLA is ``attention=dict(type='SE', ratio=16)``: an SE block on every residual
    branch, then alpha_l. After each forward, :attr:`last_attention` holds the
    per-block alphas (detached, ``(B, 1)`` or ``(B, C_l)`` each); forward hooks on
    ``attention_heads[l]`` see them too.

    Args:
        depth (int): see :class:`ResNetBody` (ImageNet or CIFAR stem).
        lstm_channels (int): M, LSTM units. Paper: 512 on ImageNet; 4 on CIFAR.
        reduction (int): r of the heads. Paper: 8 (ResNet-18/50), 16 (ResNet-101).
        context (str): ``'gap'`` (default), ``'gmp'``, ``'gap_mlp'``,
            ``'gmp_mlp'``.
        context_channels (int | None): N. None: the block width shared by the most
            blocks (fewest resamplings; 1024 for ResNet-50), the widest on a tie.
        context_mlp_ratio (int): hidden-layer reduction of the context MLP.
        vector (bool): RLA-vector (a channel vector per block). Default: False.
    """

    context_modes = LayerContext.modes

    def __init__(self,
                 depth,
                 lstm_channels=512,
                 reduction=8,
                 context='gap',
                 context_channels=None,
                 context_mlp_ratio=16,
                 vector=False,
                 **kwargs):
        check_positive_ints(self, lstm_channels=lstm_channels,
                            reduction=reduction,
                            context_mlp_ratio=context_mlp_ratio)
        if reduction > lstm_channels:
            self._fail('reduction', reduction,
                       f'at most lstm_channels={lstm_channels}')
        if context not in self.context_modes:
            self._fail('context', context, f'one of {self.context_modes}')
        if context_channels is not None and (not is_int(context_channels)
                                             or context_channels < 1):
            self._fail('context_channels', context_channels,
                       'None or a positive int')
        check_flags(self, vector=vector)
        # read by build_companion(), which the body's __init__ calls
        self.lstm_channels, self.reduction = lstm_channels, reduction
        self.context, self.context_channels = context, context_channels
        self.context_mlp_ratio, self.vector = context_mlp_ratio, vector
        super().__init__(depth, **kwargs)

    def build_companion(self):
        widths = [
            block.out_channels for name in self.res_layers
            for block in getattr(self, name)
        ]
        if self.context_channels is None:
            counts = Counter(widths)
            self.context_channels = max(counts, key=lambda c: (counts[c], c))
        self.contexts = nn.ModuleList(
            LayerContext(c, self.context_channels, self.context,
                         self.context_mlp_ratio) for c in widths)
        self.lstm = LSTMCell(self.context_channels, self.lstm_channels)
        self.attention_heads = nn.ModuleList(
            LayerAttentionHead(self.lstm_channels, self.reduction,
                               c if self.vector else 1) for c in widths)
        # global index of the first block of every stage
        self._first_block = [0]
        for name in self.res_layers:
            self._first_block.append(self._first_block[-1] +
                                     len(getattr(self, name)))
        self.last_attention = []

    def companion_modules(self, stage):
        blocks = range(self._first_block[stage - 1], self._first_block[stage])
        mods = [self.contexts[b] for b in blocks]
        mods += [self.attention_heads[b] for b in blocks]
        if stage == self.num_stages:  # the shared LSTM serves every stage
            mods.append(self.lstm)
        return mods

    def init_state(self, x):
        self.last_attention = []
        zeros = x.new_zeros(x.shape[0], self.lstm_channels)
        return self.lstm.begin(zeros, zeros)

    def forward_block(self, stage, index, block, x, state):
        layer = self._first_block[stage] + index
        branch, identity = block.forward_parts(x)
        state = self.lstm(self.contexts[layer](branch), state)
        alpha = self.attention_heads[layer](state[0])
        self.last_attention.append(alpha.detach())
        x = block.merge(branch, identity, scale=alpha[:, :, None, None])
        return x, state
