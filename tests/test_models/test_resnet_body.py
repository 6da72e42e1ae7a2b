"""The shared ResNet body: CIFAR stem, pre-activation blocks, RLA on CIFAR bodies."""
import pytest
import torch

from mmrla.models import PreActBasicBlock, PreActBottleneck, ResNetBody, RLAResNet
from mmrla.models.backbones.resnet_body import conv_xh


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('depth,params', [(20, 271_824), (56, 855_120),
                                          (110, 1_730_064)])
def test_cifar_resnet_counts_and_shapes(depth, params):
    # He et al.: ResNet-20 0.27M, -56 0.85M, -110 1.7M (ours: projection shortcuts)
    model = ResNetBody(depth, stem_type='cifar', out_indices=(0, 1, 2)).eval()
    assert n_params(model) == params
    assert not hasattr(model, 'maxpool')
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32), (2, 32, 16, 16),
                                              (2, 64, 8, 8)]


def test_preact_resnet164():
    model = ResNetBody(164, stem_type='cifar', preact=True).eval()
    assert n_params(model) == 1_700_688  # He et al.: 1.7M
    blocks = list(model.layer1) + list(model.layer2) + list(model.layer3)
    assert all(isinstance(b, PreActBottleneck) for b in blocks)
    # pre-activation projection shortcuts are a bare conv, and the stem has no norm
    assert isinstance(model.layer2[0].downsample[-1], torch.nn.Conv2d)
    assert model.norm1_name is None
    out = model(torch.rand(2, 3, 32, 32))[0]
    assert out.shape == (2, 256, 8, 8)
    assert out.min() >= 0  # the final BN-ReLU


def test_preact_block_matches_its_definition():
    torch.manual_seed(0)
    block = ResNetBody(20, stem_type='cifar', preact=True).layer1[1].eval()
    assert isinstance(block, PreActBasicBlock)
    x = torch.randn(2, 16, 8, 8)
    a = torch.relu(block.norm1(x))
    ref = x + block.conv2(torch.relu(block.norm2(block.conv1(a))))
    torch.testing.assert_close(block(x), ref)


def test_preact_zero_init_residual_makes_blocks_identities():
    model = ResNetBody(20, stem_type='cifar', preact=True,
                       zero_init_residual=True)
    model.init_weights()
    block = model.layer1[1].eval()
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(block(x), x)


def test_widen_factor_and_any_input_size():
    model = ResNetBody(28, stem_type='cifar', widen_factor=10, stem_channels=16,
                       preact=True, out_indices=(0, 1, 2)).eval()
    outs = model(torch.rand(1, 3, 33, 45))
    assert [o.shape[1] for o in outs] == [160, 320, 640]
    assert outs[-1].shape[2:] == (9, 12)


def test_frozen_stages_freeze_final_norm_too():
    model = ResNetBody(20, stem_type='cifar', preact=True, frozen_stages=3)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.final_norm.training
    model = ResNetBody(20, stem_type='cifar', frozen_stages=1)
    model.train()
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.norm1.training and model.layer2.training


@pytest.mark.parametrize('kwargs,arg', [
    (dict(depth=50, stem_type='cifar'), 'depth'),
    (dict(depth=110), 'depth'),
    (dict(depth=20, stem_type='cifarish'), 'stem_type'),
    (dict(depth=50, widen_factor=2), 'widen_factor'),
    (dict(depth=164, stem_type='cifar', preact=True, groups=4), 'groups'),
    (dict(depth=20, stem_type='cifar', deep_stem=True), 'deep_stem'),
    (dict(depth=20, stem_type='cifar', stage_blocks=(1, 1)), 'stage_blocks'),
    (dict(depth=20, stem_type='cifar', out_indices=(3, )), 'out_indices'),
    (dict(depth=20, stem_type='cifar', base_channels=0), 'base_channels'),
])
def test_bad_arguments_name_the_field(kwargs, arg):
    with pytest.raises(ValueError, match=f'ResNetBody: invalid {arg}='):
        ResNetBody(**kwargs)


@pytest.mark.parametrize('depth,preact,k,extra', [(110, False, 4, 73_896),
                                                  (164, True, 8, 22_320)])
def test_rla_on_cifar_bodies_adds_the_papers_parameters(
        depth, preact, k, extra):
    # RLA-Net Table 2: +0.07M on ResNet-110, +0.02M on ResNet-164
    kw = dict(stem_type='cifar', preact=preact)
    rla = RLAResNet(depth, rla_channels=k, **kw)
    assert n_params(rla) - n_params(ResNetBody(depth, **kw)) == extra
    out = rla.eval()(torch.rand(2, 3, 32, 32))[0]
    assert out.shape == (2, rla.feat_dim, 8, 8)
    assert rla.feat_dim == (64 if depth == 110 else 256) + k


def test_rla_preact_block_reads_h_after_the_activation():
    torch.manual_seed(0)
    rla = RLAResNet(20, stem_type='cifar', preact=True, rla_channels=4).eval()
    block = rla.layer1[1]
    assert block.norm1.num_features == 16  # h is not normalised by the block
    assert block.conv1.in_channels == 16 + 4
    x, h = torch.randn(2, 16, 8, 8), torch.randn(2, 4, 8, 8)
    a = torch.relu(block.norm1(x))
    branch = block.conv2(torch.relu(block.norm2(block.conv1(
        torch.cat([a, h], 1)))))
    torch.testing.assert_close(block.merge(*block.forward_parts(x, h)),
                               x + branch)


def test_split_conv_equals_conv_of_the_concatenation():
    torch.manual_seed(0)
    x, h = torch.randn(2, 16, 9, 11), torch.randn(2, 4, 9, 11)
    for conv in (torch.nn.Conv2d(20, 8, 3, stride=2, padding=1, bias=False),
                 torch.nn.Conv2d(20, 8, 1, bias=True)):
        torch.testing.assert_close(conv_xh(conv, x, h),
                                   conv(torch.cat([x, h], 1)))
    xh = torch.cat([x, h], 1)
    torch.testing.assert_close(conv_xh(conv, xh, None), conv(xh))


def test_shortcut_added_in_place_keeps_gradients():
    torch.manual_seed(0)
    block = ResNetBody(20, stem_type='cifar').layer1[0]
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    branch, identity = block.forward_parts(x)
    ref = torch.relu(branch + identity)
    out = block(x)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize('kind', ['basic', 'preact', 'drop_path'])
def test_merge_scales_the_branch_in_the_same_pass(kind):
    """merge(scale=alpha): relu(alpha * branch + identity), layer attention's
    merge."""
    torch.manual_seed(0)
    kwargs = dict(stem_type='cifar')
    if kind == 'preact':
        kwargs['preact'] = True
    if kind == 'drop_path':
        kwargs['drop_path_rate'] = 0.5
    block = ResNetBody(20, **kwargs).layer2[1].eval()
    x = torch.randn(2, 32, 8, 8, dtype=torch.double, requires_grad=True)
    alpha = torch.rand(2, 1, 1, 1, dtype=torch.double, requires_grad=True)
    block.double()
    branch, identity = block.forward_parts(x)
    ref = alpha * branch + identity
    ref = ref if kind == 'preact' else torch.relu(ref)
    out = block.merge(branch, identity, inplace=True, scale=alpha)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    grads = torch.autograd.grad(out.square().sum(), [x, alpha],
                                retain_graph=True)
    ref_grads = torch.autograd.grad(ref.square().sum(), [x, alpha])
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
