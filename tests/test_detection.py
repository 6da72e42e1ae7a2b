"""mmrla detectors on the upstream mmdet engine: forward/loss/predict, init errors,
conversion of the official mmdet-2.x detector checkpoints."""
import json

import pytest
import torch

from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO
from mmrla.converters import convert_rlanet_checkpoint

DETECTORS = ('faster-rcnn', 'mask-rcnn', 'retinanet')


def build_detector(name, init_cfg=None):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(str(REPO / 'configs' / 'rla' / f'{name}_1x_coco.py'))
    cfg.model.backbone.init_cfg = init_cfg
    # from scratch: zero-initialised residual branches would also block every
    # gradient into the RLA cells at step one
    cfg.model.backbone.zero_init_residual = False
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('backbone', ['rla-r50', 'eca-rla-r50'])
@pytest.mark.parametrize('detector', DETECTORS)
def test_forward_loss_and_predict(detector, backbone):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    model = build_detector(f'{detector}_{backbone}')
    model.init_weights()
    with_mask = detector == 'mask-rcnn'
    packed = demo_mm_inputs(
        2, [[3, 96, 128], [3, 120, 88]], num_items=[3, 2], num_classes=80,
        with_mask=with_mask)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    expected = {'retinanet': {'loss_cls', 'loss_bbox'},
                'faster-rcnn': {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls',
                                'loss_bbox', 'acc'}}.get(detector)
    if with_mask:
        expected = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox',
                    'acc', 'loss_mask'}
    assert set(losses) == expected
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    grad = model.backbone.rla3.update_conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    # frozen stage 1 (and its RLA cell) gets no gradient
    assert model.backbone.rla1.update_conv.weight.grad is None

    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False),
                        mode='predict')
    assert len(results) == 2
    assert results[0].pred_instances.bboxes.shape[1] == 4
    if with_mask:
        assert 'masks' in results[0].pred_instances


def test_missing_imagenet_checkpoint_stops_with_instructions(tmp_path):
    missing = tmp_path / 'rla-resnet50_in1k.pth'
    model = build_detector(
        'faster-rcnn_rla-r50',
        init_cfg=dict(type='Pretrained', checkpoint=str(missing),
                      prefix='backbone.'))
    with pytest.raises(FileNotFoundError) as info:
        model.init_weights()
    message = str(info.value)
    assert str(missing) in message and 'rlanet2mmrla.py' in message


def official_detector_checkpoint(model, layout):
    """A synthetic official mmdet-2.x checkpoint: official backbone names (from the
    official layout), our detector's other keys, random values."""
    backbone = [(name, shape) for name, shape in layout['state_dict']
                if not name.startswith(('bn2.', 'fc.'))]
    state_dict = {
        f'backbone.{name}': (torch.randint(0, 9, ()) if not shape else
                             torch.randn(shape))
        for name, shape in backbone
    }
    for key, value in model.state_dict().items():
        if not key.startswith('backbone.'):
            state_dict[key] = torch.randn_like(value.float())
    return {'meta': {'mmdet_version': '2.11.0', 'CLASSES': ['person'] * 80},
            'state_dict': state_dict, 'optimizer': {}}


@pytest.mark.parametrize('detector', DETECTORS)
def test_official_detector_checkpoint_converts_without_missing_keys(
        reference_dir, tmp_path, detector):
    from mmengine.runner import load_checkpoint
    layout = json.loads(
        (reference_dir / 'rlanet_official_layout.json').read_text())
    model = build_detector(f'{detector}_rla-r50')
    official = official_detector_checkpoint(
        model, layout['models']['rla_resnet50'])
    converted = convert_rlanet_checkpoint(official, source='det.pth')
    assert converted['meta']['task'] == 'detection'
    ours, theirs = set(model.state_dict()), set(converted['state_dict'])
    assert ours == theirs, (sorted(ours - theirs)[:5], sorted(theirs - ours)[:5])
    path = tmp_path / 'det.pth'
    torch.save(converted, path)
    load_checkpoint(model, str(path), strict=True)
    torch.testing.assert_close(
        model.backbone.rla2.norms[3].running_mean,
        official['state_dict']['backbone.stage_bns.1.3.running_mean'])


@pytest.mark.parametrize('config', [
    'rla_attention/faster-rcnn_rla-attention-r50_1x_coco.py',
    'crmn/faster-rcnn_crmn-r50_1x_coco.py'
])
def test_other_backbones_train_in_faster_rcnn(config, tmp_path):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    missing = tmp_path / 'missing.pth'
    cfg.model.backbone.init_cfg = dict(type='Pretrained',
                                       checkpoint=str(missing))
    cfg.model.backbone.stage_blocks = (1, 1, 2, 1)  # small and fast
    # from scratch (no checkpoint here): zero-initialised branches pass no gradient
    cfg.model.backbone.zero_init_residual = False
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match='Train the matching ImageNet'):
        model.init_weights()
    model.backbone.init_cfg = None
    model.init_weights()
    packed = demo_mm_inputs(2, [[3, 96, 128], [3, 120, 88]], num_items=[3, 2],
                            num_classes=80)
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    backbone = model.backbone
    assert backbone.layer1[0].conv1.weight.grad is None  # frozen stage 1
    assert backbone.layer3[0].conv1.weight.grad.abs().sum() > 0
    if hasattr(backbone, 'attention_heads'):
        # the heads of stage 1 are frozen with it, those after it learn
        assert backbone.attention_heads[0].fc1.weight.grad is None
        assert backbone.attention_heads[3].fc1.weight.grad.abs().sum() > 0
        assert backbone.lstm.linear.weight.grad.abs().sum() > 0
    else:
        assert backbone.lstm is None  # CRMN: no memory where nothing reads it
