"""Layer-RNN: the spatial scan, the L-RNN module, insertion into pre-trained CNNs, the
CIFAR networks and the ResNet variant for detection."""
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.registry import DefaultScope

import mmrla  # noqa: F401
import mmrla.models.backbones.lrnn  # noqa: F401  (registers LRNNNet, LRNNResNet)
from mmrla.models.backbones.lrnn import LRNNNet, LRNNResNet
from mmrla.models.backbones.resnet_body import ResNetBody
from mmrla.models.layers.spatial_rnn import (
    ConvLRNN,
    FeatureFusion,
    LRNNModule,
    SpatialRecurrence,
    SpatialRNN,
    insert_lrnn,
)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """The scans are many small ops: on a busy 2-core machine OpenMP's thread sync
    makes them 10x slower than one thread (restored after this module)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def with_head(backbone, classes=10):
    return n_params(backbone) + backbone.feat_dim * classes + classes


def randomize_norms(model, seed=0):
    """Non-trivial BN statistics and affine parameters (and GRU-free LN gains)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)


# ---- the scan ----------------------------------------------------------------------
def naive_spatial_rnn(rnn, x):
    """Per image, per row (column), per direction, per step: the paper's equation."""
    u = x if rnn.proj is None else rnn.proj(x)
    if rnn.axis == 'vertical':
        u = u.transpose(2, 3)
    n, _, rows, length = u.shape
    d, g = rnn.hidden_channels, rnn.gates
    if rnn.proj is None:
        u_dirs = [u, u]
    else:
        u_dirs = [u[:, :g * d], u[:, g * d:]]
    out = torch.zeros(2, n, d, rows, length, dtype=u.dtype)
    act = F.relu if rnn.activation == 'relu' else torch.tanh
    for k in range(2):
        v = rnn.weight_hh[k]  # (D, G*D): h @ v
        steps = range(length) if k == 0 else range(length - 1, -1, -1)
        for i in range(n):
            for r in range(rows):
                h = torch.zeros(d, dtype=u.dtype)
                for j in steps:
                    uj = u_dirs[k][i, :, r, j]
                    rec = h @ v
                    if rnn.cell == 'rnn':
                        pre = uj + rec
                        if rnn.layer_norm:
                            pre = (pre - pre.mean()) / torch.sqrt(
                                pre.var(unbiased=False) + 1e-5)
                            pre = pre * rnn.ln_weight[k] + rnn.ln_bias[k]
                        h = act(pre)
                    else:  # the paper's eqs. 10-13
                        rr = torch.sigmoid(uj[:d] + rec[:d])
                        z = torch.sigmoid(uj[d:2 * d] + rec[d:2 * d])
                        cand = act(uj[2 * d:] + (h * rr) @ v[:, 2 * d:])
                        h = (1 - z) * cand + z * h
                    out[k, i, :, r, j] = h
    if rnn.merge == 'sum':
        y = out[0] + out[1]
    elif rnn.merge == 'mean':
        y = (out[0] + out[1]) / 2
    else:
        y = torch.cat([out[0], out[1]], dim=1)
    return y.transpose(2, 3) if rnn.axis == 'vertical' else y


@pytest.mark.parametrize('kernel_size', [1, 3])
@pytest.mark.parametrize('cell,layer_norm', [('rnn', True), ('rnn', False),
                                             ('gru', False)])
@pytest.mark.parametrize('axis', ['horizontal', 'vertical'])
def test_scan_equals_naive_per_row_reference(cell, layer_norm, axis,
                                             kernel_size):
    torch.manual_seed(0)
    rnn = SpatialRNN(3, 4, axis=axis, cell=cell, layer_norm=layer_norm,
                     kernel_size=kernel_size)
    if layer_norm:
        with torch.no_grad():
            rnn.ln_weight.uniform_(0.5, 1.5)
            rnn.ln_bias.uniform_(-0.2, 0.2)
    x = torch.randn(2, 3, 5, 6)
    with torch.no_grad():
        torch.testing.assert_close(rnn(x), naive_spatial_rnn(rnn, x),
                                   rtol=1e-5, atol=1e-5)


def test_u_runs_as_a_product_only_for_a_plain_1x1_conv():
    """A plain 1x1 U runs as one matrix product per direction; any other conv
    type (here weight standardisation) runs as its module."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 6)
    plain = SpatialRNN(3, 4, cell='gru')
    ws = SpatialRNN(3, 4, cell='gru', conv_cfg=dict(type='ConvWS'))
    assert plain.u_is_matrix and not ws.u_is_matrix
    ws.load_state_dict(plain.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ws(x), naive_spatial_rnn(ws, x), rtol=1e-5,
                                   atol=1e-5)
        assert not torch.allclose(ws(x), plain(x), atol=1e-3)
        plain.u_is_matrix = False  # the conv computes the same U x + b
        conv_path = plain(x)
        plain.u_is_matrix = True
        torch.testing.assert_close(plain(x), conv_path, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('kernel_size', [1, 3])
@pytest.mark.parametrize('cell,layer_norm', [('rnn', True), ('gru', False)])
@pytest.mark.parametrize('axis', ['horizontal', 'vertical'])
def test_scan_gradients_equal_naive_reference(cell, layer_norm, axis,
                                              kernel_size):
    """The batched scan's backward (the sequence read by unbind) gives the per-row
    loops' gradients, float64, for input and parameters."""
    torch.manual_seed(0)
    rnn = SpatialRNN(3, 4, axis=axis, cell=cell, layer_norm=layer_norm,
                     kernel_size=kernel_size).double()
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, rnn.out_channels, 5, 6, dtype=torch.float64)
    grads = []
    for forward in (rnn, lambda x: naive_spatial_rnn(rnn, x)):
        rnn.zero_grad()
        x.grad = None
        (forward(x) * weight).sum().backward()
        grads.append([x.grad] + [p.grad for p in rnn.parameters()])
    assert len(grads[0]) == 1 + len(list(rnn.parameters()))
    for ours, naive in zip(*grads):
        torch.testing.assert_close(ours, naive, rtol=1e-10, atol=1e-12)


def test_gru_resets_the_state_before_the_recurrent_product():
    """The paper's eq. 12, h~ = f(x U^h + (s ⊙ r) W^h), one direction of one row
    step by step in float64 with the weights read out of the module; the variant
    that resets after the product (r ⊙ (s W^h), torch's GRU) gives other values."""
    torch.manual_seed(0)
    d, width = 3, 6
    rnn = SpatialRNN(2, d, cell='gru', merge='concat').double()
    x = torch.randn(1, 2, 1, width, dtype=torch.float64)
    w_in = rnn.proj.weight[:3 * d, :, 0, 0]  # forward direction: [r; z; h]
    b_in = rnn.proj.bias[:3 * d]
    w_rec = rnn.weight_hh[0]  # s @ w_rec: [r | z | h]
    u_r, u_z, u_h = (w_in[k * d:(k + 1) * d] for k in range(3))
    b_r, b_z, b_h = (b_in[k * d:(k + 1) * d] for k in range(3))
    w_r, w_z, w_h = (w_rec[:, k * d:(k + 1) * d] for k in range(3))

    def scan(reset_first):
        s, out = torch.zeros(d, dtype=torch.float64), []
        for t in range(width):
            xt = x[0, :, 0, t]
            z = torch.sigmoid(u_z @ xt + b_z + s @ w_z)  # eq. 10
            r = torch.sigmoid(u_r @ xt + b_r + s @ w_r)  # eq. 11
            rec = (s * r) @ w_h if reset_first else r * (s @ w_h)
            h = F.relu(u_h @ xt + b_h + rec)  # eq. 12
            s = (1 - z) * h + z * s  # eq. 13
            out.append(s)
        return torch.stack(out, dim=-1)

    with torch.no_grad():
        ours = rnn(x)[0, :d, 0]  # the forward direction's map
        paper, after = scan(True), scan(False)
    torch.testing.assert_close(ours, paper, rtol=1e-12, atol=1e-12)
    assert (ours - after).abs().max() > 1e-3


@pytest.mark.parametrize('merge', ['sum', 'mean', 'concat'])
def test_merges_and_shared_input(merge):
    torch.manual_seed(0)
    rnn = SpatialRNN(4, 4, axis='vertical', merge=merge, input_proj=False,
                     activation='tanh')
    x = torch.randn(2, 4, 7, 3)
    y = rnn(x)
    assert y.shape == (2, rnn.out_channels, 7, 3)
    assert rnn.out_channels == (8 if merge == 'concat' else 4)
    with torch.no_grad():
        torch.testing.assert_close(y, naive_spatial_rnn(rnn, x))


def test_bidirectional_sum_is_forward_plus_backward():
    torch.manual_seed(0)
    cat = SpatialRNN(3, 5, cell='gru', merge='concat')
    total = SpatialRNN(3, 5, cell='gru', merge='sum')
    total.load_state_dict(cat.state_dict())
    x = torch.randn(2, 3, 4, 6)
    fwd, bwd = cat(x).split(5, dim=1)
    torch.testing.assert_close(total(x), fwd + bwd)
    # the forward direction at column j sees columns <= j only, the backward >= j
    x2 = x.clone()
    x2[..., -1] += 1
    fwd2, bwd2 = cat(x2).split(5, dim=1)
    assert torch.equal(fwd2[..., :-1], fwd[..., :-1])
    assert not torch.allclose(bwd2[..., 0], bwd[..., 0])
    x3 = x.clone()
    x3[..., 0] += 1
    fwd3, bwd3 = cat(x3).split(5, dim=1)
    assert torch.equal(bwd3[..., 1:], bwd[..., 1:])
    assert not torch.allclose(fwd3[..., -1], fwd[..., -1])
    # rows are independent sequences
    x4 = x.clone()
    x4[:, :, 0] += 1
    assert torch.equal(cat(x4)[:, :, 1:], cat(x)[:, :, 1:])


@pytest.mark.parametrize('axis,steps', [('horizontal', 7), ('vertical', 5)])
def test_loop_runs_along_the_scanned_axis_only(axis, steps, monkeypatch):
    """One step per column (row): every row (column) of every image at once."""
    rnn = SpatialRNN(3, 4, axis=axis)
    shapes = []
    step = rnn._rnn_step

    def spy(u, h):
        shapes.append(tuple(u.shape))
        return step(u, h)

    monkeypatch.setattr(rnn, '_rnn_step', spy)
    rnn(torch.randn(3, 3, 5, 7))
    assert len(shapes) == steps
    rows = 5 if axis == 'horizontal' else 7
    assert set(shapes) == {(2, 3 * rows, 4)}  # (directions, N * rows, D)


# ---- the L-RNN module and fusion ---------------------------------------------------
def test_lrnn_module_is_horizontal_then_vertical():
    torch.manual_seed(0)
    m = LRNNModule(6, 4, fusion='forward')
    x = torch.randn(2, 6, 5, 7)
    torch.testing.assert_close(m(x), m.vertical(m.horizontal(x)))
    assert m.horizontal.axis == 'horizontal' and m.vertical.axis == 'vertical'
    assert m.horizontal.merge == m.vertical.merge == 'sum'
    assert m.horizontal.layer_norm  # vanilla cells: LN by default
    assert not LRNNModule(6, 4, cell='gru').vertical.layer_norm


@pytest.mark.parametrize('cell,gates', [('rnn', 1), ('gru', 3)])
def test_lrnn_module_parameter_count(cell, gates):
    d, D = 6, 4
    m = LRNNModule(d, D, cell=cell)
    # per direction: U (D x d), V (D x D), b (D); LN: gain and bias instead of b
    b = 2 * D if cell == 'rnn' else D
    per_dir_h = gates * (d * D + D * D) + (b if cell == 'rnn' else gates * b)
    per_dir_v = gates * (D * D + D * D) + (b if cell == 'rnn' else gates * b)
    assert n_params(m) == 2 * per_dir_h + 2 * per_dir_v


@pytest.mark.parametrize('mode,channels', [('forward', 4), ('sum', 4),
                                           ('concat', 10)])
def test_fusion_modes(mode, channels):
    torch.manual_seed(0)
    m = LRNNModule(6, 4, fusion=mode)
    x = torch.randn(2, 6, 3, 5)
    y = m(x)
    assert m.out_channels == channels and y.shape == (2, channels, 3, 5)
    if mode != 'sum':
        branch = m.branch(x)
    if mode == 'forward':
        torch.testing.assert_close(y, branch)
    elif mode == 'concat':
        assert torch.equal(y[:, :6], x)
        torch.testing.assert_close(y[:, 6:], branch)
    else:  # a 1x1 conv lifts 6 -> 4 channels; the passes read the lifted map
        lift = m.fusion.projection
        assert lift.kernel_size == (1, 1) and lift.bias is None
        assert m.horizontal.in_channels == 4
        torch.testing.assert_close(y, lift(x) + m.branch(lift(x)))
    same = FeatureFusion(4, 4, 'sum')
    assert same.projection is None and same.branch_in_channels == 4
    a = torch.randn(1, 4, 2, 2)
    assert torch.equal(same(a, torch.sin), a + torch.sin(a))


# ---- insertion into a pre-trained CNN ----------------------------------------------
def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(6, 4))


@pytest.mark.parametrize('train', [False, True])
def test_insert_lrnn_leaves_outputs_identical(train):
    torch.manual_seed(0)
    net = small_cnn()
    randomize_norms(net)
    x = torch.randn(3, 3, 9, 11)
    net.train(train)
    ref = net(x)
    first = insert_lrnn(net, '0', norm='1')  # conv -> BN -> ReLU
    second = insert_lrnn(net, '3')  # conv -> ReLU
    assert isinstance(net[0], ConvLRNN) and isinstance(net[1], nn.Identity)
    assert isinstance(net[3], ConvLRNN)
    assert 'lrnn.passes.0.weight_hh' in dict(first.named_parameters())
    assert torch.equal(net(x), ref)
    # V is zero, yet trainable: the first step of fine-tuning moves it
    net(x).sum().backward()
    for m in (first, second):
        for rnn in m.lrnn.passes:
            assert not rnn.weight_hh.any()
            assert rnn.weight_hh.grad is not None and rnn.weight_hh.grad.any()
    with torch.no_grad():
        second.lrnn.passes[1].weight_hh.normal_()
    assert not torch.allclose(net(x), ref)


def test_spatial_recurrence_is_relu_at_zero_v():
    rec = SpatialRecurrence(5)
    p = torch.randn(2, 5, 4, 7)
    assert torch.equal(rec(p), F.relu(p))
    assert n_params(rec) == 2 * 2 * 5 * 5  # V only: no U, no b
    assert torch.equal(SpatialRecurrence(5, axes=['vertical'])(p), F.relu(p))


# ---- the CIFAR networks ------------------------------------------------------------
# Table 2 of the paper: every CIFAR-10 row, its config, our exact count (10-way
# classifier included), the paper's count (in M, as printed) and conv layers
TABLE2 = [
    ('baseline-cnn', 'rnn', 1_557_066, '1.56', 7),
    ('a-concat', 'rnn', 902_730, '0.9', 5),
    ('a-forward', 'gru', 1_679_434, '1.68', 5),
    ('a-concat', 'gru', 1_952_330, '1.95', 5),
    ('a-sum', 'gru', 1_990_730, '1.99', 5),
    ('b', 'gru', 2_321_738, '2.3', 9),
    ('b', 'rnn', 1_272_138, '1.27', 9),
    ('c', 'gru', 2_493_258, '2.5', 13),
    ('d', 'gru', 2_949_962, '3', 19),
    ('e', 'rnn', 966_218, '0.97', 7),
    ('f', 'rnn', 1_537_866, '1.55', 15),
]


def conv3x3_count(model):
    return sum(
        isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
        for m in model.modules())


@pytest.mark.parametrize('arch,cell,ours,paper,convs', TABLE2)
def test_parameter_counts_against_the_paper(arch, cell, ours, paper, convs):
    """Exact counts, and each within the rounding of the printed figure: half a
    unit of its last digit, except F (1,537,866 prints as 1.54M: -0.8 %; the
    README's departures)."""
    model = LRNNNet(arch, cell=cell)
    assert with_head(model) == ours
    assert conv3x3_count(model) == convs
    decimals = len(paper.partition('.')[2])
    half_unit = 0.5 * 10**-decimals
    if arch == 'f':
        assert abs(ours / 1e6 - float(paper)) / float(paper) < 0.01
    else:
        assert abs(ours / 1e6 - float(paper)) <= half_unit


@pytest.mark.parametrize('arch,cell,ours,paper,convs', TABLE2)
def test_each_table2_row_has_its_config(arch, cell, ours, paper, convs):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    row = arch if arch == 'baseline-cnn' else f'{arch}-{cell}'  # no cell there
    path = (Path(__file__).parents[2] / 'configs' / 'lrnn' /
            f'lrnn-{row}-max_1xb128_cifar10.py')
    cfg = Config.fromfile(str(path))
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.cell,
            backbone.global_pool) == (arch, cell, 'max')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    assert n_params(model) == ours


def test_table1_layouts_where_table2_disagrees():
    """The literal Table 1 layouts of C, D and F (README: departures): 2.69M, 3.72M
    and 1.39M parameters against Table 2's 2.5M, 3M and 1.55M."""
    zoo = LRNNNet.arch_zoo
    c = [list(layer) for layer in zoo['c']]
    c[6][2] = 'concat'
    d = [list(layer) for layer in zoo['d']]
    for i in (3, 4, 5):
        d[i][1] = 128
    f = [list(layer) for layer in zoo['f'][:-1]]
    counts = [with_head(LRNNNet(layers, cell=cell))
              for layers, cell in ((c, 'gru'), (d, 'gru'), (f, 'rnn'))]
    assert counts == [2_691_146, 3_724_874, 1_390_026]


@pytest.mark.parametrize('arch,feat_dim,fusions', [
    ('baseline-cnn', 512, {'concat'}),
    ('a-forward', 256, {'forward'}),
    ('a-concat', 512, {'concat'}),
    ('a-sum', 256, {'sum'}),
    ('b', 512, {'forward', 'concat'}),
    ('c', 384, {'forward', 'concat'}),
    ('d', 512, {'forward', 'concat'}),
    ('e', 256, {'forward', 'concat'}),
    ('f', 128, {'forward', 'concat'}),
])
def test_architectures(arch, feat_dim, fusions):
    model = LRNNNet(arch)
    assert model.feat_dim == feat_dim
    assert {layer[2] for layer in model.arch if layer[0] != 'pool'} == fusions
    lrnns = [m for m in model.modules() if isinstance(m, LRNNModule)]
    # A-D end with one L-RNN module; E and F interleave them with CNN modules
    assert len(lrnns) == {'baseline-cnn': 0, 'e': 2, 'f': 5}.get(arch, 1)
    if arch.startswith('a-') or arch in ('b', 'c', 'd'):
        assert isinstance(model.layers[-1], LRNNModule)
    if arch in ('e', 'f'):  # every L-RNN forwards; every CNN module concatenates
        assert all(layer[2] == ('forward' if layer[0] == 'lrnn' else 'concat')
                   for layer in model.arch if layer[0] != 'pool')
    # the paper's spelling names the same network
    assert LRNNNet(arch.upper()).arch == model.arch


def test_a_sum_lifts_the_module_input():
    """A-Sum: the 1x1 convs (64 -> 128 before the second CNN module, 128 -> 256
    before the L-RNN) lift the input and the module reads the lifted map."""
    model = LRNNNet('a-sum', cell='gru')
    lifts = [m.fusion.projection for m in model.layers
             if hasattr(m, 'fusion') and m.fusion.projection is not None]
    assert [(p.in_channels, p.out_channels) for p in lifts] == [(64, 128),
                                                                 (128, 256)]
    assert model.layers[2].convs[0].in_channels == 128
    assert model.layers[4].horizontal.in_channels == 256


@pytest.mark.parametrize('size', [(17, 33), (1, 1), (5, 2)])
def test_any_input_size(size):
    model = LRNNNet('f').eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, *size))
    assert len(out) == 1 and out[0].shape == (1, 128, 1, 1)
    fmap = LRNNNet('e', cell='gru', global_pool=None).eval()(
        torch.rand(1, 3, *size))[0]
    # two 2x2 max-poolings with ceil_mode
    assert fmap.shape == (1, 256, *(math.ceil(math.ceil(s / 2) / 2)
                                    for s in size))


def test_pooling_and_dropout():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16)
    model = LRNNNet('a-concat', global_pool='avg', dropout=0.5)
    fmap = LRNNNet('a-concat', global_pool=None)
    fmap.load_state_dict(model.state_dict())
    model.eval(), fmap.eval()
    torch.testing.assert_close(model(x)[0], fmap(x)[0].mean((2, 3), True))
    model.global_pool = 'max'
    torch.testing.assert_close(model(x)[0], fmap(x)[0].amax((2, 3), True))
    assert isinstance(model.dropout, nn.Dropout) and model.dropout.p == 0.5
    assert isinstance(LRNNNet('b', dropout=0).dropout, nn.Identity)
    assert isinstance(fmap.dropout, nn.Identity)  # no pooling, no dropout


def test_custom_arch_and_classifier():
    from mmpretrain.models import ImageClassifier
    arch = [['cnn', 8, 'concat'], ['pool'], ['lrnn', 6, 'sum']]
    backbone = LRNNNet(arch, stem_channels=4)
    assert backbone.feat_dim == 6
    model = ImageClassifier(
        backbone=dict(type='LRNNNet', arch=arch, stem_channels=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=6))
    assert model(torch.rand(2, 3, 15, 9), mode='tensor').shape == (2, 10)


# ---- the ResNet variant (detection) ------------------------------------------------
@pytest.fixture(scope='module')
def resnet_pair():
    """ResNetBody-50 with non-trivial BN, and upstream ResNet-50 with its weights."""
    from mmpretrain.models import ResNet
    torch.manual_seed(0)
    plain = ResNetBody(50, out_indices=(0, 1, 2, 3))
    randomize_norms(plain)
    upstream = ResNet(50, out_indices=(0, 1, 2, 3))
    upstream.load_state_dict(plain.state_dict())
    return plain, upstream


@pytest.mark.parametrize('position', ['output', 'mid'])
def test_lrnn_resnet50_equals_resnet50_at_init(resnet_pair, position):
    plain, upstream = resnet_pair
    model = LRNNResNet(50, lrnn_position=position, out_indices=(0, 1, 2, 3))
    missing, unexpected = model.load_state_dict(plain.state_dict(),
                                                strict=False)
    assert not unexpected
    assert set(missing) == {
        f'lrnn{s}.passes.{i}.weight_hh'
        for s in (3, 4) for i in (0, 1)
    }
    x = torch.rand(2, 3, 41, 37)
    for train in (False, True):  # batch statistics too
        for m in (model, plain, upstream):
            m.train(train)
        with torch.no_grad():
            outs, ref, up = model(x), plain(x), upstream(x)
        assert all(torch.equal(a, b) for a, b in zip(outs, ref))
        assert all(torch.equal(a, b) for a, b in zip(outs, up))
    # the L-RNNs are live: a non-zero V changes stages 3 and 4 only
    with torch.no_grad():
        model.lrnn3.passes[0].weight_hh.normal_(std=0.01)
        outs = model.eval()(x)
    plain.eval()
    with torch.no_grad():
        ref = plain(x)
    assert torch.equal(outs[1], ref[1]) and not torch.equal(outs[2], ref[2])


def test_lrnn_resnet_parameters_and_names():
    plain = ResNetBody(50)
    out = LRNNResNet(50)
    mid = LRNNResNet(50, lrnn_position='mid')
    assert n_params(out) - n_params(plain) == 4 * (1024**2 + 2048**2)
    assert n_params(mid) - n_params(plain) == 4 * (256**2 + 512**2)
    extra = set(out.state_dict()) - set(plain.state_dict())
    assert set(plain.state_dict()) <= set(out.state_dict())
    assert all(k.startswith(('lrnn3.', 'lrnn4.')) for k in extra)
    basic = LRNNResNet(18, lrnn_stages=(False, True, False, True),
                       lrnn_position='mid')
    assert basic.lrnn2.channels == 128 and basic.lrnn4.channels == 512
    assert not hasattr(basic, 'lrnn3')


def test_lrnn_resnet_loads_an_imagenet_checkpoint(tmp_path):
    """The config's init: an mmpretrain ResNet-50 checkpoint, prefix 'backbone.'."""
    torch.manual_seed(0)
    plain = ResNetBody(50, stage_blocks=(1, 1, 1, 1),
                       out_indices=(0, 1, 2, 3))
    randomize_norms(plain)
    ckpt = tmp_path / 'resnet50.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in plain.state_dict().items()
            }
        }, ckpt)
    model = LRNNResNet(
        50, stage_blocks=(1, 1, 1, 1), out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                      prefix='backbone.'))
    model.init_weights()
    assert not model.lrnn4.passes[1].weight_hh.any()
    x = torch.rand(1, 3, 48, 40)
    with torch.no_grad():
        assert all(
            torch.equal(a, b)
            for a, b in zip(model.eval()(x), plain.eval()(x)))


def test_frozen_stages_freeze_the_stage_lrnn():
    model = LRNNResNet(50, stage_blocks=(1, 1, 1, 1), frozen_stages=3,
                       lrnn_position='mid').train()
    assert not any(p.requires_grad for p in model.lrnn3.parameters())
    assert all(p.requires_grad for p in model.lrnn4.parameters())


# ---- arguments and registries ------------------------------------------------------
@pytest.mark.parametrize('cls,args,kwargs,arg', [
    (LRNNNet, (), dict(arch='G'), 'arch'),
    (LRNNNet, (), dict(arch='A'), 'arch'),  # three A networks: name one
    (LRNNNet, (), dict(arch=[['cnn', 8]]), 'arch'),
    (LRNNNet, (), dict(arch=[['lrnn', 0, 'sum']]), 'arch'),
    (LRNNNet, (), dict(arch=[['pool', 2]]), 'arch'),
    (LRNNNet, (), dict(arch=[]), 'arch'),
    (LRNNNet, (), dict(cell='lstm'), 'cell'),
    (LRNNNet, (), dict(cell='gru', layer_norm=True), 'layer_norm'),
    (LRNNNet, (), dict(global_pool='sum'), 'global_pool'),
    (LRNNNet, (), dict(dropout=1.0), 'dropout'),
    (LRNNNet, (), dict(stem_channels=0), 'stem_channels'),
    (LRNNResNet, (50, ), dict(lrnn_stages=(True, False)), 'lrnn_stages'),
    (LRNNResNet, (50, ), dict(lrnn_stages=(1, 0, 1, 1)), 'lrnn_stages'),
    (LRNNResNet, (50, ), dict(lrnn_position='end'), 'lrnn_position'),
    (LRNNResNet, (50, ), dict(preact=True), 'preact'),
    (LRNNResNet, (51, ), dict(), 'depth'),
    (SpatialRNN, (3, 4), dict(axis='diagonal'), 'axis'),
    (SpatialRNN, (3, 4), dict(cell='gru', layer_norm=True), 'layer_norm'),
    (SpatialRNN, (3, 4), dict(merge='max'), 'merge'),
    (SpatialRNN, (3, 4), dict(activation='gelu'), 'activation'),
    (SpatialRNN, (3, 4), dict(kernel_size=2), 'kernel_size'),
    (SpatialRNN, (3, 4), dict(input_proj=False), 'in_channels'),
    (SpatialRNN, (3, 4), dict(cell='gru', recurrent_init='identity'),
     'recurrent_init'),
    (SpatialRNN, (3, 0), dict(), 'hidden_channels'),
    (LRNNModule, (3, 4), dict(fusion='mul'), 'fusion'),
    (SpatialRecurrence, (4, ), dict(axes='horizontal'), 'axes'),
])
def test_bad_arguments_name_the_field(cls, args, kwargs, arg):
    with pytest.raises(ValueError,
                       match=f'^{cls.__name__}: invalid {arg}=.*; expected'):
        cls(*args, **kwargs)


def test_bad_arch_name_lists_the_catalogue():
    with pytest.raises(ValueError, match="invalid arch='A-RNN'") as err:
        LRNNNet('A-RNN')
    assert all(repr(name) in str(err.value) for name in LRNNNet.arch_zoo)


def test_bad_insertion_names_the_field():
    with pytest.raises(ValueError, match="insert_lrnn: invalid conv='9'"):
        insert_lrnn(small_cnn(), '9')
    with pytest.raises(ValueError, match="insert_lrnn: invalid norm='x.y'"):
        insert_lrnn(small_cnn(), '0', norm='x.y')
    with pytest.raises(ValueError, match='ConvLRNN: invalid conv='):
        ConvLRNN(nn.ReLU())


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_both_registries(scope):
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        net = MODELS.build(dict(type='LRNNNet', arch='a-forward'))
        res = MODELS.build(
            dict(type='LRNNResNet', depth=18, lrnn_position='mid',
                 out_indices=(0, 1, 2, 3)))
    assert type(net) is LRNNNet and type(res) is LRNNResNet
    assert net.eval()(torch.rand(1, 3, 32, 32))[0].shape == (1, 256, 1, 1)
    outs = res.eval()(torch.rand(1, 3, 33, 47))
    assert [o.shape[1] for o in outs] == [64, 128, 256, 512]
