"""RLA-ResNet runs the update 1x1 and the next block's conv1 as one conv where it
can (``RLAResNet._project``): the maths must not change, and it must apply exactly
where both convs read the same tensor."""
import copy

import pytest
import torch

from mmrla.models import RLAResNet
from mmrla.models.backbones.resnet_body import (
    PreActBottleneck,
    SplitBasicBlock,
    SplitBottleneck,
)

SMALL = dict(depth=50, stage_blocks=(2, 2, 2, 2), rla_channels=8,
             base_channels=16, stem_channels=16)


def _pair(**kwargs):
    """A model and a copy whose fusion is switched off, with counted calls."""
    torch.manual_seed(0)
    model = RLAResNet(**{**SMALL, **kwargs})
    model.init_weights()
    # non-trivial norms, so that every path carries signal
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    unfused = copy.deepcopy(model)
    unfused._project = lambda *args: (None, None)
    fused_calls = []
    project = model._project

    def spy(*args):
        out = project(*args)
        fused_calls.append(out[0] is not None)
        return out

    model._project = spy
    return model, unfused, fused_calls


def _loss(out):
    # weights differ per element, so no gradient is trivially uniform
    w = torch.linspace(-1, 1, out.numel()).view_as(out)
    return (out * w).sum()


@pytest.mark.parametrize('kwargs, fused', [
    (dict(), 7),  # every block but the last: 8 blocks
    (dict(shared=False), 7),
    (dict(cell='lstm'), 7),
    (dict(cell='gru'), 7),
    (dict(update_order='post'), 7),
    (dict(update_order='add-last'), 7),
    (dict(attention=dict(type='ECA', kernel_size=3)), 7),
    (dict(style='caffe'), 4),  # a strided conv1 starts stages 2-4
    (dict(with_cp=True), 0),  # the checkpoint would keep the fused output
    (dict(update_source='branch'), 0),  # the update reads another tensor
    (dict(update_source='identity'), 0),
    (dict(exchange=False), 0),  # h never enters a conv1
])
def test_fusion_keeps_outputs_and_gradients(kwargs, fused):
    model, unfused, calls = _pair(**kwargs)
    # float64: in float32 the stem's gradient of a random ConvGRU model is
    # ill-conditioned (2 % apart between two summation orders)
    x = torch.randn(2, 3, 64, 48, dtype=torch.float64)
    outs = {}
    for name, m in (('fused', model), ('unfused', unfused)):
        m.double().train()
        out = m(x)[-1]
        _loss(out).backward()
        outs[name] = out.detach()
    assert sum(calls) == fused and len(calls) == 8
    torch.testing.assert_close(outs['fused'], outs['unfused'],
                               rtol=1e-10, atol=1e-10)
    for (name, p), q in zip(model.named_parameters(), unfused.parameters()):
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-9, atol=1e-9,
                                   msg=name)


def test_fusion_in_inference():
    model, unfused, calls = _pair()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        a = model.double().eval()(x)[-1]
        b = unfused.double().eval()(x)[-1]
    assert sum(calls) == 7
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_input_conv_only_where_x_enters_a_pointwise_conv():
    bottleneck = SplitBottleneck(64, 256, extra_in_channels=8)
    assert bottleneck.input_conv is bottleneck.conv1
    assert SplitBottleneck(64, 256, style='caffe', stride=2).input_conv is None
    assert SplitBasicBlock(64, 64, extra_in_channels=8).input_conv is None
    # pre-activation: conv1 reads relu(norm1(x)), not x
    assert PreActBottleneck(64, 256).input_conv is None


def test_channels_last_state_follows_the_input():
    model = RLAResNet(**SMALL).eval()
    x = torch.randn(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    stem = model._forward_stem(x)
    h, _ = model.init_state(stem)
    assert h.is_contiguous(memory_format=torch.channels_last)
    model = model.to(memory_format=torch.channels_last)
    with torch.no_grad():
        a = model(x)[-1]
        b = model(x.contiguous())[-1]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
