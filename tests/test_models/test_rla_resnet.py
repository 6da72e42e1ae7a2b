import pytest
import torch

from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from mmrla.models import RLABasicBlock, RLABottleneck, RLAResNet
from mmrla.models.layers import ECALayer, eca_adaptive_kernel_size

DEPTHS = {18: RLABasicBlock, 34: RLABasicBlock, 50: RLABottleneck,
          101: RLABottleneck, 152: RLABottleneck}
# Small bodies keep the suite fast; block type and widths follow the depth.
SMALL_BLOCKS = (1, 1, 2, 1)
ATTENTIONS = {
    'none': None,
    'eca': dict(type='ECA', kernel_size=[3, 5, 5, 7]),
    'eca_adaptive': dict(type='ECA', kernel_size='adaptive'),
    'se': dict(type='SE', ratio=16),
}


def count_params(module):
    return sum(p.numel() for p in module.parameters())


def expected_sizes(h, w):
    """Spatial sizes of a plain ImageNet-style ResNet's 4 stage outputs."""
    conv = lambda n, k, s, p: (n + 2 * p - k) // s + 1  # noqa: E731
    h, w = conv(h, 7, 2, 3), conv(w, 7, 2, 3)
    h, w = conv(h, 3, 2, 1), conv(w, 3, 2, 1)
    sizes = [(h, w)]
    for _ in range(3):
        h, w = conv(h, 3, 2, 1), conv(w, 3, 2, 1)
        sizes.append((h, w))
    return sizes


@pytest.mark.parametrize('depth', sorted(DEPTHS))
@pytest.mark.parametrize('attention', sorted(ATTENTIONS))
def test_output_shapes_every_depth_and_attention(depth, attention):
    model = RLAResNet(
        depth,
        stage_blocks=SMALL_BLOCKS,
        attention=ATTENTIONS[attention],
        out_indices=(0, 1, 2, 3)).eval()
    assert all(isinstance(b, DEPTHS[depth]) for b in model.layer1)
    expansion = 1 if depth < 50 else 4
    channels = [64 * expansion * 2**i for i in range(4)]
    for h, w in [(65, 80), (33, 33), (1, 1)]:
        with torch.no_grad():
            outs = model(torch.rand(2, 3, h, w))
        assert len(outs) == 4
        for i, (out, (eh, ew)) in enumerate(zip(outs, expected_sizes(h, w))):
            c = channels[i] + (32 if i == 3 else 0)  # h joins the last output
            assert out.shape == (2, c, eh, ew)
            assert torch.isfinite(out).all()


def test_attention_modules_are_composed_in():
    model = RLAResNet(50, stage_blocks=SMALL_BLOCKS, attention=ATTENTIONS['eca'])
    kernels = [model.layer1[0].attn.kernel_size, model.layer2[0].attn.kernel_size,
               model.layer3[1].attn.kernel_size, model.layer4[0].attn.kernel_size]
    assert kernels == [3, 5, 5, 7]
    adaptive = RLAResNet(50, stage_blocks=SMALL_BLOCKS,
                         attention=ATTENTIONS['eca_adaptive'])
    # ECA-Net's rule on 256..2048 channels gives the official [5, 5, 5, 7].
    assert [getattr(adaptive, f'layer{i}')[0].attn.kernel_size
            for i in range(1, 5)] == [5, 5, 5, 7]
    assert [eca_adaptive_kernel_size(c) for c in (64, 128, 256, 512)] == [
        3, 5, 5, 5]
    assert RLAResNet(18, stage_blocks=SMALL_BLOCKS).layer1[0].attn is None
    se = RLAResNet(50, stage_blocks=SMALL_BLOCKS, attention=ATTENTIONS['se'])
    assert se.layer4[0].attn.conv1.conv.out_channels == 2048 // 16


def test_eca_layer_matches_its_definition():
    torch.manual_seed(0)
    layer = ECALayer(8, kernel_size=3)
    x = torch.randn(2, 8, 5, 4)
    pooled = x.mean(dim=(2, 3))  # (B, C)
    weight = layer.conv.weight.view(3)
    padded = torch.nn.functional.pad(pooled, (1, 1))
    gate = torch.sigmoid(weight[0] * padded[:, :-2] + weight[1] * padded[:, 1:-1]
                         + weight[2] * padded[:, 2:])
    torch.testing.assert_close(layer(x), x * gate[:, :, None, None])


def classifier_params(depth, attention=None):
    backbone = RLAResNet(depth, attention=attention)
    # the official classifier: a 1000-class fc on C + k inputs
    return count_params(backbone) + backbone.feat_dim * 1000 + 1000


@pytest.mark.parametrize('depth,attention,expected', [
    (50, None, 25_870_696),
    (50, dict(type='ECA', kernel_size=[5, 5, 5, 7]), 25_870_782),
    (101, None, 45_003_176),
    (152, None, 60_770_792),
])
def test_parameter_counts_equal_official(depth, attention, expected):
    assert classifier_params(depth, attention) == expected


def test_detection_backbone_drops_h_readout():
    model = RLAResNet(50, h_readout=False, out_indices=(0, 1, 2, 3))
    assert not hasattr(model, 'bn_rla')
    # official mmdet variant: 23,789,632 parameters (no bn2, no fc)
    assert count_params(model) == 23_789_632
    outs = model.eval()(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


def test_resnet_d_and_resnext_options():
    model = RLAResNet(50, stage_blocks=SMALL_BLOCKS, deep_stem=True,
                      avg_down=True, groups=32, width_per_group=4,
                      out_indices=(0, 1, 2, 3)).eval()
    assert model.layer1[0].conv2.groups == 32
    assert model.layer1[0].conv1.in_channels == 64 + 32
    assert model.layer1[0].conv2.in_channels == 32 * 4
    assert isinstance(model.layer2[0].downsample[0], torch.nn.AvgPool2d)
    outs = model(torch.rand(1, 3, 50, 70))
    assert [tuple(o.shape[2:]) for o in outs] == expected_sizes(50, 70)


def test_h_input_and_update_source():
    """Blocks read concat(x, h); 'output' and 'branch' differ only in the update."""
    torch.manual_seed(0)
    official = RLAResNet(18, stage_blocks=(1, 1, 1, 1), rla_channels=8)
    prose = RLAResNet(18, stage_blocks=(1, 1, 1, 1), rla_channels=8,
                      update_source='branch')
    prose.load_state_dict(official.state_dict())
    x = torch.rand(1, 3, 64, 64)
    official.eval(), prose.eval()
    assert official.layer2[0].conv1.in_channels == 64 + 8
    assert not torch.allclose(official(x)[0], prose(x)[0])


def test_autocast_and_dtypes():
    model = RLAResNet(18, stage_blocks=SMALL_BLOCKS).eval()
    x = torch.rand(1, 3, 45, 61)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x)[0]
    assert out.shape == (1, 544, 2, 2) and torch.isfinite(out.float()).all()
    with torch.no_grad():
        out64 = model.double()(x.double())[0]
    assert out64.dtype == torch.float64


def test_frozen_stages_freeze_rla_parts():
    model = RLAResNet(50, stage_blocks=SMALL_BLOCKS, frozen_stages=2)
    model.train()
    for module in (model.conv1, model.bn1, model.layer1, model.layer2,
                   model.rla1, model.rla2):
        assert all(not p.requires_grad for p in module.parameters())
        for m in module.modules():
            if isinstance(m, _BatchNorm):
                assert not m.training
    for module in (model.layer3, model.layer4, model.rla3, model.rla4,
                   model.bn_rla):
        assert all(p.requires_grad for p in module.parameters())
        assert module.training


def test_norm_eval_keeps_every_bn_in_eval():
    model = RLAResNet(50, stage_blocks=SMALL_BLOCKS, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert any(m in bns for m in model.rla3.norms)


def test_with_cp_gives_same_outputs_and_grads():
    torch.manual_seed(0)
    plain = RLAResNet(50, stage_blocks=SMALL_BLOCKS, out_indices=(0, 1, 2, 3))
    cp = RLAResNet(50, stage_blocks=SMALL_BLOCKS, out_indices=(0, 1, 2, 3),
                   with_cp=True)
    cp.load_state_dict(plain.state_dict())
    assert cp.layer1[0].with_cp
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    grads = []
    for model in (plain, cp):
        model.eval()  # BN running stats would otherwise update twice under cp
        x.grad = None
        sum(o.sum() for o in model(x)).backward()
        grads.append(x.grad.clone())
    # the recomputed segments' backward adds the input gradient's terms in another
    # order: float32 rounding relative to the gradient's scale (max |g| ~11; 1.3e-7
    # of it measured on an Intel Xeon, with AVX2 kernels and one thread too), not
    # 1e-5 absolute on elements near zero
    scale = grads[0].abs().max().item()
    torch.testing.assert_close(grads[1], grads[0], rtol=0, atol=1e-5 * scale)


def test_zero_init_residual():
    model = RLAResNet(50, stage_blocks=SMALL_BLOCKS, zero_init_residual=True)
    model.init_weights()
    for layer in (model.layer1, model.layer4):
        for block in layer:
            assert torch.all(block.norm3.weight == 0)
    basic = RLAResNet(18, stage_blocks=SMALL_BLOCKS, zero_init_residual=True)
    basic.init_weights()
    assert torch.all(basic.layer2[0].norm2.weight == 0)
    off = RLAResNet(50, stage_blocks=SMALL_BLOCKS, zero_init_residual=False)
    off.init_weights()
    assert torch.all(off.layer1[0].norm3.weight == 1)


def test_training_step_updates_rla_parts():
    model = RLAResNet(18, stage_blocks=SMALL_BLOCKS).train()
    loss = model(torch.rand(2, 3, 64, 64))[0].mean()
    loss.backward()
    for name in ('rla1.update_conv.weight', 'rla4.recurrent_conv.weight',
                 'bn_rla.weight', 'layer1.0.conv1.weight'):
        assert model.get_parameter(name).grad.abs().sum() > 0, name


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=42), r'depth=42.*\[18, 34, 50, 101, 152\]'),
    (dict(depth=50, rla_channels=0), r'rla_channels=0.*positive int'),
    (dict(depth=50, rla_channels=-3), r'rla_channels=-3'),
    (dict(depth=50, rla_channels=2.5), r'rla_channels=2.5'),
    (dict(depth=50, attention=dict(type='ECA', kernel_size=[5, 5, 7])),
     r'kernel_size=\[5, 5, 7\].*4 odd ints'),
    (dict(depth=50, attention=dict(type='ECA', kernel_size=4)),
     r'kernel_size=4.*odd'),
    (dict(depth=50, attention=dict(type='CBAM')), r"attention=.*'CBAM'"),
    (dict(depth=50, attention='eca'), r"attention='eca'"),
    (dict(depth=50, out_indices=(0, 4)), r'out_indices=\(0, 4\).*0\.\.3'),
    (dict(depth=50, out_indices=()), r'out_indices=\(\)'),
    (dict(depth=50, out_indices=(0, 1)), r'out_indices=.*last stage 3'),
    (dict(depth=50, frozen_stages=5), r'frozen_stages=5.*-1\.\.4'),
    (dict(depth=50, frozen_stages=-2), r'frozen_stages=-2'),
    (dict(depth=50, stage_blocks=(1, 1, 2)), r'stage_blocks=\(1, 1, 2\)'),
    (dict(depth=50, stage_blocks=(1, 0, 2, 1)), r'stage_blocks='),
    (dict(depth=50, update_source='residual'),
     r"update_source='residual'.*'output', 'branch'"),
    (dict(depth=50, num_stages=5), r'num_stages=5'),
    (dict(depth=50, strides=(1, 2, 2)), r'strides=\(1, 2, 2\)'),
    (dict(depth=18, groups=32), r'groups=32.*Bottleneck'),
    (dict(depth=50, style='tf'), r"style='tf'"),
    (dict(depth=50, h_readout='yes'), r"h_readout='yes'"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RLAResNet(**kwargs)


@pytest.mark.parametrize('grad', [False, True])
def test_eca_gate_joins_the_addition(grad):
    """forward_residual (ECA's gate in the addition) is the block's merge of
    its parts, in values and in float64 gradients."""
    torch.manual_seed(0)
    block = RLABottleneck(64, 64, extra_in_channels=8,
                          attention=dict(type='ECA', kernel_size=3)).double()
    block.train()
    x = torch.randn(2, 64, 6, 5, dtype=torch.double, requires_grad=grad)
    h = torch.randn(2, 8, 6, 5, dtype=torch.double, requires_grad=grad)
    with torch.set_grad_enabled(grad):
        out = block.forward_residual(x, h)
        ref = block.merge(*block.forward_parts(x, h))
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    if grad:
        params = [x, h] + list(block.parameters())
        grads = torch.autograd.grad(out.square().sum(), params)
        refs = torch.autograd.grad(ref.square().sum(), params)
        for g, r in zip(grads, refs):
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


def test_channels_last_state_follows_the_input():
    model = RLAResNet(depth=50, stage_blocks=(2, 2, 2, 2), rla_channels=8,
                      base_channels=16, stem_channels=16).eval()
    x = torch.randn(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    h = model.init_state(model.forward_stem(x))
    assert h.is_contiguous(memory_format=torch.channels_last)
    model = model.to(memory_format=torch.channels_last)
    with torch.no_grad():
        a = model(x)[-1]
        b = model(x.contiguous())[-1]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
