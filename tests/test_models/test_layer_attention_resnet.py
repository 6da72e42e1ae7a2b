"""LayerAttentionResNet: the paper's formulas, alphas, contexts, freezing."""
import pytest
import torch

from mmengine.config import Config
from mmpretrain.models.utils import SELayer

from conftest import REPO
from mmrla.models import (
    LayerAttentionResNet,
    LayerContext,
    ResNetBody,
    resample_channels,
)
from mmrla.models.layers import LSTMCell


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('depth,r,n_ctx', [(18, 8, 512), (50, 8, 1024),
                                           (101, 16, 1024)])
def test_parameters_follow_the_papers_formula(depth, r, n_ctx):
    model = LayerAttentionResNet(depth, lstm_channels=512, reduction=r)
    M, N, L = 512, model.context_channels, sum(model.stage_blocks)
    assert N == n_ctx  # the width most blocks share (ResNet-18: tie -> widest)
    formula = 4 * (M * M + N * M + M) + L * (M * M + M) // r
    assert n_params(model) - n_params(ResNetBody(depth)) == formula


def build_config(name):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(REPO / 'configs/rla_attention' / name))
    return cfg, MODELS.build(cfg.model)


def with_head(body, classes):
    return n_params(body) + body.feat_dim * classes + classes


@pytest.mark.parametrize('depth,name,params,paper,paper_share', [
    # Table 2 (top right): params in M (the paper prints them a factor 10
    # low, e.g. ResNet-50 "2.555M"), the share added to the ResNet in %
    (18, 'rla-attention-resnet18_8xb32_in1k.py', 11_903_144, 11.90, 1.83),
    (50, 'rla-attention-resnet50_8xb32_in1k.py', 28_967_464, 28.97, 13.35),
    (101, 'rla-attention-resnet101_8xb32_in1k.py', 48_238_664, 48.24, 8.29),
])
def test_imagenet_configs_have_table_2s_counts(depth, name, params, paper,
                                               paper_share):
    """RLA-50 and RLA-101 with M = 512, r = 16 (N = 1024); RLA-18 with M = 128,
    N = 256, r = 8. The paper's own figures round its shares: 13.34 % is
    printed 13.35, 8.28 % as 8.29."""
    _, model = build_config(name)
    assert n_params(model) == params
    assert round(params / 1e6, 2) == paper
    base = with_head(ResNetBody(depth), 1000)
    assert abs(100 * (params - base) / base - paper_share) < 0.015


def test_appendix_c_settings_miss_table_2():
    """Appendix C's r = 8 for RLA-50 gives 29.23M, not 28.97M; M = 512 for
    RLA-18 at least 13.92M, not 11.90M (the LSTM alone is 2.1M)."""
    r8 = with_head(LayerAttentionResNet(50, lstm_channels=512, reduction=8),
                   1000)
    assert r8 == 29_230_120
    for r in (8, 16):
        rla18 = with_head(
            LayerAttentionResNet(18, lstm_channels=512, reduction=r), 1000)
        assert rla18 >= 13_920_040


# Table 1 (ResNet-56, CIFAR-10): the parameters the paper adds, in millions, as the
# difference of two printed counts rounded to 1k: the interval it allows
TABLE_1 = {
    'rla-attention-resnet56_1xb128_cifar10.py': (0.864 - 0.862, 1_374),
    'rla-attention-gmp-resnet56_1xb128_cifar10.py': (0.864 - 0.862, 1_374),
    'ia-rla-attention-resnet56_1xb128_cifar10.py': (0.870 - 0.862, 8_493),
    'rla-attention-vector-resnet56_1xb128_cifar10.py': (0.876 - 0.862, 14_288),
    'rla-attention-gap-mlp-resnet56_1xb128_cifar10.py': (0.871 - 0.862, 8_493),
    'rla-attention-gmp-mlp-resnet56_1xb128_cifar10.py': (0.871 - 0.862, 8_493),
}


@pytest.mark.parametrize('name', sorted(TABLE_1))
def test_cifar_ablation_configs_add_table_1s_parameters(name):
    paper, added = TABLE_1[name]
    _, model = build_config(name)
    ours = n_params(model) - with_head(ResNetBody(56, stem_type='cifar'), 10)
    assert ours == added
    assert abs(ours / 1e6 - paper) <= 0.001 + 1e-9


def test_ia_rla_se_is_the_papers_plain_se():
    """C/16 hidden units (16 -> 1, 32 -> 2, 64 -> 4, with biases): 791
    parameters per block triple, 7,119 on ResNet-56 (Table 1: 0.870M -
    0.864M); mmpretrain's default divisor=8 (8 hidden units everywhere) adds
    17,352. Table 2's SE-20/32/44 shares, 0.86/0.84/0.83 %, are this SE."""
    _, model = build_config('ia-rla-attention-resnet56_1xb128_cifar10.py')
    assert [b.attn.conv1.conv.out_channels
            for b in (model.backbone.layer1[0], model.backbone.layer2[0],
                      model.backbone.layer3[0])] == [1, 2, 4]
    rla = LayerAttentionResNet(56, stem_type='cifar', lstm_channels=4,
                               reduction=2)
    assert n_params(model.backbone) - n_params(rla) == 9 * (49 + 162 + 580)
    for depth, base, share in ((20, 0.275e6, 0.86), (32, 0.471e6, 0.84),
                               (44, 0.667e6, 0.83)):
        se = ResNetBody(depth, stem_type='cifar',
                        attention=dict(type='SE', ratio=16, divisor=1))
        added = n_params(se) - n_params(ResNetBody(depth, stem_type='cifar'))
        assert added == (depth - 2) // 6 * 791
        assert abs(100 * added / base - share) < 0.006


@pytest.mark.parametrize('name', [
    'rla-attention-resnet20_1xb128_cifar10.py',
    'rla-attention-resnet56_1xb128_cifar100.py',
    'rla-attention-vector-resnet56_1xb128_cifar10.py',
])
def test_cifar_recipe(name):
    """Sec. 4.2 / Appendix A: all 50k training images, the 10k test split for
    the curves and the error, Nesterov SGD, 160 epochs, lr / 10 at 80, 120."""
    cfg = Config.fromfile(str(REPO / 'configs/rla_attention' / name))
    train = cfg.train_dataloader.dataset
    assert (train.subset, train.holdout) == ('train', 0)
    assert cfg.val_dataloader.dataset.subset == 'test'
    assert cfg.test_dataloader.dataset.subset == 'test'
    assert cfg.optim_wrapper.optimizer.nesterov is True
    assert cfg.param_scheduler.milestones == [80, 120]
    assert cfg.train_cfg.max_epochs == 160
    in1k = Config.fromfile(
        str(REPO / 'configs/rla_attention/rla-attention-resnet50_8xb32_in1k.py'))
    assert in1k.optim_wrapper.optimizer.nesterov is True


def test_alphas_shape_range_and_hooks():
    model = LayerAttentionResNet(56, stem_type='cifar', lstm_channels=4,
                                 reduction=2).eval()
    seen = []
    model.attention_heads[5].register_forward_hook(
        lambda m, i, o: seen.append(o))
    out = model(torch.rand(3, 3, 32, 32))[0]
    assert out.shape == (3, 64, 8, 8)
    alphas = model.last_attention
    assert len(alphas) == 27
    assert all(a.shape == (3, 1) for a in alphas)
    stacked = torch.cat(alphas)
    assert stacked.min() >= 0 and stacked.max() <= 1
    torch.testing.assert_close(seen[0], alphas[5])
    assert not alphas[0].requires_grad


def test_rla_vector_gives_a_channel_vector_per_block():
    model = LayerAttentionResNet(20, stem_type='cifar', lstm_channels=32,
                                 reduction=2, vector=True).eval()
    model(torch.rand(2, 3, 32, 32))
    assert [a.shape[1] for a in model.last_attention] == [16] * 3 + [32] * 3 \
        + [64] * 3


def test_alpha_scales_the_residual_branch():
    """With alpha = 0.5 everywhere, the network is the plain body whose blocks' last
    BN affine is halved."""
    torch.manual_seed(0)
    model = LayerAttentionResNet(20, stem_type='cifar', lstm_channels=4,
                                 reduction=2)
    for head in model.attention_heads:
        torch.nn.init.zeros_(head.fc2.weight)  # sigmoid(0) = 0.5
    body = ResNetBody(20, stem_type='cifar')
    missing, unexpected = body.load_state_dict(model.state_dict(),
                                               strict=False)
    assert not missing
    with torch.no_grad():
        for name in body.res_layers:
            for block in getattr(body, name):
                block.norm2.weight.mul_(0.5)
                block.norm2.bias.mul_(0.5)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(model.eval()(x)[0], body.eval()(x)[0])


def test_resample_channels():
    s = torch.arange(8.).view(1, 8)
    torch.testing.assert_close(resample_channels(s, 4),
                               torch.tensor([[0.5, 2.5, 4.5, 6.5]]))
    torch.testing.assert_close(
        resample_channels(torch.tensor([[1., 2.]]), 4),
        torch.tensor([[1., 1., 2., 2.]]))
    assert resample_channels(s, 8) is s


@pytest.mark.parametrize('mode', LayerContext.modes)
def test_contexts(mode):
    ctx = LayerContext(32, 16, mode)
    a = torch.randn(2, 32, 5, 5)
    s = ctx(a)
    assert s.shape == (2, 16)
    if mode == 'gap':
        torch.testing.assert_close(s, resample_channels(a.mean((2, 3)), 16))
    if mode == 'gmp':
        torch.testing.assert_close(s, resample_channels(a.amax((2, 3)), 16))
    assert (ctx.mlp is not None) == mode.endswith('_mlp')
    model = LayerAttentionResNet(20, stem_type='cifar', lstm_channels=4,
                                 reduction=2, context=mode)
    assert model(torch.rand(1, 3, 32, 32))[0].shape == (1, 64, 8, 8)


def test_ia_rla_puts_se_on_every_branch():
    model = LayerAttentionResNet(20, stem_type='cifar', lstm_channels=4,
                                 reduction=2, attention=dict(type='SE'))
    assert all(isinstance(b.attn, SELayer) for b in model.layer3)


def test_frozen_stages_freeze_their_heads_and_the_shared_lstm_last():
    model = LayerAttentionResNet(20, stem_type='cifar', lstm_channels=4,
                                 reduction=2, frozen_stages=1)
    model.train()
    assert not any(p.requires_grad for h in model.attention_heads[:3]
                   for p in h.parameters())
    assert all(p.requires_grad for h in model.attention_heads[3:]
               for p in h.parameters())
    assert all(p.requires_grad for p in model.lstm.parameters())
    model = LayerAttentionResNet(20, stem_type='cifar', lstm_channels=4,
                                 reduction=2, frozen_stages=3)
    assert not any(p.requires_grad for p in model.parameters())


def test_detection_outputs_and_any_size():
    model = LayerAttentionResNet(50, lstm_channels=16, reduction=8,
                                 stage_blocks=(1, 1, 1, 1),
                                 out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(1, 3, 67, 91))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


@pytest.mark.parametrize('kwargs,arg', [
    (dict(lstm_channels=0), 'lstm_channels'),
    (dict(reduction=1024), 'reduction'),
    (dict(context='mean'), 'context'),
    (dict(context_channels=-1), 'context_channels'),
    (dict(vector=1), 'vector'),
])
def test_bad_arguments_name_the_field(kwargs, arg):
    with pytest.raises(ValueError,
                       match=f'LayerAttentionResNet: invalid {arg}='):
        LayerAttentionResNet(20, stem_type='cifar', **kwargs)


def _graph_nodes(tensor):
    """Names of the autograd nodes behind ``tensor``, each node once."""
    seen, todo = set(), [tensor.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            todo.extend(f for f, _ in fn.next_functions)
    return [type(fn).__name__ for fn in seen]


def _unroll(cell, xs, begin):
    h = torch.zeros(2, cell.hidden_size, dtype=torch.double)
    state = cell.begin(h, h) if begin else (h, h)
    hs = []
    for x in xs:
        state = cell(x, state)
        hs.append(state[0])
    return hs, state


def test_lstm_sequence_gives_the_weight_gradient_of_every_step():
    """``begin`` makes the steps share one weight-gradient product; every
    gradient equals per-step autograd's, also when a backward pass stopped
    short of the first step before (its steps must not be counted again)."""
    torch.manual_seed(0)
    cell = LSTMCell(5, 3).double()
    params = list(cell.parameters())
    xs = [torch.randn(2, 5, dtype=torch.double, requires_grad=True)
          for _ in range(4)]
    hs, state = _unroll(cell, xs, begin=True)
    ref_hs, ref_state = _unroll(cell, xs, begin=False)
    assert len(state) == 3 and len(ref_state) == 2
    assert _graph_nodes(hs[-1]).count('_SequenceLinearBackward') == 4
    assert _graph_nodes(ref_hs[-1]).count('_SequenceLinearBackward') == 0
    for a, b in zip(hs, ref_hs):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    def loss(hs):
        return sum(w * h.sum() for w, h in zip((1., -2., 3., .5), hs))

    grads = torch.autograd.grad(loss(hs), params + xs, retain_graph=True)
    ref = torch.autograd.grad(loss(ref_hs), params + xs, retain_graph=True)
    for a, b in zip(grads, ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # a pass that ends at step 3, then one that covers steps 0 and 1 only
    torch.autograd.grad(hs[3].sum(), xs[3], retain_graph=True)
    grads = torch.autograd.grad(hs[1].sum(), params, retain_graph=True)
    ref = torch.autograd.grad(ref_hs[1].sum(), params)
    for a, b in zip(grads, ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # a frozen weight: the bias still gets all of its gradient
    cell.linear.weight.requires_grad_(False)
    hs, _ = _unroll(cell, xs, begin=True)
    ref_hs, _ = _unroll(cell, xs, begin=False)
    bias, = torch.autograd.grad(loss(hs), cell.linear.bias)
    ref_bias, = torch.autograd.grad(loss(ref_hs), cell.linear.bias)
    torch.testing.assert_close(bias, ref_bias, rtol=0, atol=1e-12)


def test_gate_product_is_linear_with_the_weight_on_the_left():
    """The gates' product is ``F.linear`` in values and gradients; on CPU it
    is the transpose of ``weight @ input^T`` (the faster product for a few rows);
    tracers and function modes (the paper-unit counter) see ``F.linear``."""
    from torch.overrides import TorchFunctionMode

    from mmrla.models.layers.lstm import gate_product
    torch.manual_seed(0)
    x = torch.randn(3, 6, dtype=torch.double, requires_grad=True)
    w = torch.randn(8, 6, dtype=torch.double, requires_grad=True)
    b = torch.randn(8, dtype=torch.double, requires_grad=True)
    for bias in (b, None):
        out = gate_product(x, w, bias)
        assert out.shape == (3, 8) and out.t().is_contiguous()
        torch.testing.assert_close(
            out, torch.nn.functional.linear(x, w, bias), rtol=1e-14, atol=0)
        assert torch.autograd.gradcheck(
            lambda *t: gate_product(*t), (x, w, bias))
    x32, w32, b32 = x.detach().float(), w.detach().float(), b.detach().float()
    torch.testing.assert_close(
        gate_product(x32, w32, b32),
        torch.nn.functional.linear(x32, w32, b32))

    class Seen(TorchFunctionMode):

        def __init__(self):
            super().__init__()
            self.funcs = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.funcs.append(func)
            return func(*args, **(kwargs or {}))

    with Seen() as seen:
        out = gate_product(x32, w32, b32)
    assert torch.nn.functional.linear in seen.funcs
    assert torch.addmm not in seen.funcs
    assert out.is_contiguous()


def _plain_reads(patch):
    """Layer contexts without the link: autograd's own backward of the merge."""
    patch.setattr(LayerContext, 'read', lambda self, a: (self(a), None))


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(vector=True),
    dict(context='gap_mlp'),
    dict(context='gmp'),  # max pooling: no link, autograd's backward
    dict(preact=True),
    dict(with_cp=True),
    dict(drop_path_rate=0.3),  # the branch is scaled first: no link used
])
def test_branch_gradient_in_one_pass_keeps_gradients(kwargs):
    """The merge's backward leaves the branch's gradient to the context's
    pooling (``scaled_residual``): values and float64 gradients of every
    parameter and of the input as autograd's own."""
    torch.manual_seed(0)
    model = LayerAttentionResNet(
        20, stem_type='cifar', lstm_channels=6, reduction=2, **kwargs).double()
    model.train()
    x = torch.randn(2, 3, 16, 12, dtype=torch.double, requires_grad=True)
    params = [p for p in model.parameters() if p.requires_grad]

    def run():
        torch.manual_seed(1)  # the same drop-path draws
        out = model(x)[-1]
        w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype)
        loss = (out * w.view_as(out)).sum()
        return out, torch.autograd.grad(loss, [x] + params)

    out, grads = run()
    with pytest.MonkeyPatch.context() as patch:
        _plain_reads(patch)
        ref_out, ref_grads = run()
    torch.testing.assert_close(out, ref_out, rtol=0, atol=0)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-13)


def test_scaled_residual_with_link_writes_the_branch_gradient_once():
    """The fused pair: the addition's node gives the branch no gradient, the
    pooling's gives all of it; a pass that needs only the scale's inputs,
    a repeated pass (retain_graph) and a scale without gradient all get
    autograd's gradients."""
    from mmrla.models.layers import pool_for_scale, scaled_residual
    torch.manual_seed(0)
    branch = torch.randn(2, 3, 4, 5, dtype=torch.double, requires_grad=True)
    identity = torch.randn(2, 3, 4, 5, dtype=torch.double, requires_grad=True)
    w = torch.randn(3, dtype=torch.double, requires_grad=True)

    def scale_of(pooled):
        return torch.sigmoid((pooled.flatten(1) * w).sum(1))[:, None, None,
                                                              None]

    def fused():
        pooled, link = pool_for_scale(branch)
        assert link is not None
        return scaled_residual(branch, identity, scale_of(pooled), link)

    def plain():
        pooled = torch.nn.functional.adaptive_avg_pool2d(branch, 1)
        return torch.relu(scale_of(pooled) * branch + identity)

    out, ref = fused(), plain()
    torch.testing.assert_close(out, ref, rtol=1e-15, atol=1e-15)
    assert out.grad_fn.name() == '_ScaledResidualBackward'
    inputs = [branch, identity, w]
    for _ in range(2):  # the second pass reuses the graph
        grads = torch.autograd.grad(out.square().sum(), inputs,
                                    retain_graph=True)
        ref_grads = torch.autograd.grad(ref.square().sum(), inputs,
                                        retain_graph=True)
        for g, r in zip(grads, ref_grads):
            torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-14)
    g, = torch.autograd.grad(out.sum(), w, retain_graph=True)
    torch.testing.assert_close(g, torch.autograd.grad(ref.sum(), w)[0])
    # a scale without gradient: autograd's addcmul gives the branch its share
    pooled, link = pool_for_scale(branch)
    scale = scale_of(pooled).detach()
    out = scaled_residual(branch, identity, scale, link)
    assert out.grad_fn.name() != '_ScaledResidualBackward'
    g, = torch.autograd.grad(out.sum() + pooled.sum(), branch)
    torch.testing.assert_close(g, (scale * (out > 0) + 1 / 20).expand_as(g))
    with torch.no_grad():  # no gradient: no link, autograd's ops
        assert pool_for_scale(branch)[1] is None
