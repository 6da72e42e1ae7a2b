"""Hooks on every stage and block fire, as on upstream ResNet, so that tools which
inspect a model through hooks (Grad-CAM, feature visualisers, profilers) work."""
import re

import pytest
import torch

from mmpretrain.models import ResNet

from mmrla.models import (
    CRMN,
    RAVGG,
    LayerAttentionResNet,
    LRNNResNet,
    RAResNet,
    ResNetBody,
    RLAMobileNetV2,
    RLAResNet,
)

BLOCK = re.compile(r'^layer\d+\.\d+$')
STAGE = re.compile(r'^layer\d+$')

# (backbone, input size): small bodies, every family of blocks and companions
BACKBONES = {
    'ResNetBody': (lambda: ResNetBody(20, stem_type='cifar'), 16),
    'ResNetBody-preact-bottleneck': (
        lambda: ResNetBody(164, stem_type='cifar', preact=True,
                           stage_blocks=(1, 2, 1)), 16),
    'RLAResNet-18': (lambda: RLAResNet(18, rla_channels=8), 64),
    'RLAResNet-50-eca': (
        lambda: RLAResNet(50, rla_channels=8, stage_blocks=(1, 2, 1, 1),
                          attention=dict(type='ECA', kernel_size=3)), 64),
    'RLAResNet-branch-source': (
        lambda: RLAResNet(20, stem_type='cifar', rla_channels=4,
                          update_source='branch'), 16),
    'LayerAttentionResNet': (
        lambda: LayerAttentionResNet(20, stem_type='cifar', lstm_channels=6,
                                     reduction=2), 16),
    'CRMN': (lambda: CRMN(20, stem_type='cifar', lstm_channels=8,
                          input_size=(16, 16)), 16),
    'RAResNet': (lambda: RAResNet(20, stem_type='cifar'), 16),
    'RAVGG': (lambda: RAVGG(stage_channels=(8, 16, 32), stage_blocks=(1, 2, 1)),
              16),
    'LRNNResNet': (lambda: LRNNResNet(
        20, stem_type='cifar', lrnn_stages=(False, True, True)), 16),
    'RLAMobileNetV2': (lambda: RLAMobileNetV2(widen_factor=0.5), 64),
}


def _hooked_modules(model):
    return {
        name: m
        for name, m in model.named_modules()
        if STAGE.match(name) or BLOCK.match(name)
    }


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_hooks_fire_on_every_stage_and_block(name):
    build, size = BACKBONES[name]
    torch.manual_seed(0)
    model = build().train()
    modules = _hooked_modules(model)
    stages = [n for n in modules if STAGE.match(n)]
    blocks = [n for n in modules if BLOCK.match(n)]
    assert len(stages) >= 3 and len(blocks) > len(stages)
    seen = {n: [] for n in modules}
    pre, grads = set(), {n: 0 for n in modules}

    def forward_hook(n):

        def hook(module, args, out):
            seen[n].append(out)
        return hook

    def pre_hook(n):

        def hook(module, args):
            assert torch.is_tensor(args[0]) and args[0].dim() == 4
            pre.add(n)
        return hook

    def backward_hook(n):

        def hook(module, grad_in, grad_out):
            assert grad_out[0].shape == seen[n][0].shape
            grads[n] += 1
        return hook

    for n, m in modules.items():
        m.register_forward_pre_hook(pre_hook(n))
        m.register_forward_hook(forward_hook(n))
        m.register_full_backward_hook(backward_hook(n))
    x = torch.randn(2, 3, size, size, requires_grad=True)
    outs = model(x)
    sum(o.float().square().mean() for o in outs).backward()

    assert pre == set(modules)
    for n in modules:
        assert len(seen[n]) == 1, f'{n}: forward hook fired {len(seen[n])}x'
        out = seen[n][0]
        assert torch.is_tensor(out) and out.dim() == 4 and out.shape[0] == 2, n
        assert grads[n] == 1, f'{n}: backward hook fired {grads[n]}x'
    # a stage's output is its last block's
    for s in stages:
        last = max((b for b in blocks if b.startswith(s + '.')),
                   key=lambda b: int(b.split('.')[1]))
        assert seen[s][0] is seen[last][0] or torch.equal(
            seen[s][0], seen[last][0])


def test_stage_hooks_see_what_the_backbone_returns():
    """With the state left out of the outputs (detection), every stage hook
    sees the backbone's output for that stage, as on upstream ResNet."""
    torch.manual_seed(0)
    model = RLAResNet(18, rla_channels=8, h_readout=False,
                      out_indices=(0, 1, 2, 3)).eval()
    seen = []
    for i in range(4):
        getattr(model, f'layer{i + 1}').register_forward_hook(
            lambda m, a, out: seen.append(out))
    outs = model(torch.randn(1, 3, 64, 64))
    assert len(seen) == 4
    for hooked, out in zip(seen, outs):
        assert hooked is out


def test_plain_body_hooks_match_upstream_resnet():
    """ResNetBody with ResNet's weights: every stage and block hook sees the
    tensors upstream ResNet's hooks see."""
    torch.manual_seed(0)
    ours = ResNetBody(18, out_indices=(0, 1, 2, 3)).eval()
    theirs = ResNet(18, out_indices=(0, 1, 2, 3))
    theirs.load_state_dict(ours.state_dict())
    theirs.eval()  # (upstream ResNet.train returns None)
    x = torch.randn(1, 3, 64, 64)
    captured = []
    for model in (ours, theirs):
        seen = {}
        for n, m in _hooked_modules(model).items():
            m.register_forward_hook(
                lambda m, a, out, n=n: seen.__setitem__(n, out))
        with torch.no_grad():
            model(x)
        captured.append(seen)
    assert captured[0].keys() == captured[1].keys()
    for n in captured[0]:
        # the same ops in the same order
        torch.testing.assert_close(captured[0][n], captured[1][n],
                                   rtol=0, atol=0)
