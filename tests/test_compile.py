"""torch.compile works on every registered backbone: same outputs and gradients.

Dynamo traces each backbone and AOTAutograd builds its joint forward/backward graph
(``backend='aot_eager'``: everything but inductor's C++ code generation, which adds
minutes on CPU without testing our code further). Speed is measured by
``tools/analysis/benchmark.py --compile``, not here.
"""
import pytest
import torch

from mmpretrain.registry import MODELS

from test_fuzz_shapes import CASES, mmrla_backbone_names


@pytest.mark.parametrize('name', sorted(CASES))
def test_compiled_backbone_matches_eager(name):
    torch.manual_seed(0)
    model = MODELS.build(dict(type=name, **CASES[name][0]))
    model.init_weights()
    model.eval()  # deterministic norms; the graph still holds the backward
    x = torch.rand(2, 3, 48, 40)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend='aot_eager')
    eager_outs = model(x)
    compiled_outs = compiled(x)
    assert len(eager_outs) == len(compiled_outs)
    for e, c in zip(eager_outs, compiled_outs):
        # compiled graphs get the plain ops where eager runs an equivalent faster
        # form (e.g. SpatialRNN's 1x1 U as a batched product): float32 rounding of
        # the output's scale, not 1e-6 absolute, for outputs of up to ~4
        scale = max(1.0, e.abs().max().item())
        torch.testing.assert_close(c, e, rtol=1e-5, atol=1e-6 * scale)
    grads = []
    for outs in (eager_outs, compiled_outs):
        model.zero_grad()
        sum(o.float().square().mean() for o in outs).backward()
        grads.append([p.grad.clone() for p in model.parameters()
                      if p.grad is not None])
    assert len(grads[0]) == len(grads[1]) > 0
    for e, c in zip(*grads):
        torch.testing.assert_close(c, e, rtol=1e-4, atol=1e-6)


def test_every_backbone_is_compiled():
    assert set(CASES) == mmrla_backbone_names()
