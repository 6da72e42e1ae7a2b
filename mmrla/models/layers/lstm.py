"""LSTM cells that walk along a CNN's depth (one step per block)."""
import itertools

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.model import BaseModule


class LSTMCell(BaseModule):
    """An LSTM cell with one bias per gate, optionally with peephole connections.

    Standard, with ``W`` (``linear.weight``, ``4M x (N + M)``) and ``b``
    (``linear.bias``) split into the input, forget, candidate and output gates
    in that order::

        i, f, g, o = split(W [x; h] + b)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c')

    With ``peephole=True`` (Gers & Schmidhuber; as in CRMN) the input and forget
    gates also read the previous cell ``c`` and the output gate the new cell
    ``c'``, through per-unit weights ``peep`` (``3 x M``: input, forget,
    output)::

        i = i + peep[0] * c;  f = f + peep[1] * c;  o = o + peep[2] * c'

    Unlike ``torch.nn.LSTMCell`` there is a single bias per gate, so the
    parameter count is ``4 (N M + M^2 + M)`` (+ ``3 M`` peepholes), the count the
    layer-attention paper states; with ``bias_hh = 0`` and ``[weight_ih,
    weight_hh] = W`` the standard cell is ``torch.nn.LSTMCell``.

    Args:
        input_size (int): N.
        hidden_size (int): M.
        peephole (bool): add peephole connections. Default: False.
        gate_bias (float): initial bias of the input, forget and output gates
            (CRMN found a negative one favourable); the candidate's bias is 0.
            Default: 0.
    """

    def __init__(self, input_size, hidden_size, peephole=False, gate_bias=0.0,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.peephole = peephole
        self.gate_bias = float(gate_bias)
        self.linear = nn.Linear(input_size + hidden_size, 4 * hidden_size)
        if peephole:
            self.peep = nn.Parameter(torch.zeros(3, hidden_size))
        self.reset_parameters()

    def reset_parameters(self):
        bound = self.hidden_size**-0.5  # torch.nn.LSTMCell's uniform init
        nn.init.uniform_(self.linear.weight, -bound, bound)
        with torch.no_grad():
            bias = self.linear.bias.view(4, self.hidden_size)
            bias.fill_(self.gate_bias)
            bias[2].zero_()  # candidate
        if self.peephole:
            nn.init.uniform_(self.peep, -bound, bound)

    def begin(self, h, c):
        """The state ``(h, c)`` before the first step of a sequence."""
        return h, c

    def forward(self, x, state):
        """One step: the new ``(h, c)`` after reading ``x`` (B, N) in the
        state ``(h, c)`` (B, M each)."""
        h, c = state
        gates = self.linear(torch.cat([x, h], dim=1))
        return self._update(gates, c)

    def run(self, inputs, state):
        """The cell over a sequence of inputs that do not depend on its state
        (all known before the first step); returns the last ``(h, c)``.

        Every ``inputs[t]`` (B, n_t) with ``n_t <= N`` holds the first ``n_t``
        of the step's ``N`` inputs, the rest being zeros: the same maths as one
        :meth:`forward` per step with the inputs zero-padded to ``N``. The
        input products ``W_x x_t + b`` come first, one matrix product for each
        run of consecutive inputs of one length, with the ``n_t`` columns of
        ``W_x`` they meet (the zeros are not multiplied); then every step adds
        ``W_h h`` and updates the state.
        """
        for t, x in enumerate(inputs):
            if x.dim() != 2 or x.shape[1] > self.input_size:
                raise ValueError(
                    f'LSTMCell.run: inputs[{t}] has shape {tuple(x.shape)}; '
                    f'expected (batch, n) with n <= input_size='
                    f'{self.input_size}')
        weight_x, weight_h = self.linear.weight.split(
            [self.input_size, self.hidden_size], dim=1)
        gates_x = []
        for n, run in itertools.groupby(inputs, key=lambda x: x.shape[1]):
            # stacked, not concatenated: unbinding keeps the batch size
            # symbolic in a traced graph (chunks of a concatenation do not)
            products = F.linear(torch.stack(list(run)), weight_x[:, :n],
                                self.linear.bias)
            gates_x += products.unbind(0)
        h, c = state
        for gates in gates_x:
            h, c = self._update(gates + F.linear(h, weight_h), c)
        return h, c

    def _update(self, gates, c):
        """The new ``(h, c)`` from the gates' pre-activations ``gates``
        (B, 4M: i, f, g, o) and the previous cell ``c``."""
        i, f, g, o = gates.chunk(4, dim=1)
        if self.peephole:
            i = i + self.peep[0] * c
            f = f + self.peep[1] * c
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if self.peephole:
            o = o + self.peep[2] * c
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c
