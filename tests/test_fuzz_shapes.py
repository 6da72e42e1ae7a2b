"""Shape fuzzing: every registered mmrla backbone on 100 seeded random input shapes.

Batch 1-3, H and W in 17..417, train and eval mode, float32 and bfloat16 autocast:
no exception, finite outputs, and the stage outputs have the spatial sizes of the
plain network with the same stem and strides (computed on the ``meta`` device, so
the reference costs nothing). Widths are small to keep the 100 cases fast.
"""
import contextlib
import math
import random
import warnings

import pytest
import torch
import torch.nn.functional as F

from mmpretrain.models.backbones import MobileNetV2
from mmpretrain.registry import MODELS

import mmrla.models.backbones as mmrla_backbones
from mmrla.models import ResNetBody

NUM_CASES = 100
RESNET = dict(depth=18, stem_channels=8, base_channels=8,
              stage_blocks=(1, 1, 1, 1), out_indices=(0, 1, 2, 3))
BOTTLENECK = dict(RESNET, depth=50)
CIFAR = dict(depth=20, stem_type='cifar', stem_channels=4, base_channels=4,
             stage_blocks=(1, 1, 1), out_indices=(0, 1, 2))


def plain_resnet(**kwargs):
    return ResNetBody(**kwargs)


# backbone -> (its small config, the plain network with the same strides)
CASES = {
    'ResNetBody': (dict(BOTTLENECK, preact=True), None),
    'RLAResNet': (dict(RESNET, rla_channels=4), dict(RESNET)),
    'LayerAttentionResNet': (dict(RESNET, lstm_channels=4, reduction=2),
                             dict(RESNET)),
    'CRMN': (dict(CIFAR, lstm_channels=4, pool='adaptive'), dict(CIFAR)),
    'RLAMobileNetV2': (dict(widen_factor=0.25, rla_channels=4,
                            out_indices=(1, 2, 4, 6, 7)), 'mobilenet'),
    'RAResNet': (dict(CIFAR, lstm_channels=4), dict(CIFAR)),
    'RAVGG': (dict(stage_channels=(4, 8, 16), lstm_channels=4,
                   out_indices=(0, 1, 2)), 'vgg'),
    'VGGBody': (dict(stage_channels=(4, 8, 16), out_indices=(0, 1, 2)),
                None),
    'LRNNResNet': (dict(RESNET, lrnn_stages=(False, True, False, True)),
                   dict(RESNET)),
    # one feature map after two ceil-mode 2x2 poolings
    'LRNNNet': (dict(arch=[['cnn', 8, 'concat'], ['pool'], ['lrnn', 8, 'sum'],
                           ['pool'], ['lrnn', 8, 'forward']],
                     stem_channels=8, global_pool=None),
                lambda h, w: [(math.ceil(h / 4), math.ceil(w / 4))]),
}


def mmrla_backbone_names():
    names = set()
    for name in mmrla_backbones.__all__:
        cls = getattr(mmrla_backbones, name)
        if MODELS.get(name) is cls:
            names.add(name)
    return names


# backbones whose last output is a readout vector (B, C, 1, 1) in place of the
# last stage's map
READOUT_REPLACES_LAST = {'CRMN'}


def test_every_registered_backbone_is_fuzzed():
    assert mmrla_backbone_names() == set(CASES)


def bf16_thin_conv_is_wrong(onednn=True):
    """Whether bfloat16 convs one pixel wide come out wrong on this CPU.

    torch 2.14.1's oneDNN (v3.12) computes a bfloat16 3x3 stride-2 conv whose output
    is one pixel wide and at least 5 high (input width 1-2, height >= 9) partly from
    uninitialised memory on a CPU with native bf16 (seen on an AVX-512/AMX Xeon, not
    on an AVX2 EPYC): wrong values, NaN where the memory held NaN. Plain ResNets
    meet it as much as ours (a 417x17 input's last stage). Found by this test.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 8, 27, 2, generator=g).bfloat16()
    w = (torch.randn(8, 8, 3, 3, generator=g) * 0.1).bfloat16()
    expected = F.conv2d(x.double(), w.double(), None, 2, 1)
    junk = [torch.full((4096, ), float('nan')) for _ in range(64)]
    del junk  # freed memory full of NaN, which a faulty kernel may read
    with torch.backends.mkldnn.flags(enabled=onednn):
        out = F.conv2d(x, w, None, 2, 1)
    return not torch.allclose(out.double(), expected, rtol=0.02, atol=0.02)


BF16_THIN_CONV_WRONG = bf16_thin_conv_is_wrong()


def test_bf16_thin_conv_is_right_without_onednn():
    # torch's own kernels pass the probe on every CPU, so what it catches is
    # oneDNN's, and the fuzzing below can run bfloat16 without oneDNN there
    assert not bf16_thin_conv_is_wrong(onednn=False)


def bf16_kernels(bf16):
    """oneDNN, unless it is known wrong here for bfloat16 (then torch's own)."""
    if bf16 and BF16_THIN_CONV_WRONG:
        warnings.warn('oneDNN computes bfloat16 convs one pixel wide wrongly on '
                      'this CPU (see bf16_thin_conv_is_wrong): bfloat16 cases '
                      'run with torch.backends.mkldnn disabled')
        return torch.backends.mkldnn.flags(enabled=False)
    return contextlib.nullcontext()


def build_plain(name, kwargs, plain):
    if callable(plain):  # the sizes, by formula
        return plain
    if plain is None:  # the plain network itself
        return MODELS.build(dict(type=name, **kwargs))
    if plain == 'mobilenet':
        return MobileNetV2(widen_factor=0.25, out_indices=(1, 2, 4, 6, 7))
    if plain == 'vgg':
        return MODELS.build(dict(type='VGGBody', **{
            k: v for k, v in kwargs.items() if k != 'lstm_channels'}))
    return plain_resnet(**plain)


def side(rng, largest):
    # log-uniform: every scale is tried as often, and the mean cost stays low
    return min(largest, int(17 * (largest / 17)**rng.random()))


def cases(seed):
    rng = random.Random(seed)
    for i in range(NUM_CASES):
        train, bf16 = bool(i & 1), bool(i & 2)
        # training BatchNorm needs more than one value per channel: with batch 1
        # a 1x1 last stage (17..32 px) cannot train, in any ResNet (known limit)
        batch = rng.randint(2 if train else 1, 3)
        # bfloat16 convolutions run ~5x slower than float32 on CPUs without
        # bf16 instructions (like CI's): bf16 cases stay below 130 px, apart
        # from the extreme shapes, which every mode meets
        largest = 129 if bf16 else 417
        extremes = {0: (417, 17), 1: (17, 417), 2: (417, 17), 3: (17, 417)}
        h, w = extremes.get(i, (side(rng, largest), side(rng, largest)))
        yield batch, h, w, train, bf16


@pytest.mark.parametrize('name', sorted(CASES))
def test_random_shapes(name):
    kwargs, plain = CASES[name]
    torch.manual_seed(0)
    model = MODELS.build(dict(type=name, **kwargs))
    # the configured init: PyTorch's default one lets eval-mode activations
    # vanish into denormals, which CPUs compute 10-100x slower
    model.init_weights()
    reference = build_plain(name, kwargs, plain)
    if isinstance(reference, torch.nn.Module):
        reference = reference.to('meta')
        reference.eval()  # (upstream MobileNetV2.train returns None)
    tried = 0
    for batch, h, w, train, bf16 in cases(seed=len(name)):
        x = torch.rand(batch, 3, h, w)
        model.train(train)
        with torch.no_grad(), torch.autocast('cpu', torch.bfloat16,
                                             enabled=bf16), bf16_kernels(bf16):
            outs = model(x)
        if isinstance(reference, torch.nn.Module):
            with torch.no_grad():
                expected = [e.shape[2:] for e in reference(
                    torch.empty(batch, 3, h, w, device='meta'))]
        else:
            expected = [torch.Size(size) for size in reference(h, w)]
        case = f'{name} batch {batch} {h}x{w} train={train} bf16={bf16}'
        # readouts (RA) may follow the stage outputs: compare the stages
        assert len(outs) >= len(expected), case
        if name in READOUT_REPLACES_LAST:
            assert outs[-1].shape[2:] == (1, 1), case
            outs, expected = outs[:-1], expected[:-1]
        for out, exp in zip(outs, expected):
            assert out.shape[0] == batch, case
            assert out.shape[2:] == exp, case
        for out in outs:
            assert torch.isfinite(out.float()).all(), case
        tried += 1
    assert tried == NUM_CASES
