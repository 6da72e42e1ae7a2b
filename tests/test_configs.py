"""Every config loads and builds its model in its own scope, and runs under the
upstream tools' dataloader defaults; both scopes know RLAResNet."""
from pathlib import Path

import pytest
import torch

from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO

CONFIGS = sorted(
    p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)


def scope_models(scope):
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    elif scope == 'mmpretrain':
        from mmpretrain.registry import MODELS
    else:
        raise AssertionError(f'unexpected default_scope {scope!r}')
    return MODELS


SMALL = [
    (dict(type='RLAResNet', depth=18, stage_blocks=(1, 1, 1, 1)), 32,
     (1, 544, 1, 1)),
    (dict(type='ResNetBody', depth=20, stem_type='cifar'), 32, (1, 64, 8, 8)),
    (dict(type='LayerAttentionResNet', depth=20, stem_type='cifar',
          lstm_channels=4, reduction=2), 32, (1, 64, 8, 8)),
    (dict(type='CRMN', depth=20, stem_type='cifar', lstm_channels=8), 32,
     (1, 72, 1, 1)),
    (dict(type='RLAMobileNetV2', rla_channels=8), 32, (1, 1280, 1, 1)),
    (dict(type='RAVGG', stage_channels=(8, 16, 32), lstm_channels=8), 32,
     (1, 8, 1, 1)),
    (dict(type='RAResNet', depth=20, stem_type='cifar', lstm_channels=8), 32,
     (1, 8, 1, 1)),
    (dict(type='LRNNNet', arch='a-forward'), 32, (1, 256, 1, 1)),
    (dict(type='LRNNResNet', depth=18, lrnn_position='mid'), 32,
     (1, 512, 1, 1)),
]


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
@pytest.mark.parametrize('cfg,size,shape', SMALL, ids=lambda v: v['type']
                         if isinstance(v, dict) else '')
def test_plain_name_builds_in_both_scopes(scope, cfg, size, shape):
    import mmrla  # noqa: F401
    models = scope_models(scope)
    with DefaultScope.overwrite_default_scope(scope):
        backbone = models.build(cfg)
    assert type(backbone).__name__ == cfg['type']
    out = backbone.eval()(torch.rand(1, 3, size, size))
    assert out[-1].shape == shape


def test_configs_exist():
    names = {p.name for p in CONFIGS}
    for depth in (50, 101, 152):
        assert f'rla-resnet{depth}_4xb64_in1k.py' in names
        assert f'eca-rla-resnet{depth}_4xb64_in1k.py' in names
    assert {'rla-resnet18_4xb64_in1k.py', 'rla-resnet34_4xb64_in1k.py'} <= names
    for ds in ('cifar10', 'cifar100'):
        assert {f'rla-resnet110_1xb128_{ds}.py',
                f'rla-resnet164_1xb128_{ds}.py'} <= names
    assert {f'faster-rcnn_rla-attention-r{d}_1x_coco.py'
            for d in (50, 101)} <= names
    assert 'faster-rcnn_crmn-r50_1x_coco.py' in names


# the backbone each config directory is about
BACKBONES = {
    'rla': ('RLAResNet', 'RLAMobileNetV2'),
    'rla_attention': ('LayerAttentionResNet', ),
    'crmn': ('CRMN', ),
    'lrnn': ('LRNNNet', 'LRNNResNet'),
    'ra_lstm': ('RAVGG', 'RAResNet', 'VGGBody', 'ResNetBody'),
    'baselines': ('ResNet', 'ResNetBody', 'MobileNetV2'),
    'study': ('ResNetBody', 'RLAResNet', 'LayerAttentionResNet', 'CRMN',
              'RAResNet', 'LRNNResNet'),
}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_builds_its_model(path: Path):
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports == dict(
        imports=['mmrla'], allow_failed_imports=False)
    assert cfg.default_scope in ('mmpretrain', 'mmdet')
    # mmpretrain's own tools/train.py fills persistent_workers=True into every
    # dataloader that does not set it; torch refuses that without workers
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader') or {}
        persistent = loader.get('persistent_workers',
                                cfg.default_scope == 'mmpretrain')
        assert not persistent or loader.get('num_workers', 0) > 0, (
            f'{split}_dataloader.persistent_workers needs num_workers > 0')
    models = scope_models(cfg.default_scope)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = models.build(cfg.model)
    assert type(model.backbone).__name__ in BACKBONES[path.parent.name]
    if cfg.default_scope == 'mmpretrain':
        # the head reads the backbone's readout: C + k channels
        # (upstream MobileNetV2 calls it out_channel)
        feat_dim = getattr(model.backbone, 'feat_dim', None) or getattr(
            model.backbone, 'out_channel')
        # a PoolFlatten neck hands on a grid x grid cells per channel
        cells = getattr(getattr(model, 'neck', None), 'grid', 1)**2
        assert model.head.in_channels == feat_dim * cells
        model.eval()
        with torch.no_grad():
            size = 32 if 'cifar' in path.name or 'fmnist' in path.name else 64
            channels = cfg.model.backbone.get('in_channels', 3)
            scores = model(torch.rand(1, channels, size, size), mode='tensor')
        assert scores.shape == (1, model.head.num_classes)


def test_in1k_recipe():
    cfg = Config.fromfile(str(REPO / 'configs/rla/rla-resnet50_4xb64_in1k.py'))
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.auto_scale_lr.base_batch_size == 256
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.1,
                                                                 0.9, 1e-4)
    assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.param_scheduler.gamma == 0.1
    assert cfg.train_cfg.max_epochs == 120
    eca = Config.fromfile(
        str(REPO / 'configs/rla/eca-rla-resnet101_4xb64_in1k.py'))
    assert eca.model.backbone.depth == 101
    assert eca.model.backbone.attention == dict(type='ECA',
                                                kernel_size=[5, 5, 5, 7])
