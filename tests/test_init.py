"""Every shipped classification config starts training as its paper says.

The papers initialise as He et al. (2015); none zero-initialises the residual
branches, as upstream ``ResNet`` does by default (``zero_init_residual=True``). A zero
branch gives its last conv, and every companion that scales or gates the branch
(layer attention's alpha, ECA's gate), exactly zero gradient in the first step. So:
build each config's classifier, ``init_weights()``, one training-mode forward and
backward on random input of the config's size, and every trainable parameter of the
backbone, the companion's included, must get a non-zero gradient.

The only exemptions are parameters that a paper's own initialisation starts dead;
each is named with the paper's section in ``DEAD_BY_PAPER``.
"""
import json

import pytest
import torch

from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO

FAMILIES = ('rla', 'rla_attention', 'crmn', 'ra_lstm', 'lrnn', 'study',
            'baselines')


def input_size(cfg):
    """The config's training crop; ImageNet-sized ones at 64 (the bodies take any
    size), a backbone with a fixed ``input_size`` (CRMN's memory) at that."""
    backbone = cfg.model.backbone
    if backbone.get('input_size'):
        return tuple(backbone.input_size)
    sizes = []
    for step in cfg.train_dataloader.dataset.get('pipeline', []):
        for key in ('crop_size', 'scale'):
            value = step.get(key)
            if isinstance(value, int):
                sizes.append(value)
            elif isinstance(value, (tuple, list)) and all(
                    isinstance(v, int) for v in value):
                sizes.append(min(value))
    size = min(sizes) if sizes else 224
    return (size, size) if size <= 64 else (64, 64)


def distinct_classifiers():
    """One config per distinct (backbone, input size), as (path, others): a
    CIFAR-10 config and its CIFAR-100 twin build the same backbone."""
    seen = {}
    for family in FAMILIES:
        for path in sorted((REPO / 'configs' / family).glob('*.py')):
            cfg = Config.fromfile(path)
            if cfg.model.get('type') != 'ImageClassifier':
                continue
            key = json.dumps([cfg.model.backbone.to_dict(), input_size(cfg)],
                             sort_keys=True, default=repr)
            seen.setdefault(key, []).append(path)
    return [(paths[0], paths[1:]) for paths in seen.values()]


# Parameters that the paper's own design starts dead, by config stem prefix:
# {prefix: ((parameter name pattern, why), ...)}. Nothing else is exempt.
DEAD_BY_PAPER = {
    # RLA-Net's ablation wirings v2/v6 (Table 6 (f), (j)): h <- conv(tanh(BN(h))) + u;
    # h^0 = 0 (Section 3.3, "RLA path"), so the first block's BN reads zeros and its
    # scale has no gradient until h is non-zero.
    'rla-resnet50-v2': (('rla1.norms.0.weight', 'h^0 = 0, Section 3.3'), ),
    'rla-resnet50-v6': (('rla1.norms.0.weight', 'h^0 = 0, Section 3.3'), ),
}
# The context ablations of RLA attention (Appendix B: GMP, and an MLP on the pooled
# context): a ReLU unit that is off for every image passes no gradient. The heads
# (alpha = sigmoid(W2 relu(W1 h)), no bias; M / r = 2 units at M = 4, r = 2) read an
# LSTM state whose signs, with GMP's all-positive contexts, are the same for every
# image; the context MLPs have C / 16 = 1 hidden unit in the 16-channel stage. Which
# units start off is the random draw's; the test then asks that most heads learn.
RELU_ABLATIONS = ('rla-attention-gmp-', 'rla-attention-gap-mlp-',
                  'rla-attention-gmp-mlp-')


CLASSIFIERS = distinct_classifiers()


def test_every_family_has_classification_configs():
    families = {p.parent.name for p, _ in CLASSIFIERS}
    assert families == set(FAMILIES)
    assert sum(1 + len(others) for _, others in CLASSIFIERS) >= 90


@pytest.mark.parametrize('path', [p for p, _ in CLASSIFIERS],
                         ids=lambda p: p.stem)
def test_first_step_reaches_every_backbone_parameter(path):
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    import mmrla  # noqa: F401

    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    in_channels = cfg.model.backbone.get('in_channels', 3)
    num_classes = cfg.model.head.num_classes
    x = torch.randn(2, in_channels, *input_size(cfg))
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(2)]
    losses = model(x, samples, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()

    exempt = dict(next((v for k, v in DEAD_BY_PAPER.items()
                        if path.stem.startswith(k)), ()))
    dead = [name for name, p in model.backbone.named_parameters()
            if p.requires_grad and name not in exempt
            and (p.grad is None or not p.grad.any())]
    if path.stem.startswith(RELU_ABLATIONS):
        relu_gated = [n for n in dead if n.startswith('attention_heads.')
                      or n.startswith('contexts.') and '.mlp.' in n]
        dead_heads = {n.split('.')[1] for n in relu_gated
                      if n.startswith('attention_heads.')}
        assert len(dead_heads) <= len(model.backbone.attention_heads) // 2, \
            f'{path.name}: heads {sorted(dead_heads)} start dead'
        dead = [n for n in dead if n not in relu_gated]
    assert not dead, (f'{path.name}: {len(dead)} backbone parameters get no '
                      f'gradient in the first step: {dead[:8]}')
    for name in exempt:  # an exemption that no longer applies must go
        grad = dict(model.backbone.named_parameters())[name].grad
        assert grad is None or not grad.any(), f'{name} is not dead: remove it'


@pytest.mark.parametrize('preact', [False, True])
def test_residual_branches_are_not_zeroed_by_default(preact):
    from mmrla.models import ResNetBody
    model = ResNetBody(depth=20, stem_type='cifar', preact=preact)
    model.init_weights()
    for block in model.layer1:
        last = block.conv2 if preact else block.norm2
        assert last.weight.abs().min() > 0
    zeroed = ResNetBody(depth=20, stem_type='cifar', preact=preact,
                        zero_init_residual=True)
    zeroed.init_weights()
    last = zeroed.layer1[0].conv2 if preact else zeroed.layer1[0].norm2
    assert not last.weight.any()
