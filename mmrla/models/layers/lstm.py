"""LSTM cells that walk along a CNN's depth (one step per block)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch.autograd.function import once_differentiable


def _graph_task():
    """An id of the running backward pass (private torch API; None without)."""
    current = getattr(torch._C, '_current_graph_task_id', None)
    return None if current is None else current()


def _plain_graph():
    """Whether tracers, torch.compile or a torch function mode (the paper-unit
    counter) are watching: they get the plain ops, as the modules define them."""
    return (torch.jit.is_tracing() or torch.compiler.is_compiling()
            or torch._C._is_torch_function_mode_enabled())


def gate_product(input, weight, bias):
    """``F.linear(input, weight, bias)``, on CPU as ``(weight @ input^T)^T``.

    The gates of a step multiply a few rows (the batch) by a large weight (layer
    attention on ResNet-50: 8 x 1536 by 1536 x 2048, 12.6 MB, 16 steps per
    forward). MKL's product with the weight as the left operand and the rows as
    a transposed view runs at nearly twice the rate of ``F.linear``'s
    ``input @ weight^T`` here (2 CPU cores, batch 8: 2.9 -> 1.7 ms, cold cache;
    batch 64: 4.8 -> 4.0; batch 256: 15.1 -> 13.2). The result is the transpose
    of a contiguous tensor; the sums run in another order (last bits may
    differ). Other devices and dtypes, other ranks, tracers, torch.compile and
    torch function modes get ``F.linear``.
    """
    if (input.device.type != 'cpu' or input.dim() != 2
            or input.dtype not in (torch.float32, torch.float64)
            or input.dtype != weight.dtype or _plain_graph()):
        return F.linear(input, weight, bias)
    if bias is None:
        return torch.mm(weight, input.t()).t()
    return torch.addmm(bias[:, None], weight, input.t()).t()


class _Sequence:
    """The steps of one forward pass through an :class:`LSTMCell` that share
    the weight's gradient: their inputs, and their gate gradients as the
    backward pass meets them, by step."""

    def __init__(self):
        self.inputs = []
        self.grads = {}


class _SequenceLinear(torch.autograd.Function):
    """``F.linear(input, weight, bias)`` for one step of a :class:`_Sequence`.

    Backward gives every step its input's gradient, but the weight's and
    bias's once, as one matrix product over all steps, from the first step's
    node: it runs last, since every later step reads its output. Per step,
    autograd would write a weight-sized gradient and add it into the sum: two
    passes over the weight per step (the LSTM of layer attention on ResNet-50
    has a 12 MB weight and 16 steps: 126 -> 90 ms forward and backward).
    """

    @staticmethod
    def forward(ctx, input, weight, bias, sequence):
        ctx.step = len(sequence.inputs)
        ctx.sequence = sequence
        sequence.inputs.append(input)
        ctx.save_for_backward(weight)
        return gate_product(input, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        weight, = ctx.saved_tensors
        need_input, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_input = grad @ weight if need_input else None
        if not (need_weight or need_bias):
            return grad_input, None, None, None
        sequence, task = ctx.sequence, _graph_task()
        sequence.grads[ctx.step] = (task, grad)
        if ctx.step > 0:
            return grad_input, None, None, None
        # this backward pass's steps (an earlier pass may have stopped short)
        steps = sorted(t for t, (pass_, _) in sequence.grads.items()
                       if pass_ == task)
        grads = torch.cat([sequence.grads[t][1] for t in steps])
        sequence.grads.clear()
        grad_weight = grad_bias = None
        if need_weight:
            grad_weight = grads.t() @ torch.cat(
                [sequence.inputs[t] for t in steps])
        if need_bias:
            grad_bias = grads.sum(0)
        return grad_input, grad_weight, grad_bias, None


def _steps(gates_x, h, c, weight_h, peep, saved=None):
    """The LSTM over ``gates_x`` (T, B, 4M), the steps' input products with the
    bias; ``saved`` (a list), if given, receives what the backward reads."""
    hidden = h.shape[1]
    weight_ht = weight_h.t()
    for gx in gates_x:
        a = torch.addmm(gx, h, weight_ht).view(-1, 4, hidden)
        if peep is not None:
            a[:, :2].addcmul_(peep[:2], c.unsqueeze(1))
        gates_if = a[:, :2].sigmoid()
        g = a[:, 2].tanh()
        c_new = gates_if[:, 1] * c
        c_new.addcmul_(gates_if[:, 0], g)
        pre_o = a[:, 3] if peep is None else a[:, 3].addcmul(peep[2], c_new)
        o = pre_o.sigmoid_()
        tanh_c = c_new.tanh()
        if saved is not None:
            saved.append((h, c, gates_if, g, o, tanh_c, c_new))
        h, c = o * tanh_c, c_new
    return h, c


class _LSTMSteps(torch.autograd.Function):
    """:func:`_steps` as one autograd node, with a hand-written backward.

    A step of CRMN's memory works on (B, M) = (32, 100) tensors: autograd
    spent more time recording and replaying its ~18 small ops per step than
    computing them. Backward here computes every step-independent factor of
    the gate gradients for all steps at once, runs ~7 ops per step, and the
    weight's and peepholes' gradients as one product / reduction over all
    steps.
    """

    @staticmethod
    def forward(ctx, gates_x, h, c, weight_h, peep):
        saved = []
        h, c = _steps(gates_x, h, c, weight_h, peep, saved)
        ctx.save_for_backward(weight_h, peep,
                              *(torch.stack(s) for s in zip(*saved)))
        return h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_h, grad_c):
        (weight_h, peep, h_prev, c_prev, gates_if, g, o, tanh_c,
         c_new) = ctx.saved_tensors
        i, f = gates_if.unbind(2)
        # for all steps: d c / d(pre-activation) of the i, f and g gates,
        # d h / d(pre-activation) of o, and d h / d c through tanh
        factor_ifg = torch.stack(
            [g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g)], dim=2)
        factor_o = tanh_c * o * (1 - o)
        factor_c = o * (1 - tanh_c * tanh_c)
        steps, batch, hidden = g.shape
        grad_gates = g.new_empty(steps, batch, 4, hidden)
        dh = torch.zeros_like(h_prev[0]) if grad_h is None else grad_h
        dc = torch.zeros_like(h_prev[0]) if grad_c is None else grad_c
        for t in range(steps - 1, -1, -1):
            da = grad_gates[t]
            torch.mul(dh, factor_o[t], out=da[:, 3])
            dc = torch.addcmul(dc, dh, factor_c[t])
            if peep is not None:
                dc.addcmul_(da[:, 3], peep[2])
            torch.mul(dc.unsqueeze(1), factor_ifg[t], out=da[:, :3])
            dc = dc * f[t]
            if peep is not None:
                dc.addcmul_(da[:, 0], peep[0]).addcmul_(da[:, 1], peep[1])
            dh = da.view(batch, -1).mm(weight_h)
        flat = grad_gates.view(steps * batch, -1)
        grad_weight_h = grad_peep = None
        if ctx.needs_input_grad[3]:
            grad_weight_h = flat.t().mm(h_prev.view(steps * batch, -1))
        if peep is not None and ctx.needs_input_grad[4]:
            grad_peep = torch.stack([
                (grad_gates[:, :, 0] * c_prev).sum((0, 1)),
                (grad_gates[:, :, 1] * c_prev).sum((0, 1)),
                (grad_gates[:, :, 3] * c_new).sum((0, 1))
            ])
        return (grad_gates.view(steps, batch, -1), dh, dc, grad_weight_h,
                grad_peep)


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

    def begin(self, h, c):
        """The state ``(h, c)`` of a sequence whose steps (:meth:`forward`)
        share one record, so that backward computes the weight's gradient once
        for all of them (:class:`_SequenceLinear`)."""
        return h, c, _Sequence()

    def forward(self, x, state):
        """One step: ``(h, c)`` (or ``(h, c, sequence)`` from :meth:`begin`,
        returned with the new ``h, c``) after reading ``x``."""
        h, c, *sequence = state
        xh = torch.cat([x, h], dim=1)
        linear = self.linear
        plain = _plain_graph() or torch.is_autocast_enabled(xh.device.type)
        if plain:  # tracers, torch.compile and autocast see the plain linear
            gates = linear(xh)
        elif sequence and torch.is_grad_enabled():
            gates = _SequenceLinear.apply(xh, linear.weight, linear.bias,
                                          sequence[0])
        else:
            gates = gate_product(xh, linear.weight, linear.bias)
        return (*self._update(gates, c), *sequence)

    def run(self, inputs, state):
        """The cell over a sequence of inputs that do not depend on its state
        (known before the first step); returns the last ``(h, c)``.

        Every ``inputs[t]`` (B, n_t) with ``n_t <= N`` holds the first ``n_t``
        of the step's ``N`` inputs, the rest being zeros. The same maths as
        one :meth:`forward` per step with zero-padded inputs, but the input
        products of consecutive steps of one length run as one wide matrix
        product (instead of a thin one per step), the zeros are not
        multiplied, and the weight is split once (a slice per step would add
        a zero-filled full-size weight gradient per step in backward). With
        gradients the steps are one autograd node (:class:`_LSTMSteps`).
        """
        for t, x in enumerate(inputs):
            if x.dim() != 2 or x.shape[1] > self.input_size:
                raise ValueError(
                    f'LSTMCell.run: inputs[{t}] has shape {tuple(x.shape)}; '
                    f'expected (batch, n) with n <= input_size='
                    f'{self.input_size}')
        weight_x, weight_h = self.linear.weight.split(
            [self.input_size, self.hidden_size], dim=1)
        batch = inputs[0].shape[0]
        projected = []
        start = 0
        while start < len(inputs):  # runs of inputs of one length
            n = inputs[start].shape[1]
            end = start + 1
            while end < len(inputs) and inputs[end].shape[1] == n:
                end += 1
            projected.append(
                F.linear(
                    torch.cat(inputs[start:end]),
                    weight_x if n == self.input_size else weight_x[:, :n],
                    self.linear.bias))
            start = end
        gates_x = torch.cat(projected).view(len(inputs), batch, -1)
        h, c = state
        peep = self.peep if self.peephole else None
        if torch.jit.is_tracing() or torch.compiler.is_compiling(
        ) or torch.is_autocast_enabled(gates_x.device.type):
            # tracers, torch.compile and autocast see the plain cell
            for gx in gates_x:
                h, c = self._update(gx + F.linear(h, weight_h), c)
            return h, c
        if torch.is_grad_enabled() and any(
                t is not None and t.requires_grad
                for t in (gates_x, h, c, weight_h, peep)):
            return _LSTMSteps.apply(gates_x, h, c, weight_h, peep)
        return _steps(gates_x, h, c, weight_h, peep)

    def _update(self, gates, c):
        i, f, g, o = gates.chunk(4, dim=1)
        if self.peephole:
            i = i + self.peep[0] * c
            f = f + self.peep[1] * c
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        if self.peephole:
            o = o + self.peep[2] * c
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c
