"""LSTMCell: the documented gates against a naive reference and torch's cell."""
import pytest
import torch
import torch.nn.functional as F

from mmrla.models.layers import LSTMCell

# float64 sums of a few dozen terms of order 1: differences of a few ulps
TIGHT = dict(rtol=1e-12, atol=1e-12)


def naive_step(cell, x, h, c):
    """One step written out gate by gate from the docstring's equations, with
    the weight split into its per-gate blocks (i, f, g, o) and the input and
    hidden parts multiplied separately."""
    n, m = cell.input_size, cell.hidden_size
    w, b = cell.linear.weight, cell.linear.bias
    pre = []
    for k in range(4):
        rows = slice(k * m, (k + 1) * m)
        pre.append(x @ w[rows, :n].T + h @ w[rows, n:].T + b[rows])
    i, f, g, o = pre
    if cell.peephole:
        i = i + cell.peep[0] * c
        f = f + cell.peep[1] * c

    def sigmoid(t):
        return 1 / (1 + torch.exp(-t))

    c_new = sigmoid(f) * c + sigmoid(i) * torch.tanh(g)
    if cell.peephole:
        o = o + cell.peep[2] * c_new
    return sigmoid(o) * torch.tanh(c_new), c_new


def _cell(n, m, peephole, gate_bias=0.0):
    torch.manual_seed(0)
    cell = LSTMCell(n, m, peephole=peephole, gate_bias=gate_bias).double()
    if peephole:
        torch.nn.init.normal_(cell.peep)  # not small: the terms matter
    return cell


@pytest.mark.parametrize('peephole', [False, True])
def test_steps_match_the_naive_reference(peephole):
    """Five steps of the cell, values and float64 gradients of every parameter,
    input and initial state, against the equations written out per gate."""
    cell = _cell(5, 4, peephole, gate_bias=-0.5)
    xs = [torch.randn(3, 5, dtype=torch.double, requires_grad=True)
          for _ in range(5)]
    h0 = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
    state, ref = cell.begin(h0, c0), (h0, c0)
    hs, ref_hs = [], []
    for x in xs:
        state = cell(x, state)
        ref = naive_step(cell, x, *ref)
        hs.append(state[0])
        ref_hs.append(ref[0])
        for a, b in zip(state, ref):
            assert a.shape == (3, 4)
            torch.testing.assert_close(a, b, **TIGHT)
    wrt = list(cell.parameters()) + xs + [h0, c0]
    weights = torch.randn(len(xs), 3, 4, dtype=torch.double)

    def grads(hs, c):
        loss = sum((w * h).sum() for w, h in zip(weights, hs)) + c.sum()
        return torch.autograd.grad(loss, wrt)

    for a, b in zip(grads(hs, state[1]), grads(ref_hs, ref[1])):
        torch.testing.assert_close(a, b, **TIGHT)
        assert a.abs().sum() > 0
    if peephole:  # the peephole terms matter here (not near zero)
        with torch.no_grad():
            h1, c1 = cell(xs[0], (h0, c0))
            cell.peep.zero_()
            h1_plain, c1_plain = cell(xs[0], (h0, c0))
        assert (h1 - h1_plain).abs().max() > 1e-2
        assert (c1 - c1_plain).abs().max() > 1e-2


def test_standard_cell_is_torchs_lstm_cell_with_one_bias():
    """With ``bias_hh = 0`` and the weight split into ``weight_ih`` and
    ``weight_hh``, torch's cell: values and gradients (float64)."""
    cell = _cell(5, 3, peephole=False)
    ref = torch.nn.LSTMCell(5, 3).double()
    with torch.no_grad():
        ref.weight_ih.copy_(cell.linear.weight[:, :5])
        ref.weight_hh.copy_(cell.linear.weight[:, 5:])
        ref.bias_ih.copy_(cell.linear.bias)
        ref.bias_hh.zero_()
    x = torch.randn(4, 5, dtype=torch.double, requires_grad=True)
    h = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    c = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    out, ref_out = cell(x, (h, c)), ref(x, (h, c))
    for a, b in zip(out, ref_out):
        torch.testing.assert_close(a, b, **TIGHT)
    w = torch.randn(2, 4, 3, dtype=torch.double)

    def loss(state):
        return (state[0] * w[0]).sum() + (state[1] * w[1]).sum()

    ours = torch.autograd.grad(loss(out), [x, h, c, cell.linear.weight,
                                           cell.linear.bias])
    theirs = torch.autograd.grad(loss(ref_out), [x, h, c, ref.weight_ih,
                                                 ref.weight_hh, ref.bias_ih])
    for a, b in zip(ours[:3], theirs[:3]):
        torch.testing.assert_close(a, b, **TIGHT)
    torch.testing.assert_close(ours[3], torch.cat(theirs[3:5], dim=1), **TIGHT)
    torch.testing.assert_close(ours[4], theirs[5], **TIGHT)
    # float32, the default: equal to float32 rounding of these few-term sums
    cell32, ref32 = cell.float(), ref.float()
    x32, h32, c32 = x.detach().float(), h.detach().float(), c.detach().float()
    for a, b in zip(cell32(x32, (h32, c32)), ref32(x32, (h32, c32))):
        torch.testing.assert_close(a, b)


def test_parameters_state_dict_and_init():
    """One bias per gate (the layer-attention paper's count); the names that
    checkpoints hold; the gate biases start at ``gate_bias``, the candidate's
    at 0."""
    cell = LSTMCell(5, 3)
    assert sum(p.numel() for p in cell.parameters()) == 4 * (5 * 3 + 9 + 3)
    assert list(cell.state_dict()) == ['linear.weight', 'linear.bias']
    peep = LSTMCell(5, 3, peephole=True, gate_bias=-1.0)
    assert sorted(peep.state_dict()) == ['linear.bias', 'linear.weight', 'peep']
    assert peep.peep.shape == (3, 3)
    bias = peep.linear.bias.view(4, 3)
    assert (bias[[0, 1, 3]] == -1).all() and (bias[2] == 0).all()
    bound = 3**-0.5
    assert peep.linear.weight.abs().max() <= bound
    assert peep.peep.abs().max() <= bound


@pytest.mark.parametrize('peephole', [True, False])
def test_run_is_forward_per_step_with_padded_inputs(peephole):
    """``run`` over inputs shorter than ``input_size`` equals one forward per
    step with the inputs zero-padded: values and gradients, through h and c."""
    cell = _cell(6, 3, peephole)
    lengths = (6, 6, 4, 4, 4, 2, 6)
    inputs = [
        torch.randn(2, n, dtype=torch.double, requires_grad=True)
        for n in lengths
    ]
    h0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    ref = (h0, c0)
    for x in inputs:
        ref = naive_step(cell, F.pad(x, (0, 6 - x.shape[1])), *ref)
    out = cell.run(inputs, (h0, c0))
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, **TIGHT)
    with torch.no_grad():
        for a, b in zip(cell.run(inputs, (h0, c0)), ref):
            torch.testing.assert_close(a, b, **TIGHT)
    weights = torch.randn(2, 2, 3, dtype=torch.double)
    wrt = list(cell.parameters()) + inputs + [h0, c0]

    def grads(state):
        loss = (state[0] * weights[0]).sum() + (state[1] * weights[1]).sum()
        return torch.autograd.grad(loss, wrt, retain_graph=True)

    for a, b in zip(grads(out), grads(ref)):
        torch.testing.assert_close(a, b, **TIGHT)


def test_run_refuses_too_long_inputs():
    cell = LSTMCell(6, 3)
    state = (torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'inputs\[1\] has shape \(2, 7\); '
                       r'expected \(batch, n\) with n <= input_size=6'):
        cell.run([torch.randn(2, 6), torch.randn(2, 7)], state)
    with pytest.raises(ValueError, match=r'inputs\[0\] has shape \(6,\)'):
        cell.run([torch.randn(6)], state)


def test_run_does_not_multiply_the_padding():
    """``run``'s products cover each input's own length: ``2 B 4M (n_t + M)``
    floating-point operations per step, not ``2 B 4M (N + M)``."""
    from torch.utils.flop_counter import FlopCounterMode
    cell = LSTMCell(6, 3, peephole=True)
    lengths = (6, 6, 4, 4, 2, 6)
    inputs = [torch.randn(2, n) for n in lengths]
    state = (torch.zeros(2, 3), torch.zeros(2, 3))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        cell.run(inputs, state)
    assert counter.get_total_flops() == sum(2 * 2 * 12 * (n + 3)
                                            for n in lengths)
