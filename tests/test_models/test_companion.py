"""The example companion of docs/companion.md runs as the protocol promises: its
hooks are called, every block's and stage's module hooks fire, and a gradient
reaches its modules."""
import re
from pathlib import Path

import pytest
import torch

from mmrla.models import ResNetBody

DOC = Path(__file__).parents[2] / 'docs' / 'companion.md'


def example_class():
    code = re.search(r'```python\n(.*?)```', DOC.read_text(), re.S).group(1)
    namespace = {}
    exec(compile(code, str(DOC), 'exec'), namespace)
    return namespace['DepthSummaryResNet']


def build(**kwargs):
    torch.manual_seed(0)
    return example_class()(depth=18, stage_blocks=(1, 2, 1, 1),
                           base_channels=8, stem_channels=8, **kwargs)


def test_example_companion_runs_with_hooks_and_gradients():
    model = build(summary_channels=4).train()
    fired = []
    for name, module in model.named_modules():
        if re.fullmatch(r'layer\d(\.\d)?', name):
            module.register_forward_hook(
                lambda m, args, out, name=name: fired.append(name))
    x = torch.rand(2, 3, 48, 40)
    out, = model(x)
    assert fired == ['layer1.0', 'layer1', 'layer2.0', 'layer2.1', 'layer2',
                     'layer3.0', 'layer3', 'layer4.0', 'layer4']
    assert out.shape == (2, model.feat_dim, 2, 2)
    assert model.feat_dim == 64 + 4
    # the appended channels are the summary vector, the same at every position
    summary = out[:, 64:]
    torch.testing.assert_close(summary, summary[:, :, :1, :1].expand_as(summary))
    assert summary.abs().max() > 0
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    for i, read in enumerate(model.reads):
        assert read.weight.grad is not None and read.weight.grad.abs().sum() > 0, i
    assert model.conv1.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('preact', [False, True])
def test_example_companion_leaves_the_plain_features_unchanged(preact):
    # with pre-activation blocks the plain features end in the body's final
    # BN-ReLU, which the example keeps by starting from super().stage_output
    model = build(preact=preact).eval()
    plain = ResNetBody(depth=18, stage_blocks=(1, 2, 1, 1), base_channels=8,
                       stem_channels=8, preact=preact).eval()
    missing, unexpected = plain.load_state_dict(model.state_dict(),
                                                strict=False)
    assert not missing and all(k.startswith('reads.') for k in unexpected)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0][:, :64], plain(x)[0])


def test_example_companion_freezes_with_its_stage():
    model = build(frozen_stages=2).train()
    frozen = [not p.requires_grad for p in model.reads.parameters()]
    assert frozen == [True] * 4 + [False] * 4  # reads 1, 2: weight and bias
    assert not model.layer2[1].conv1.weight.requires_grad
    assert model.layer3[0].conv1.weight.requires_grad
    assert not model.reads[0].training and model.reads[2].training
