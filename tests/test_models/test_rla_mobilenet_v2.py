"""RLA-MobileNetV2: the official layout, counts, wiring and argument checks."""
import pytest
import torch
import torch.nn.functional as F

from mmpretrain.models.backbones import MobileNetV2

from mmrla.models import RLAMobileNetV2

HEAD_1000 = 1280 * 1000 + 1000  # the 1000-class linear classifier


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('kwargs,expected', [
    (dict(), 3624168),  # the paper's RLA-MobileNetV2, 3.46M in 2^20 units
    (dict(attention=dict(type='ECA')), 3624199),  # 10 layers k=1, 7 k=3
    (dict(recurrent_conv='dense'), 3624168 - 32 * 9 + 32 * 32 * 9),
    (dict(h_readout=False), 3624168 - 32 * 1280 - 2 * 32),
])
def test_parameter_counts(kwargs, expected):
    assert count(RLAMobileNetV2(**kwargs)) + HEAD_1000 == expected


def test_layout():
    model = RLAMobileNetV2()
    # one recurrent conv for the whole network, depthwise
    convs = {id(getattr(model, f'rla{i}').recurrent_conv) for i in range(1, 8)}
    assert len(convs) == 1
    assert model.rla1.recurrent_conv.weight.shape == (32, 1, 3, 3)
    # h joins after the expansion: the depthwise conv sees hidden + k channels
    block = model.layer2[0]  # 16 -> 24, expand 6: hidden 96
    assert block.expand.conv.out_channels == 96
    assert block.depthwise.conv.weight.shape == (128, 1, 3, 3)
    assert block.project.conv.weight.shape == (24, 128, 1, 1)
    assert model.layer1[0].expand is None  # expand_ratio 1: h joins x itself
    assert model.layer1[0].depthwise.conv.in_channels == 64
    assert [len(getattr(model, f'rla{i}').norms)
            for i in range(1, 8)] == [1, 2, 3, 4, 3, 3, 1]
    assert model.conv2.conv.in_channels == 320 + 32
    eca = RLAMobileNetV2(attention=dict(type='ECA'))
    assert [getattr(eca, f'layer{i}')[0].attn.kernel_size
            for i in range(1, 8)] == [1, 1, 1, 1, 3, 3, 3]


def reference_forward(model, x):
    """The official forward, written out from the module weights."""
    bn_act = lambda cm, t, act=True: (F.relu6 if act else (lambda v: v))(  # noqa
        cm.bn(cm.conv(t)))
    x = bn_act(model.conv1, x)
    h = torch.zeros(x.shape[0], 32, *x.shape[2:])
    for i in range(1, 8):
        cell = getattr(model, f'rla{i}')
        for b, block in enumerate(getattr(model, f'layer{i}')):
            identity = x
            a = x if block.expand is None else bn_act(block.expand, x)
            a = bn_act(block.depthwise, torch.cat([a, h], 1))
            y = bn_act(block.project, a, act=False)
            x = identity + y if block.use_res_connect else y
            if block.stride == 2:
                h = F.avg_pool2d(h, 2)
            h = cell.norms[b](h + cell.update_conv(y))
            h = cell.recurrent_conv(torch.tanh(h))
    h = F.relu6(model.rla_norm(h))
    return bn_act(model.conv2, torch.cat([x, h], 1))


def randomize_norms(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)


def test_forward_is_the_official_wiring():
    torch.manual_seed(0)
    model = RLAMobileNetV2()
    model.init_weights()
    randomize_norms(model)
    model.eval()
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        out = model(x)[0]
        ref = reference_forward(model, x)
    assert out.shape == (2, 1280, 2, 3)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('size', [(1, 1), (17, 33), (31, 31), (224, 224)])
def test_any_input_size(size):
    model = RLAMobileNetV2(out_indices=(0, 1, 2, 3, 4, 5, 6, 7)).eval()
    plain = MobileNetV2(out_indices=(0, 1, 2, 3, 4, 5, 6, 7))
    plain.eval()  # upstream train() returns None
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        outs, expected = model(x), plain(x)
    assert [o.shape for o in outs] == [e.shape for e in expected]
    assert all(torch.isfinite(o).all() for o in outs)


def test_detection_outputs_without_readout():
    model = RLAMobileNetV2(h_readout=False, out_indices=(2, 4, 6)).eval()
    assert not hasattr(model, 'rla_norm_name')
    outs = model(torch.rand(1, 3, 96, 64))
    assert [tuple(o.shape[1:]) for o in outs] == [(32, 12, 8), (96, 6, 4),
                                                   (320, 3, 2)]


def test_with_cp_same_outputs_and_gradients():
    torch.manual_seed(1)
    model = RLAMobileNetV2(out_indices=(7, ))
    cp_model = RLAMobileNetV2(out_indices=(7, ), with_cp=True)
    cp_model.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    grads = []
    for m in (model, cp_model):
        m.train()
        out = m(x)[0]
        out.square().mean().backward()
        grads.append(m.rla3.update_conv.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_frozen_stages_freeze_their_cells():
    model = RLAMobileNetV2(frozen_stages=2)
    model.train()
    assert not model.rla2.update_conv.weight.requires_grad
    assert not model.rla2.norms[0].training
    assert model.rla3.update_conv.weight.requires_grad
    # the shared recurrent conv also serves unfrozen layers
    assert model.rla1.recurrent_conv.weight.requires_grad


@pytest.mark.parametrize('kwargs,arg', [
    (dict(rla_channels=0), 'rla_channels'),
    (dict(rla_channels=2.5), 'rla_channels'),
    (dict(recurrent_conv='separable'), 'recurrent_conv'),
    (dict(h_readout='yes'), 'h_readout'),
    (dict(widen_factor=0), 'widen_factor'),
    (dict(out_indices=(8, )), 'out_indices'),
    (dict(out_indices=7), 'out_indices'),
    (dict(attention=dict(type='CBAM')), 'attention'),
    (dict(attention=dict(type='ECA', kernel_size=[3, 3])),
     'attention kernel_size'),
    (dict(attention=dict(type='ECA', kernel_size=4)), 'attention kernel_size'),
])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=f'RLAMobileNetV2: invalid {arg}='):
        RLAMobileNetV2(**kwargs)
