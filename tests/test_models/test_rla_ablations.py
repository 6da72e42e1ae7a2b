"""The RLA-Net ablation cells (paper Table 6) as options of the one RLAResNet."""
import pytest
import torch
import torch.nn.functional as F

from mmrla.models import ConvGRUStageCell, ConvLSTMStageCell, RLAResNet, RLAStageCell

DEFAULT_R50 = 25870696  # the official rla_resnet50 with its 1000-class fc


def with_fc(model):
    params = sum(p.numel() for p in model.parameters())
    return params + model.feat_dim * 1000 + 1000


# Parameter deltas from the layouts of the official ablation models (ResNet-50).
ABLATIONS = {
    'b_unshared': (dict(shared=False, update_source='branch'),
                   2 * (256 * 32 + 9216) + 3 * (512 * 32 + 9216)
                   + 5 * (1024 * 32 + 9216) + 2 * (2048 * 32 + 9216)),
    # the 32 h inputs of every conv1: widths 64/128/256/512 over 3/4/6/3 blocks
    'c_no_exchange': (dict(exchange=False),
                      -32 * (3 * 64 + 4 * 128 + 6 * 256 + 3 * 512)),
    'd_convlstm': (dict(cell='lstm'), 4 * (64 * 128 * 9) - 4 * 9216 - 64),
    'd_convgru': (dict(cell='gru'),
                  4 * (64 * 64 * 9 + 64 + 64 * 32 * 9 + 32 + 3 * 64)
                  - 4 * 9216 - 64),
    'e_post': (dict(update_order='post'), -64),
    'f_v2': (dict(update_order='add-last'), 0),
    'g_v3': (dict(), 0),
    'h_v4': (dict(update_order='add-last'), 0),
    'i_v5': (dict(update_source='identity'), 0),
    'j_v6': (dict(update_order='add-last', update_source='identity'), 0),
}


@pytest.mark.parametrize('name', ABLATIONS)
def test_parameter_counts(name):
    kwargs, delta = ABLATIONS[name]
    model = RLAResNet(depth=50, out_indices=(3, ), **kwargs)
    assert with_fc(model) == DEFAULT_R50 + delta


def test_no_exchange_blocks_are_plain():
    # h reaches no block: every conv1 reads only x
    model = RLAResNet(depth=50, exchange=False)
    assert model.layer1[0].conv1.in_channels == 64
    assert model.layer3[2].conv1.in_channels == 1024


def explicit_update(order, cell, h, y, b):
    """The update of each wiring, written out."""
    co, rc, bn = cell.update_conv, cell.recurrent_conv, cell.norms[b]
    if order == 'add-first':
        return rc(torch.tanh(bn(h + co(y))))
    if order == 'add-last':
        return rc(torch.tanh(bn(h))) + co(y)
    return torch.tanh(bn(rc(h + co(y))))


@pytest.mark.parametrize('order', ['add-first', 'add-last', 'post'])
def test_rla_cell_orders(order):
    torch.manual_seed(0)
    cell = RLAStageCell(16, 4, 2, update_order=order).eval()
    h, y = torch.randn(2, 4, 5, 6), torch.randn(2, 16, 5, 6)
    torch.testing.assert_close(cell(h, y, 1),
                               explicit_update(order, cell, h, y, 1))


def test_unshared_cell_uses_the_block_s_own_convs():
    torch.manual_seed(0)
    cell = RLAStageCell(16, 4, 3, shared=False).eval()
    assert not hasattr(cell, 'update_conv') and len(cell.update_convs) == 3
    h, y = torch.randn(1, 4, 5, 5), torch.randn(1, 16, 5, 5)
    expected = cell.recurrent_convs[2](
        torch.tanh(cell.norms[2](h + cell.update_convs[2](y))))
    torch.testing.assert_close(cell(h, y, 2), expected)
    assert not torch.allclose(cell(h, y, 1), expected)


def test_convlstm_cell():
    torch.manual_seed(0)
    cell = ConvLSTMStageCell(16, 4, 2).eval()
    h, c = torch.randn(2, 4, 5, 6), torch.randn(2, 4, 5, 6)
    y = torch.randn(2, 16, 5, 6)
    u = torch.tanh(cell.norms[0](cell.update_conv(y)))
    z = F.conv2d(torch.cat([u, h], 1), cell.conv.weight, padding=1)
    i, f, o, g = (z[:, 4 * n:4 * n + 4] for n in range(4))
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c_new.tanh()
    out_h, out_c = cell((h, c), y, 0)
    torch.testing.assert_close(out_c, c_new)
    torch.testing.assert_close(out_h, h_new)
    assert cell.conv.bias is None


def test_convgru_cell():
    torch.manual_seed(0)
    cell = ConvGRUStageCell(16, 4, 2).eval()
    h, y = torch.randn(2, 4, 5, 6), torch.randn(2, 16, 5, 6)
    u = torch.tanh(cell.norms[1](cell.update_conv(y)))
    gates = cell.gate_conv(torch.cat([u, h], 1))
    r = F.group_norm(gates[:, :4], 1, cell.reset_gate_norm.weight,
                     cell.reset_gate_norm.bias, 1e-6).sigmoid()
    z = F.group_norm(gates[:, 4:], 1, cell.update_gate_norm.weight,
                     cell.update_gate_norm.bias, 1e-6).sigmoid()
    cand = F.group_norm(
        cell.output_conv(torch.cat([u, r * h], 1)), 1, cell.output_norm.weight,
        cell.output_norm.bias, 1e-6).tanh()
    torch.testing.assert_close(cell(h, y, 1), z * h + (1 - z) * cand)


def captured_updates(model, x):
    """The y each block hands to its stage's cell."""
    seen = []
    cell = model.rla1
    original = type(cell).forward

    def spy(self, state, y, index):
        seen.append(y.clone())
        return original(self, state, y, index)

    cell.forward = spy.__get__(cell)
    with torch.no_grad():
        model(x)
    return seen


@pytest.mark.parametrize('source', ['output', 'branch', 'identity'])
def test_update_sources(source):
    torch.manual_seed(0)
    model = RLAResNet(depth=18, stage_blocks=(2, 1, 1, 1), update_source=source)
    model.eval()
    x = torch.rand(1, 3, 64, 64)
    seen = captured_updates(model, x)
    with torch.no_grad():
        stem = model.maxpool(model.relu(model.norm1(model.conv1(x))))
        h = torch.zeros(1, 32, 16, 16)
        branch, identity = model.layer1[0].forward_parts(stem, h)
        out = F.relu(branch + identity)
    expected = dict(output=out, branch=branch, identity=identity)[source]
    torch.testing.assert_close(seen[0], expected)


@pytest.mark.parametrize('kwargs', [dict(cell='lstm'), dict(cell='gru'),
                                    dict(update_order='post'),
                                    dict(exchange=False),
                                    dict(shared=False)])
def test_variants_any_size_and_readout(kwargs):
    model = RLAResNet(depth=18, stage_blocks=(1, 1, 1, 1), **kwargs).eval()
    for size in ((17, 33), (64, 64)):
        with torch.no_grad():
            out = model(torch.rand(2, 3, *size))[-1]
        assert out.shape[1] == 512 + 32 and torch.isfinite(out).all()
    # only the default pre-activated cell normalises h for the classifier
    assert hasattr(model, 'rla_norm_name') == (kwargs in (dict(exchange=False),
                                                         dict(shared=False)))


def test_default_unchanged_by_the_options():
    torch.manual_seed(0)
    a = RLAResNet(depth=18, stage_blocks=(1, 1, 1, 1)).eval()
    b = RLAResNet(depth=18, stage_blocks=(1, 1, 1, 1), cell='rla',
                  update_order='add-first', shared=True, exchange=True,
                  update_source='output').eval()
    assert list(a.state_dict()) == list(b.state_dict())
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 48, 48)
    assert torch.equal(a(x)[-1], b(x)[-1])


@pytest.mark.parametrize('kwargs,arg', [
    (dict(cell='transformer'), 'cell'),
    (dict(cell='lstm', update_order='post'), 'cell'),
    (dict(cell='gru', shared=False), 'cell'),
    (dict(update_order='sideways'), 'update_order'),
    (dict(shared=1), 'shared'),
    (dict(exchange='no'), 'exchange'),
    (dict(update_source='input'), 'update_source'),
])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=f'RLAResNet: invalid {arg}='):
        RLAResNet(depth=18, **kwargs)
