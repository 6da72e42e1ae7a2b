"""mmrla reproduces the official RLA-Net numerically (shared/reference)."""
import importlib.util

import pytest
import torch

from mmengine.runner import load_checkpoint
from mmpretrain.models import ImageClassifier

from conftest import REPO
from mmrla.models import RLAResNet

CONVERTER = REPO / 'tools' / 'model_converters' / 'rlanet2mmrla.py'
_spec = importlib.util.spec_from_file_location('rlanet2mmrla', CONVERTER)
_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tool)
CONVERTER_MAIN = _tool.main


@pytest.fixture(scope='module')
def reference(reference_dir):
    return torch.load(reference_dir / 'rla_official_dev.pt', weights_only=True)


def backbone_cfg(entry, **kwargs):
    eca = list(entry['eca_k_size'])
    return dict(
        type='RLAResNet',
        depth=50,
        stage_blocks=tuple(entry['layers']),
        rla_channels=entry['rla_channel'],
        attention=dict(type='ECA', kernel_size=eca) if eca else None,
        **kwargs)


def convert(entry, tmp_path, name, prefix=''):
    src = tmp_path / f'{name}_official.pth'
    state_dict = {prefix + k: v for k, v in entry['state_dict'].items()}
    torch.save({'epoch': 120, 'state_dict': state_dict, 'best_acc1': 0.0}, src)
    dst = tmp_path / f'{name}_mmrla.pth'
    assert CONVERTER_MAIN([str(src), str(dst)]) == 0
    return dst


@pytest.mark.parametrize('name', ['no_eca', 'eca'])
@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_classifier_reproduces_official_logits(reference, tmp_path, name,
                                               prefix):
    entry = reference[name]
    dst = convert(entry, tmp_path, name, prefix)
    model = ImageClassifier(
        backbone=backbone_cfg(entry),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=entry['num_classes'],
                  in_channels=2048 + entry['rla_channel'])).eval()
    checkpoint = torch.load(dst, weights_only=True)
    # strict: every tensor of the model comes from the official checkpoint
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    with torch.no_grad():
        logits = model(entry['input'], mode='tensor')
    assert logits.shape == entry['logits'].shape
    torch.testing.assert_close(logits, entry['logits'], rtol=0, atol=1e-5)
    # In float64 the maths must agree to rounding: any deviation from the official
    # computation (order of ops, pooling, what feeds the update) shows up here.
    with torch.no_grad():
        logits64 = model.double()(entry['input'].double(), mode='tensor')
    torch.testing.assert_close(
        logits64, entry['logits_fp64'], rtol=0, atol=1e-12)


@pytest.mark.parametrize('name', ['no_eca', 'eca'])
def test_detection_backbone_reproduces_official_det_outs(reference, tmp_path,
                                                         name):
    entry = reference[name]
    dst = convert(entry, tmp_path, name)
    backbone = RLAResNet(**{
        k: v for k, v in backbone_cfg(
            entry, h_readout=False, out_indices=(0, 1, 2, 3),
            init_cfg=dict(type='Pretrained', checkpoint=str(dst),
                          prefix='backbone.')).items() if k != 'type'})
    before = backbone.conv1.weight.clone()
    backbone.init_weights()  # what mmdet does with the detector's backbone
    assert not torch.equal(before, backbone.conv1.weight)
    backbone.eval()
    with torch.no_grad():
        outs = backbone(entry['input'])
    assert len(outs) == len(entry['det_outs']) == 4
    for out, ref in zip(outs, entry['det_outs']):
        assert out.shape == ref.shape
        # 1e-5 relative to the output's scale: stage 4 reaches |x| = 11 and there
        # the fp32 reference itself is 1.3e-5 away from an fp64 run of the same
        # weights, so an absolute 1e-5 would test float32 rounding, not the maths
        # (which the fp64 logits test pins to 1e-12).
        scale = max(1.0, ref.abs().max().item())
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-5 * scale)


def test_converted_checkpoint_loads_as_backbone_with_mmengine(reference,
                                                              tmp_path):
    entry = reference['no_eca']
    dst = convert(entry, tmp_path, 'no_eca')
    backbone = RLAResNet(**{
        k: v
        for k, v in backbone_cfg(entry, h_readout=False).items()
        if k != 'type'
    })
    load_checkpoint(backbone, str(dst), revise_keys=[(r'^backbone\.', '')],
                    strict=False)
    torch.testing.assert_close(
        backbone.rla2.norms[0].running_var,
        entry['state_dict']['stage_bns.1.0.running_var'])
