"""RA-LSTM: VGGBody, RAVGG, RAResNet and their RecurrentAggregation."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmcv
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmrla  # noqa: F401
from mmrla.models.backbones.ra_lstm import RAVGG, RAResNet, RecurrentAggregation
from mmrla.models.backbones.resnet_body import ResNetBody
from mmrla.models.backbones.vgg_body import VGGBody
from mmrla.models.necks import PoolFlatten

CONFIGS = Path(__file__).parents[2] / 'configs' / 'ra_lstm'

# six two-conv blocks read, two per stage (rule (b)'s limit; not the paper's VGG-2)
TWO_PER_STAGE = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def conv_bn(cin, cout):
    return 9 * cin * cout + 2 * cout  # bias-free 3x3 conv and its BN


def lstm(n, m):
    return 4 * (n * m + m * m + m)  # one bias per gate (LSTMCell)


def vgg_body_params(widths, blocks, convs=2):
    total, cin = 0, 3
    for c, b in zip(widths, blocks):
        for _ in range(b * convs):
            total += conv_bn(cin, c)
            cin = c
    return total


@pytest.mark.parametrize('readout,extra_fc,feat_dim', [
    ('RA', 256 * 256 + 256, 256),
    ('RA-B', 0, 256 + 512),
    ('RA-C', 0, 3 * 256),
])
def test_vgg1_parameter_count_by_formula(readout, extra_fc, feat_dim):
    body = vgg_body_params((128, 256, 512), (1, 1, 1))
    assert n_params(VGGBody()) == body == 4_578_176
    # shallow 32x32x128: 2x2/2 conv to 512/4 channels; middle 16x16x256: 2x2/2 conv
    # to 512; last: GAP; LSTM 512 -> 256
    nodes = (4 * 128 * 128 + 128) + (4 * 256 * 512 + 512)
    model = RAVGG(readout=readout)
    assert n_params(model) == body + nodes + lstm(512, 256) + extra_fc
    assert model.feat_dim == feat_dim
    assert model.aggregation.levels == ['shallow', 'middle', 'last']


def resnet_cifar_params(widths, blocks, stem=3):
    """Bias-free 3x3 conv + BN everywhere, 1x1 conv + BN projection shortcuts."""
    total = conv_bn(stem, widths[0])
    cin = widths[0]
    for c, b in zip(widths, blocks):
        for _ in range(b):
            total += conv_bn(cin, c) + conv_bn(c, c)
            if cin != c:
                total += cin * c + 2 * c
            cin = c
    return total


def test_vgg2_and_resnet_parameter_counts():
    body = vgg_body_params((128, 256, 512), (1, 1, 1), convs=4)
    assert n_params(VGGBody(convs_per_block=4)) == body == 10_774_912
    # VGG-2 is grouped into 3 blocks of four convs (Section 4.3): the aggregation is
    # VGG-1's (shallow, middle at 16x16, last), N = 3
    vgg2 = RAVGG(convs_per_block=4)
    nodes = (4 * 128 * 128 + 128) + (4 * 256 * 512 + 512)
    assert n_params(vgg2) == body + nodes + lstm(512, 256) + 256 * 257
    assert vgg2.aggregation.ratios == (4, 2, 1)
    assert vgg2.selected == [(0, 0), (1, 0), (2, 0)]
    # the paper's ResNet: 64/128/256 channels, 10 basic blocks per stage; C = 256
    kw = dict(stem_type='cifar', widen_factor=4)
    plain = n_params(ResNetBody(62, **kw))
    assert ResNetBody(62, **kw).stage_blocks == (10, 10, 10)
    assert plain == resnet_cifar_params((64, 128, 256), (10, 10, 10)) == \
        15_175_744
    nodes = (4 * 64 * 64 + 64) + (4 * 128 * 256 + 256)
    assert n_params(RAResNet(62, **kw)) == plain + nodes + lstm(256, 256) + \
        256 * 257


def test_readout_is_the_papers_mapping_at_32px():
    """Recomputed by hand with the paper's fixed pooling (kernel = the last block's
    8x8 size) for the shallow level; our adaptive pooling equals it at 32x32."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    for readout in ('RA', 'RA-B', 'RA-C'):
        model = RAVGG((8, 16, 32), lstm_channels=6, readout=readout).eval()
        agg = model.aggregation
        with torch.no_grad():
            outs = model(x)
            # one block a stage; 2x2 max-pooling between stages
            f1 = model.layer1[0](x)
            f2 = model.layer2[0](F.max_pool2d(f1, 2))
            f3 = model.layer3[0](F.max_pool2d(f2, 2))
            shallow = F.avg_pool2d(agg.nodes[0](f1), 8).flatten(1)
            assert shallow.shape == (2, 2 * 2 * 8)  # h*w*c = C = 32
            vectors = [shallow, agg.nodes[1](f2).mean((2, 3)), f3.mean((2, 3))]
            h = c = torch.zeros(2, 6)
            hs = []
            for v in vectors:
                h, c = agg.lstm(v, (h, c))
                hs.append(h)
            if readout == 'RA':
                expected = torch.relu(agg.fc(h))
            elif readout == 'RA-B':
                expected = torch.cat([h, vectors[2]], 1)
            else:
                expected = torch.cat(hs, 1)
        assert len(outs) == 2
        torch.testing.assert_close(outs[0], f3)
        torch.testing.assert_close(outs[1], expected[:, :, None, None])
        # the module on its own gives the same readout
        torch.testing.assert_close(agg([f1, f2, f3]), outs[1])


@pytest.mark.parametrize('kind', ['vgg', 'resnet'])
def test_cnn_features_unchanged_by_ra(kind):
    torch.manual_seed(0)
    if kind == 'vgg':
        kw = dict(stage_channels=(8, 16, 32), stage_blocks=(2, 2, 2),
                  out_indices=(0, 1, 2))
        ra, body = RAVGG(selected=TWO_PER_STAGE, lstm_channels=8, **kw), VGGBody(**kw)
    else:
        kw = dict(stem_type='cifar', out_indices=(0, 1, 2))
        ra, body = RAResNet(20, lstm_channels=8, **kw), ResNetBody(20, **kw)
    ra.init_weights()
    missing, unexpected = body.load_state_dict(ra.state_dict(), strict=False)
    assert not missing and unexpected and all(
        k.startswith('aggregation.') for k in unexpected)
    ra.eval(), body.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        outs, ref = ra(x), body(x)
    assert len(outs) == len(ref) + 1
    for a, b in zip(outs, ref):
        torch.testing.assert_close(a, b)
    assert outs[-1].shape == (2, 8, 1, 1)


def test_preact_readout_reads_the_final_norm():
    model = RAResNet(20, stem_type='cifar', preact=True, lstm_channels=4,
                     readout='RA-B').eval()
    with torch.no_grad():
        last, readout = model(torch.rand(1, 3, 32, 32))
    torch.testing.assert_close(readout[:, 4:, 0, 0], last.mean((2, 3)))


@pytest.mark.parametrize('size', [17, 33, 50])
@pytest.mark.parametrize('readout', ['RA', 'RA-B', 'RA-C'])
def test_any_input_size(size, readout):
    x = torch.rand(2, 3, size, size)
    vgg = RAVGG((8, 16, 32), stage_blocks=(2, 2, 2), selected=TWO_PER_STAGE,
                lstm_channels=6, readout=readout).eval()
    res = RAResNet(20, stem_type='cifar', lstm_channels=6, readout=readout,
                   selected=[(0, 1), (0, 2), (1, -1), (2, 0),
                             (2, -1)]).eval()
    with torch.no_grad():
        for model, n in ((vgg, 6), (res, 5)):
            dim = {'RA': 6, 'RA-B': 6 + 32 + 32 * (model is res),
                   'RA-C': n * 6}[readout]
            assert model.feat_dim == dim
            assert model(x)[-1].shape == (2, dim, 1, 1)


def test_gradients_reach_every_node():
    model = RAVGG((8, 16, 32), stage_blocks=(2, 2, 2), selected=TWO_PER_STAGE,
                  lstm_channels=4)
    model(torch.rand(2, 3, 19, 23))[-1].sum().backward()
    for name, p in model.aggregation.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_feeds_upstream_neck_and_head():
    from mmpretrain.models import ImageClassifier
    model = ImageClassifier(
        backbone=dict(type='RAVGG', stage_channels=(8, 16, 32),
                      lstm_channels=8, readout='RA-C'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=24))
    model.init_weights()
    assert model(torch.rand(2, 3, 32, 32), mode='tensor').shape == (2, 10)


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_both_scopes_build(scope):
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    for cfg in (dict(type='VGGBody', stage_channels=(8, 16)),
                dict(type='RAVGG', stage_channels=(8, 16), lstm_channels=4),
                dict(type='RAResNet', depth=20, stem_type='cifar',
                     lstm_channels=4)):
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(cfg)
        assert type(model).__name__ == cfg['type']


def test_frozen_stages_freeze_their_nodes():
    model = RAVGG((8, 16, 32), lstm_channels=4, frozen_stages=1).train()
    agg = model.aggregation
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert not any(p.requires_grad for p in agg.nodes[0].parameters())
    assert all(p.requires_grad for p in agg.nodes[1].parameters())
    assert agg.lstm.linear.weight.requires_grad
    model = RAResNet(20, stem_type='cifar', lstm_channels=4, frozen_stages=3)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())


def test_vgg_body_pools_between_stages_only():
    body = VGGBody((8, 16, 32, 64), (1, 2, 1, 1), convs_per_block=3,
                   out_indices=(0, 1, 2, 3), norm_eval=True).train()
    assert not body.layer1[0][0].bn.training
    outs = body(torch.rand(1, 3, 40, 40))
    assert [tuple(o.shape[1:]) for o in outs] == [(8, 40, 40), (16, 20, 20),
                                                  (32, 10, 10), (64, 5, 5)]
    assert len(body.layer2) == 2 and len(body.layer2[0]) == 3
    assert body.feat_dim == 64


@pytest.mark.parametrize('kwargs,arg', [
    (dict(lstm_channels=0), 'lstm_channels'),
    (dict(readout='RA-D'), 'readout'),
    (dict(fc_channels=0), 'fc_channels'),
    (dict(fc_channels=8, readout='RA-B'), 'fc_channels'),
    (dict(shallow_grid=0), 'shallow_grid'),
    (dict(shallow_grid=3), 'shallow_grid'),  # does not divide the ratio 4
    (dict(stage_channels=(8, 16, 30)), 'shallow_grid'),  # 4 does not divide 30
    (dict(selected=[(0, 0), (1, 0)]), 'selected'),  # not ending at the last
    (dict(selected=[(1, 0), (0, 0), (2, 0)]), 'selected'),  # not low to high
    (dict(selected=[(0, 0), (3, 0)]), 'selected'),  # no stage 3
    (dict(selected=[(0, 1), (2, 0)]), 'selected'),  # stage 0 has one block
    (dict(selected=[(2, 0)] * 2), 'selected'),
    (dict(selected=[0, 1, 2]), 'selected'),
    (dict(selected=[]), 'selected'),
    (dict(stage_blocks=(3, 1, 1),
          selected=[(0, 0), (0, 1), (0, 2), (2, 0)]), 'selected'),  # 3 in one
    (dict(convs_per_block=1), 'convs_per_block'),
    (dict(out_indices=(0, )), 'out_indices'),
    (dict(stage_channels=()), 'stage_channels'),
    (dict(stage_blocks=(1, 1)), 'stage_blocks'),
    (dict(frozen_stages=4), 'frozen_stages'),
    (dict(norm_eval=1), 'norm_eval'),
])
def test_bad_arguments_name_the_field(kwargs, arg):
    kw = dict(stage_channels=(8, 16, 32))
    kw.update(kwargs)
    with pytest.raises(ValueError, match=f'^RAVGG: invalid {arg}='):
        RAVGG(**kw)


@pytest.mark.parametrize('kwargs,arg', [
    (dict(readout='ra'), 'readout'),
    (dict(selected=[(0, 8), (2, 2)]), 'selected'),
    (dict(strides=(1, 3, 1)), 'shallow_grid'),  # resolution ratio 3
    (dict(depth=21), 'depth'),
])
def test_resnet_bad_arguments_name_the_field(kwargs, arg):
    kw = dict(depth=20, stem_type='cifar')
    kw.update(kwargs)
    with pytest.raises(ValueError, match=f'^RAResNet: invalid {arg}='):
        RAResNet(**kw)


def test_aggregation_module_checks():
    with pytest.raises(ValueError, match='RecurrentAggregation: invalid ratios'):
        RecurrentAggregation((8, 16), (2, 2))
    agg = RecurrentAggregation((8, 16), (2, 1), lstm_channels=4)
    with pytest.raises(ValueError, match='got 1 maps, built for 2'):
        agg([torch.rand(1, 16, 4, 4)])


def fc(n, m):
    return n * m + m


def build_config(name):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(CONFIGS / name))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return cfg, MODELS.build(cfg.model)


VGG1_BODY = vgg_body_params((128, 256, 512), (1, 1, 1))
VGG2_BODY = vgg_body_params((128, 256, 512), (1, 1, 1), convs=4)
RESNET_BODY = resnet_cifar_params((64, 128, 256), (10, 10, 10))
# the paper's VGG classifier: 4x4x512 after the last max-pooling, 1024d-fc x2
VGG_FC = fc(8192, 1024) + fc(1024, 1024) + fc(1024, 10)
VGG_RA = (4 * 128 * 128 + 128) + (4 * 256 * 512 + 512) + lstm(512, 256)
RESNET_RA = (4 * 64 * 64 + 64) + (4 * 128 * 256 + 256) + lstm(256, 256)
RA_FC = fc(256, 256) + fc(256, 10)  # 256d-fc (Eq. 3), softmax layer


# Table 1 gives layouts, no counts: each row's model, counted by formula
@pytest.mark.parametrize('name,params', [
    ('vgg1_1xb64_cifar10.py', VGG1_BODY + VGG_FC),  # 14,027,658
    ('vgg2_1xb64_cifar10.py', VGG2_BODY + VGG_FC),  # 20,224,394
    ('resnet61-w4_1xb64_cifar10.py', RESNET_BODY + RA_FC),  # 15,244,106
    ('ra-vgg1_1xb64_cifar10.py', VGG1_BODY + VGG_RA + RA_FC),  # 6,024,458
    ('ra-vgg2_1xb64_cifar10.py', VGG2_BODY + VGG_RA + RA_FC),  # 12,221,194
    ('ra-resnet61-w4_1xb64_cifar10.py', RESNET_BODY + RESNET_RA + RA_FC),
])
def test_table1_rows(name, params):
    cfg, model = build_config(name)
    assert n_params(model) == params
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 32), mode='tensor').shape == (2, 10)
    head = model.head
    if name.startswith('ra-'):
        # the aggregation reads 3 blocks (VGG-2 too: "also grouped into 3 blocks")
        agg = model.backbone.aggregation
        assert agg.levels == ['shallow', 'middle', 'last']
        assert agg.fc.out_features == 256 and head.in_channels == 256
        assert type(head).__name__ == 'LinearClsHead'
    else:
        assert type(head).__name__ == 'StackedLinearClsHead'
        assert all(isinstance(layer.act, nn.ReLU) for layer in head.layers[:-1])
        assert head.layers[-1].act is None
    if 'vgg' in name:
        # 2 (VGG-1) or 4 (VGG-2) 3x3 convs per block, one block per stage
        per_block = 4 if 'vgg2' in name else 2
        assert [[len(b) for b in getattr(model.backbone, f'layer{i}')]
                for i in (1, 2, 3)] == [[per_block]] * 3
    else:
        # conv,64 x 21 (with the stem), conv,128 x 20, conv,256 x 20: 61 layers
        body = model.backbone

        def convs3x3(m):
            return sum(isinstance(c, nn.Conv2d) and c.kernel_size == (3, 3)
                       for c in m.modules())

        assert [convs3x3(body.conv1) + convs3x3(body.layer1),
                convs3x3(body.layer2), convs3x3(body.layer3)] == [21, 20, 20]


def test_vgg_baseline_pools_after_the_last_stage():
    _, model = build_config('vgg1_1xb64_cifar100.py')
    model.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        last = model.backbone(x)[-1]
        assert last.shape == (2, 512, 8, 8)
        feats = model.neck((last, ))
        torch.testing.assert_close(feats[0],
                                   F.max_pool2d(last, 2).flatten(1))
        assert model(x, mode='tensor').shape == (2, 100)


@pytest.mark.parametrize('ds', ['cifar10', 'cifar100'])
def test_training_augmentation_is_resize_crop_flip(ds):
    """40x40 resize, random 32x32 crop (no padding), random horizontal flip."""
    from mmpretrain.registry import TRANSFORMS
    cfg = Config.fromfile(str(CONFIGS / f'ra-vgg2_1xb64_{ds}.py'))
    assert cfg.train_dataloader.dataset.subset == 'trainval'
    assert cfg.test_dataloader.dataset.subset == 'test'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        steps = [TRANSFORMS.build(t) for t in
                 cfg.train_dataloader.dataset.pipeline]
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    resized = mmcv.imresize(img, (40, 40))
    seen = set()
    for seed in range(12):
        np.random.seed(seed)
        results = dict(img=img.copy(), gt_label=0)
        for step in steps:
            results = step(results)
        out = results['inputs'].permute(1, 2, 0).numpy()
        assert out.shape == (32, 32, 3)
        hits = [(dy, dx, flip) for dy in range(9) for dx in range(9)
                for flip in (False, True)
                if np.array_equal(
                    resized[dy:dy + 32, dx:dx + 32][:, ::-1]
                    if flip else resized[dy:dy + 32, dx:dx + 32], out)]
        assert len(hits) == 1, hits
        seen.add(hits[0])
    assert {flip for _, _, flip in seen} == {False, True}
    assert len({(dy, dx) for dy, dx, _ in seen}) > 1


def test_pool_flatten_neck():
    x = torch.rand(2, 5, 8, 8)
    neck = PoolFlatten()
    torch.testing.assert_close(neck(x), F.max_pool2d(x, 2).flatten(1))
    avg = PoolFlatten(grid=2, mode='avg')
    outs = avg((x[:, :2], x))
    torch.testing.assert_close(outs[1], F.avg_pool2d(x, 4).flatten(1))
    assert [tuple(o.shape) for o in outs] == [(2, 8), (2, 20)]
    # adaptive: any map size gives the same width
    for size in (3, 7, 13):
        assert neck(torch.rand(1, 5, size, size)).shape == (1, 80)
    with pytest.raises(TypeError, match='PoolFlatten: expected'):
        neck(torch.rand(2, 5))
    for kwargs, arg in ((dict(grid=0), 'grid'), (dict(grid=True), 'grid'),
                        (dict(mode='sum'), 'mode')):
        with pytest.raises(ValueError, match=f'^PoolFlatten: invalid {arg}='):
            PoolFlatten(**kwargs)
