"""Layer-RNN (Xie, Noble & Zisserman, *Layer Recurrent Neural Networks*, CVPR 2017).

A 1D spatial RNN treats every row (or every column) of a feature map as a sequence::

    x_j = f(U * x_j + V x_{j-1} + b),   x_0 = 0

with ``U * x`` a convolution (computed once, for the whole map, before the scan), V a
D x D recurrence and f the non-linearity. One scan step handles the j-th column (or
row) of every row (column) of every image at once: the only Python loop runs along the
scanned axis, over tensors of shape ``(2, N * H, D)`` (both directions together).

- :class:`SpatialRNN`: a bidirectional 1D spatial RNN along one axis; cells: vanilla
  RNN (optionally with Layer Normalization, Ba et al. 2016) or GRU.
- :class:`LRNNModule`: the paper's L-RNN module, a bidirectional horizontal pass (the
  two directions summed) followed by a bidirectional vertical pass, fused with the
  module's input by ``'forward'``, ``'sum'`` (a 1x1 conv first lifts the input to the
  module's width when they differ) or ``'concat'`` (:class:`FeatureFusion`).
- :class:`SpatialRecurrence`, :class:`ConvLRNN`, :func:`insert_lrnn`: the paper's
  Section 4, inserting L-RNNs into a pre-trained CNN. The pre-trained conv (and its
  norm) serve as U and b; V starts at zero, so the network computes exactly what it
  did before fine-tuning.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmcv.cnn import build_conv_layer
from mmengine.model import BaseModule

from ..utils import check_flags, check_positive_ints, invalid_arg, is_int

AXES = ('horizontal', 'vertical')
CELLS = ('rnn', 'gru')
MERGES = ('sum', 'mean', 'concat')
ACTIVATIONS = ('relu', 'tanh')
RECURRENT_INITS = ('uniform', 'zeros', 'identity')
FUSIONS = ('forward', 'sum', 'concat')


class SpatialRNN(BaseModule):
    """A bidirectional 1D spatial RNN along one axis of a feature map.

    ``axis='horizontal'`` scans every row left to right and right to left;
    ``'vertical'`` scans every column top to bottom and bottom to top. Each direction
    has its own U, V and b; the two output maps are merged by ``merge``.

    Cells (per direction, ``u_j = (U * x)_j + b``, computed for the whole map
    before the scan; a 1x1 U as one matrix product per direction):

    - ``'rnn'``: ``h_j = f(LN(u_j + V h_{j-1}))``; with ``layer_norm=True`` the
      pre-activation is layer-normalised over the D units with a gain and a bias
      per direction (the bias then plays b's role: U has none).
    - ``'gru'`` (the paper's Appendix A.1, eqs. 10-13): ``r, z = sigmoid(u^{r,z}_j +
      V^{r,z} h_{j-1})``, ``n = f(u^n_j + V^n (r * h_{j-1}))`` (the reset gate acts
      on the state before the recurrent product), ``h_j = (1 - z) n + z h_{j-1}``
      (the paper uses ReLU for f in both cells).

    With ``input_proj=False`` there is no U: the input is taken to be ``U * x + b``
    already (computed by a pre-trained conv and its norm, as when inserting an L-RNN
    into a CNN), and both directions read it (``in_channels`` must be D for
    ``'rnn'``, 3D for ``'gru'``).

    Args:
        in_channels (int): d, channels of the input.
        hidden_channels (int): D, units of each direction.
        axis (str): ``'horizontal'`` or ``'vertical'``.
        cell (str): ``'rnn'`` or ``'gru'``.
        layer_norm (bool): Layer Normalization in the ``'rnn'`` cell.
        activation (str): f, ``'relu'`` (the paper) or ``'tanh'``.
        merge (str): how the two directions' maps combine: ``'sum'`` (the
            paper), ``'mean'`` or ``'concat'`` (2D channels).
        input_proj (bool): learn U (a conv, ``kernel_size``) and b; False: the input
            is the precomputed ``U * x + b``.
        kernel_size (int): U's kernel size (odd). Default: 1 (U is D x d).
        recurrent_init (str): V's initialisation: ``'uniform'`` (U(-1/sqrt(D),
            1/sqrt(D)), torch's RNN default), ``'zeros'`` (the insertion into a
            pre-trained CNN) or ``'identity'`` (IRNN; ``'rnn'`` cell only).
    """

    def __init__(self,
                 in_channels,
                 hidden_channels,
                 axis='horizontal',
                 cell='rnn',
                 layer_norm=False,
                 activation='relu',
                 merge='sum',
                 input_proj=True,
                 kernel_size=1,
                 recurrent_init='uniform',
                 conv_cfg=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        fail = self._fail
        check_positive_ints(self, in_channels=in_channels,
                            hidden_channels=hidden_channels)
        if axis not in AXES:
            fail('axis', axis, f'one of {AXES}')
        if cell not in CELLS:
            fail('cell', cell, f'one of {CELLS}')
        if not isinstance(layer_norm, bool) or (layer_norm and cell != 'rnn'):
            fail('layer_norm', layer_norm,
                 "True or False (True only with cell='rnn')")
        if activation not in ACTIVATIONS:
            fail('activation', activation, f'one of {ACTIVATIONS}')
        if merge not in MERGES:
            fail('merge', merge, f'one of {MERGES}')
        check_flags(self, input_proj=input_proj)
        if not (is_int(kernel_size) and kernel_size > 0) or kernel_size % 2 == 0:
            fail('kernel_size', kernel_size, 'a positive odd int')
        if recurrent_init not in RECURRENT_INITS or (
                recurrent_init == 'identity' and cell != 'rnn'):
            fail('recurrent_init', recurrent_init,
                 f"one of {RECURRENT_INITS} ('identity' only with cell='rnn')")
        gates = 3 if cell == 'gru' else 1
        if not input_proj and in_channels != gates * hidden_channels:
            fail('in_channels', in_channels,
                 f'{gates * hidden_channels} (= {gates} x hidden_channels: '
                 'with input_proj=False the input is U*x + b itself)')
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.axis = axis
        self.cell = cell
        self.gates = gates
        self.layer_norm = layer_norm
        self.activation = activation
        self.merge = merge
        self.recurrent_init = recurrent_init
        self.out_channels = hidden_channels * (2 if merge == 'concat' else 1)
        self.act = F.relu if activation == 'relu' else torch.tanh
        d = hidden_channels
        self.proj = None
        if input_proj:
            # U and b of both directions in one conv: [forward; backward]
            self.proj = build_conv_layer(
                conv_cfg, in_channels, 2 * gates * d, kernel_size,
                padding=kernel_size // 2, bias=not layer_norm)
        # a plain 1x1 conv is eq. 1's D x d matrix U: see _sequences
        self.u_is_matrix = (type(self.proj) is nn.Conv2d
                            and self.proj.kernel_size == (1, 1))
        # V^T per direction: h (2, M, D) @ weight_hh (2, D, G*D)
        self.weight_hh = nn.Parameter(torch.empty(2, d, gates * d))
        if layer_norm:
            self.ln_weight = nn.Parameter(torch.ones(2, d))
            self.ln_bias = nn.Parameter(torch.zeros(2, d))
        self.reset_recurrence()

    def _fail(self, arg, value, allowed):
        invalid_arg(self, arg, value, allowed)

    def reset_recurrence(self):
        """(Re)initialise V as ``recurrent_init`` says."""
        with torch.no_grad():
            if self.recurrent_init == 'zeros':
                self.weight_hh.zero_()
            elif self.recurrent_init == 'identity':
                self.weight_hh.copy_(
                    torch.eye(self.hidden_channels).expand_as(self.weight_hh))
            else:
                bound = 1 / math.sqrt(self.hidden_channels)
                self.weight_hh.uniform_(-bound, bound)

    def init_weights(self):
        super().init_weights()
        # a model-wide init (e.g. Kaiming on convs) never touches V, but a
        # zero recurrence must stay zero whatever ran before
        if self.recurrent_init == 'zeros':
            self.reset_recurrence()

    # ---- the scan -------------------------------------------------------------------
    def _rows(self, t):
        """``(N, C, H, W) -> (L, N * R, C)``: every row (``'horizontal'``) or column
        of every image is a sequence of length L; R sequences per image."""
        if self.axis == 'vertical':
            t = t.transpose(2, 3)  # scan along the last axis either way
        n, c, r, length = t.shape
        return t.permute(3, 0, 2, 1).reshape(length, n * r, c)

    def _sequences(self, x):
        """``(L, 2, N * R, G * D)``: ``U * x + b`` at step t of both directions (the
        backward one reads the sequence reversed)."""
        gd = self.gates * self.hidden_channels
        if self.proj is None:  # x is U * x + b already; both directions read it
            u = self._rows(x)
            return torch.stack([u, u.flip(0)], dim=1)
        if not self.u_is_matrix:  # a k x k conv computes [forward; backward]
            u = self._rows(self.proj(x))
            u = u.view(*u.shape[:2], 2, gd)
            return torch.stack([u[:, :, 0], u[:, :, 1].flip(0)], dim=1)
        # A 1x1 U: one product per direction on the input already in the scan's
        # layout. The conv and the copy of its output into that layout made whole
        # training steps 15-20 % slower (E-RNN, A-Concat-GRU; configs/lrnn/README.md).
        xs = self._rows(x)
        length, m, c = xs.shape
        xs = torch.stack([xs, xs.flip(0)]).view(2, length * m, c)
        weight = self.proj.weight.view(2, gd, c).transpose(1, 2)  # (2, d, G*D)
        bias = self.proj.bias
        u = (torch.bmm(xs, weight) if bias is None else torch.baddbmm(
            bias.view(2, 1, gd), xs, weight))
        return u.view(2, length, m, gd).transpose(0, 1)

    def _rnn_step(self, u, h):
        pre = u + h @ self.weight_hh
        if self.layer_norm:
            pre = F.layer_norm(pre, (self.hidden_channels, ))
            pre = pre * self.ln_weight[:, None] + self.ln_bias[:, None]
        return self.act(pre)

    def _gru_step(self, u, h):
        d = self.hidden_channels
        v_rz, v_n = self.weight_hh.split([2 * d, d], dim=-1)
        u_rz, u_n = u.split([2 * d, d], dim=-1)
        r, z = torch.sigmoid(u_rz + h @ v_rz).chunk(2, dim=-1)
        n = self.act(u_n + (r * h) @ v_n)
        return (1 - z) * n + z * h

    def forward(self, x):
        n, _, height, width = x.shape
        r, length = ((height, width) if self.axis == 'horizontal' else
                     (width, height))
        seq = self._sequences(x)
        step = self._gru_step if self.cell == 'gru' else self._rnn_step
        h = seq.new_zeros(2, n * r, self.hidden_channels)  # x_0 = 0
        outs = []
        # unbind, not seq[t]: the backward of each seq[t] writes its gradient into
        # a zero tensor of the whole sequence, and autograd sums L of them (O(L^2)
        # memory traffic); unbind's backward stacks the L gradients once
        for u in seq.unbind(0):  # every row/column of every image at once
            h = step(u, h)
            outs.append(h)
        fwd, bwd = torch.stack(outs).unbind(1)  # (L, N * R, D) each
        bwd = bwd.flip(0)
        if self.merge == 'sum':
            y = fwd + bwd
        elif self.merge == 'mean':
            y = (fwd + bwd) * 0.5  # exactly a when fwd == bwd == a
        else:
            y = torch.cat([fwd, bwd], dim=-1)
        y = y.reshape(length, n, r, -1).permute(1, 3, 2, 0)  # (N, C, R, L)
        if self.axis == 'vertical':
            y = y.transpose(2, 3)
        return y.contiguous()


class FeatureFusion(nn.Module):
    """How a module's output F(X) joins its input X (the paper's Section 3, eqs. 2-4).

    ``'forward'``: F(X); ``'concat'``: [X; F(X)]; ``'sum'``: X + F(X). Where a
    sum's module widens the map (the paper's A-Sum: "1x1 convolution is used to match
    dimensions"), a 1x1 conv (no bias) first lifts X to the module's width and the
    module reads the lifted map: ``P X + F(P X)``. This reading reproduces the
    paper's A-Sum-GRU count (1.99M; a projection of the shortcut alone gives 1.72M:
    ``configs/lrnn/README.md``).

    ``fusion(x, branch)`` runs ``branch`` (the module's body, a callable) on X (or
    P X) and joins the result.

    Args:
        in_channels (int): channels of X.
        branch_channels (int): channels of F(X).
        mode (str): ``'forward'``, ``'sum'`` or ``'concat'``.
    """

    def __init__(self, in_channels, branch_channels, mode='forward',
                 conv_cfg=None):
        super().__init__()
        if mode not in FUSIONS:
            invalid_arg(self, 'mode', mode, f'one of {FUSIONS}')
        self.mode = mode
        self.projection = None
        if mode == 'sum' and in_channels != branch_channels:
            self.projection = build_conv_layer(
                conv_cfg, in_channels, branch_channels, 1, bias=False)
        # what the branch reads
        self.branch_in_channels = (branch_channels if self.projection
                                   is not None else in_channels)
        self.out_channels = {
            'forward': branch_channels,
            'sum': branch_channels,
            'concat': in_channels + branch_channels
        }[mode]

    def forward(self, x, branch):
        if self.projection is not None:
            x = self.projection(x)
        y = branch(x)
        if self.mode == 'forward':
            return y
        if self.mode == 'concat':
            return torch.cat([x, y], dim=1)
        return x + y


class LRNNModule(BaseModule):
    """The L-RNN module: a bidirectional horizontal :class:`SpatialRNN` (the two
    directions summed), then a bidirectional vertical one, fused with the input.

    Every direction of both passes has its own U (a ``kernel_size`` conv, 1x1 by
    default: D x d, then D x D), V (D x D) and b, so the module has
    ``2 G (d D + D^2 + D) + 2 G (2 D^2 + D)`` parameters (G = 1 for ``'rnn'``,
    3 for ``'gru'``; with Layer Normalization, each direction's b is replaced by a
    gain and a bias: 2D instead of D). With ``'sum'`` fusion and ``d != D``, a 1x1
    conv (d D) lifts the input to D channels first and the module reads those
    (:class:`FeatureFusion`): d is D in the count above.

    Args:
        in_channels (int): d.
        hidden_channels (int): D.
        cell (str): ``'rnn'`` or ``'gru'``.
        layer_norm (bool | None): LN in the vanilla cell; None: True for
            ``'rnn'`` (the paper), False for ``'gru'``.
        fusion (str): ``'forward'``, ``'sum'`` or ``'concat'``.
        activation, kernel_size, recurrent_init: see :class:`SpatialRNN`.
    """

    def __init__(self,
                 in_channels,
                 hidden_channels,
                 cell='rnn',
                 layer_norm=None,
                 fusion='forward',
                 activation='relu',
                 kernel_size=1,
                 recurrent_init='uniform',
                 conv_cfg=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        if cell not in CELLS:
            invalid_arg(self, 'cell', cell, f'one of {CELLS}')
        if layer_norm is None:
            layer_norm = cell == 'rnn'
        if fusion not in FUSIONS:
            invalid_arg(self, 'fusion', fusion, f'one of {FUSIONS}')
        self.fusion = FeatureFusion(in_channels, hidden_channels, fusion,
                                    conv_cfg)
        kw = dict(cell=cell, layer_norm=layer_norm, activation=activation,
                  merge='sum', kernel_size=kernel_size,
                  recurrent_init=recurrent_init, conv_cfg=conv_cfg)
        self.horizontal = SpatialRNN(self.fusion.branch_in_channels,
                                     hidden_channels, axis='horizontal', **kw)
        self.vertical = SpatialRNN(hidden_channels, hidden_channels,
                                   axis='vertical', **kw)
        self.in_channels = in_channels
        self.out_channels = self.fusion.out_channels

    def branch(self, x):
        """The two passes, without the fusion."""
        return self.vertical(self.horizontal(x))

    def forward(self, x):
        return self.fusion(x, self.branch)


class SpatialRecurrence(BaseModule):
    """The recurrence an L-RNN adds to a pre-trained layer (the paper's Section 4).

    Its input ``p`` is a pre-trained layer's pre-activation ``U * x + b`` (a conv's
    output, after its norm); it runs ``h_j = ReLU(p_j + V h_{j-1})`` in both
    directions of each axis in ``axes`` (the later axes read the earlier ones'
    output, with the identity as U), averaging the two directions. No U, no b: the
    only parameters are the V's, ``2 len(axes) C^2``, initialised to zero, so the
    output is exactly ``ReLU(p)`` (both directions are ``ReLU(p)`` and
    ``(a + a) / 2 == a``) until fine-tuning moves V. Averaging, not summing, the
    two directions is what keeps that exact.

    Args:
        channels (int): C, channels of ``p``.
        axes (Sequence[str]): the passes, in order. Default: horizontal then
            vertical (a complete L-RNN).
        recurrent_init (str): ``'zeros'`` (identity-preserving) or another
            :class:`SpatialRNN` choice.
    """

    def __init__(self, channels, axes=AXES, recurrent_init='zeros',
                 init_cfg=None):
        super().__init__(init_cfg)
        check_positive_ints(self, channels=channels)
        if isinstance(axes, str) or not axes or any(a not in AXES
                                                    for a in axes):
            invalid_arg(self, 'axes', axes,
                        f'a non-empty sequence of {AXES}')
        self.channels = channels
        self.axes = tuple(axes)
        self.passes = nn.ModuleList(
            SpatialRNN(channels, channels, axis=a, merge='mean',
                       input_proj=False, recurrent_init=recurrent_init)
            for a in self.axes)

    def forward(self, p):
        for rnn in self.passes:
            p = rnn(p)
        return p


class ConvLRNN(BaseModule):
    """A pre-trained conv (and its norm) turned into conv + spatial recurrence.

    ``forward(x) = SpatialRecurrence(norm(conv(x)))``, which is
    ``ReLU(norm(conv(x)))`` while V = 0: it replaces the conv -> [norm] -> ReLU of a
    CNN; the ReLU that followed in the original network may stay (applying it again
    changes nothing). The conv's weights serve as U, the norm as b.

    Args:
        conv (nn.Conv2d): the pre-trained conv.
        norm (nn.Module | None): the norm that followed it (moved in here).
        axes, recurrent_init: see :class:`SpatialRecurrence`.
    """

    def __init__(self, conv, norm=None, axes=AXES, recurrent_init='zeros'):
        super().__init__()
        channels = getattr(conv, 'out_channels', None)
        if not (is_int(channels) and channels > 0):
            invalid_arg(self, 'conv', type(conv).__name__,
                        'a conv layer with an int out_channels')
        self.conv = conv
        self.norm = norm
        self.lrnn = SpatialRecurrence(channels, axes, recurrent_init)

    def forward(self, x):
        p = self.conv(x)
        if self.norm is not None:
            p = self.norm(p)
        return self.lrnn(p)


def insert_lrnn(model, conv, norm=None, axes=AXES, recurrent_init='zeros'):
    """Insert an L-RNN into a pre-trained CNN in place; returns the new
    :class:`ConvLRNN`.

    The submodule named ``conv`` (dotted path, e.g. ``'features.3'``) becomes
    ``ConvLRNN(conv, norm)`` and the submodule named ``norm`` (if given) an
    ``nn.Identity``. The conv's output (after the norm) must be followed by a ReLU
    in ``model``, with nothing in between; then, with V = 0, ``model`` computes
    exactly what it did before. The conv's and norm's parameters move to
    ``<conv>.conv.*`` and ``<conv>.norm.*`` in the state dict (load pre-trained
    weights before inserting); the backbone option ``LRNNResNet(lrnn_stages=...)``
    keeps every ResNet name instead.
    """
    owner = type(model).__name__

    def locate(arg, name):
        expected = f'the dotted name of a submodule of {owner}'
        if not isinstance(name, str) or not name:
            invalid_arg('insert_lrnn', arg, name, expected)
        parent_name, _, attr = name.rpartition('.')
        try:
            parent = model.get_submodule(parent_name)
            module = parent.get_submodule(attr)
        except AttributeError:
            invalid_arg('insert_lrnn', arg, name, expected)
        return parent, attr, module

    parent, attr, conv_module = locate('conv', conv)
    norm_module = None
    if norm is not None:
        norm_parent, norm_attr, norm_module = locate('norm', norm)
        setattr(norm_parent, norm_attr, nn.Identity())
    wrapped = ConvLRNN(conv_module, norm_module, axes, recurrent_init)
    setattr(parent, attr, wrapped)
    return wrapped
