"""torch.compile takes every registered backbone as one graph, with eager's outputs
and gradients, in training and in eval mode.

``fullgraph=True`` makes any graph break an error (a custom autograd Function whose
backward calls ``torch.autograd.grad`` broke ECA models' graphs in every block). Dynamo
traces each backbone and AOTAutograd builds its joint forward/backward graph
(``backend='aot_eager'``: everything but inductor's C++ code generation, which adds
minutes on CPU without testing our code further). Speed is measured by
``tools/analysis/benchmark.py --compile``, not here.

:data:`GRAPH_CASES` (also exported to ONNX by tests/test_onnx.py) holds every
registered backbone with a small config, with the options whose code differs in a
graph switched on.
"""
import pytest
import torch

from mmpretrain.registry import MODELS

from test_fuzz_shapes import BOTTLENECK, CASES, CIFAR, mmrla_backbone_names

ECA = dict(type='ECA', kernel_size=3)
# case -> (type, small config): test_fuzz_shapes.CASES, with ECA's gate in the
# merge (post- and pre-activation blocks, MobileNetV2), SE, layer attention's
# contexts resampled up and down (8, 16, 32, 64 channels to 12), and CRMN's
# paper pooling, whose memory holds the image size (48x40 here)
GRAPH_CASES = {name: (name, kwargs) for name, (kwargs, _) in CASES.items()}
GRAPH_CASES.update({
    'ResNetBody': ('ResNetBody', dict(CASES['ResNetBody'][0], attention=ECA)),
    'RLAResNet': ('RLAResNet', dict(BOTTLENECK, rla_channels=4,
                                    attention=ECA)),
    'LayerAttentionResNet': ('LayerAttentionResNet', dict(
        CASES['LayerAttentionResNet'][0], attention=dict(type='SE', ratio=4),
        context='gmp_mlp', context_channels=12, vector=True)),
    'RLAMobileNetV2': ('RLAMobileNetV2', dict(CASES['RLAMobileNetV2'][0],
                                              attention=dict(type='ECA'))),
    'CRMN-2x2': ('CRMN', dict(CIFAR, lstm_channels=4, pool='2x2',
                              input_size=(48, 40))),
})
INPUT_SHAPE = (2, 3, 48, 40)


def build_graph_case(case):
    torch.manual_seed(0)
    kind, kwargs = GRAPH_CASES[case]
    model = MODELS.build(dict(type=kind, **kwargs))
    model.init_weights()
    return model


@pytest.mark.parametrize('mode', ['train', 'eval'])
@pytest.mark.parametrize('case', sorted(GRAPH_CASES))
def test_one_graph_with_eager_outputs_and_gradients(case, mode):
    model = build_graph_case(case)
    model.train(mode == 'train')
    x = torch.rand(*INPUT_SHAPE)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend='aot_eager', fullgraph=True)
    results = []
    # each backward before the next forward: in training, a forward updates the
    # norms' running statistics in place, which the last one's backward saved
    for run in (model, compiled):
        model.zero_grad()
        outs = run(x)
        sum(o.float().square().mean() for o in outs).backward()
        results.append(([o.detach() for o in outs], [
            p.grad.clone() for p in model.parameters() if p.grad is not None
        ]))
    (eager_outs, eager_grads), (compiled_outs, compiled_grads) = results
    assert len(eager_outs) == len(compiled_outs)
    for e, c in zip(eager_outs, compiled_outs):
        # compiled graphs get the plain ops where eager runs an equivalent faster
        # form (e.g. SpatialRNN's 1x1 U as a batched product): float32 rounding of
        # the output's scale, not 1e-6 absolute, for outputs of up to ~4
        scale = max(1.0, e.abs().max().item())
        torch.testing.assert_close(c, e, rtol=1e-5, atol=1e-6 * scale)
    assert len(eager_grads) == len(compiled_grads) > 0
    for e, c in zip(eager_grads, compiled_grads):
        torch.testing.assert_close(c, e, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('case', ['RLAMobileNetV2', 'RLAResNet'])
def test_inference_without_gradients_is_one_graph(case):
    """Without autograd (inference; RLAMobileNetV2 then joins a and h after
    strided depthwise convs): still one graph, with eager's outputs."""
    model = build_graph_case(case).eval()
    x = torch.rand(*INPUT_SHAPE)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend='eager', fullgraph=True)
    with torch.no_grad():
        for e, c in zip(model(x), compiled(x)):
            torch.testing.assert_close(c, e, rtol=1e-5, atol=1e-6)


def test_every_backbone_is_compiled():
    assert {kind for kind, _ in GRAPH_CASES.values()} == \
        mmrla_backbone_names()
