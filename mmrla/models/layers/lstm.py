"""LSTM cells that walk along a CNN's depth (one step per block)."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule


class LSTMCell(BaseModule):
    """An LSTM cell with one bias per gate, optionally with peephole connections.

    Standard::

        i, f, g, o = split(W [x; h] + b)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c')

    With ``peephole=True`` (Gers & Schmidhuber; as in CRMN) the input and forget gates
    also read the previous cell ``c`` and the output gate the new cell ``c'``, through
    per-unit weights. Unlike ``torch.nn.LSTMCell`` there is a single bias per gate,
    so the parameter count is ``4 (N M + M^2 + M)`` (+ ``3 M`` peepholes), the count
    the layer-attention paper states.

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

    def forward(self, x, state):
        h, c = state
        i, f, g, o = self.linear(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        if self.peephole:
            i = i + self.peep[0] * c
            f = f + self.peep[1] * c
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if self.peephole:
            o = o + self.peep[2] * c
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c
