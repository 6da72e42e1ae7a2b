"""The official-checkpoint converter: every official kind, round trip, bad files.

The 18 checkpoints the RLA-Net authors publish are not here (no downloads at test
time); each kind is built from the official layouts in ../shared/reference: the
dsRLA-MobileNetV2 ones are official-format checkpoints with the official logits, the
RLA-ResNet ones synthetic state dicts with the official names and shapes (R-101 has
R-50's names with 23 blocks in stage 3), the mmdet-2.x detectors the R-50/101 backbone
layouts plus mmdet 2.x's neck and head names (written out from mmdet 2.16's modules,
independently of the mmdet 3.x that builds our detectors).
"""
import contextlib
import importlib.util
import io
import json
import re
import subprocess

import pytest
import torch

from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import REPO
from mmrla.converters import (
    convert_rlanet_checkpoint,
    convert_rlanet_detector_state_dict,
    convert_rlanet_state_dict,
)
from mmrla.utils.checkpoint import check_state_dict

CONVERTER = REPO / 'tools' / 'model_converters' / 'rlanet2mmrla.py'


def load_tool(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = load_tool(CONVERTER)


def run(*args):
    """The converter's main() in-process (a subprocess costs ~9 s of imports)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = TOOL.main([str(a) for a in args])
    return subprocess.CompletedProcess(args, code, out.getvalue(),
                                       err.getvalue())


def build_config_model(config):
    """The model of a repository config, without its pretrained init (< 1 s
    for a Mask R-CNN R-101 on 2 cores)."""
    from mmdet.registry import MODELS as DET_MODELS
    from mmpretrain.registry import MODELS as CLS_MODELS
    cfg = Config.fromfile(str(REPO / config))
    cfg.model.backbone.init_cfg = None
    models = DET_MODELS if cfg.default_scope == 'mmdet' else CLS_MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return models.build(cfg.model)


def tensors(layout):
    """A state dict with exactly these names and shapes, random values."""
    return {
        name: (torch.randint(0, 9, ()) if not shape else torch.randn(shape))
        for name, shape in layout
    }


@pytest.fixture(scope='module')
def layout(reference_dir):
    return json.loads(
        (reference_dir / 'rlanet_official_layout.json').read_text())


def resnet_layout(layout, depth, eca):
    """[name, shape] of the official RLA-ResNet-``depth`` classifier.

    R-101 differs from R-50 only in the number of blocks of stage 3 (23, not 6),
    and every block after a stage's first has the same names and shapes."""
    entries = layout['models']['rla_resnet50_eca' if eca else 'rla_resnet50']
    blocks = {50: 6, 101: 23}[depth]
    out = []
    for name, shape in entries['state_dict']:
        m = re.fullmatch(r'(stages|stage_bns)\.2\.(\d+)\.(.+)', name)
        if m is None or m[2] == '0':
            out.append((name, shape))
        elif m[2] == '1':
            out += [(f'{m[1]}.2.{b}.{m[3]}', shape) for b in range(1, blocks)]
    return out


@pytest.fixture(scope='module')
def mobilenet_reference(reference_dir):
    path = reference_dir / 'rla_mobilenetv2_official_dev.pt'
    if not path.is_file():
        pytest.skip(f'the dsRLA-MobileNetV2 reference is not at {path}')
    return torch.load(path, weights_only=True)


# ---------------------------------------------------------------- ImageNet kinds


@pytest.mark.parametrize('depth,eca,config', [
    (50, False, 'rla-resnet50_4xb64_in1k.py'),
    (50, True, 'eca-rla-resnet50_4xb64_in1k.py'),
    (101, False, 'rla-resnet101_4xb64_in1k.py'),
    (101, True, 'eca-rla-resnet101_4xb64_in1k.py'),
])
def test_official_resnet_classifier_loads_into_its_config(
        layout, depth, eca, config):
    official = tensors(resnet_layout(layout, depth, eca))
    # what the official train.py saves: DataParallel keys, optimizer, accuracy
    converted = convert_rlanet_checkpoint(
        {'epoch': 120, 'arch': f'rla_resnet{depth}',
         'state_dict': {'module.' + k: v for k, v in official.items()},
         'best_acc1': torch.tensor(77.0), 'optimizer': {}}, 'official.pth.tar')
    assert converted['meta']['architecture']['stage_blocks'] == {
        50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}[depth]
    assert len(converted['state_dict']) == len(official)
    assert converted['meta']['config'] == f'configs/rla/{config}'
    # every key the config's model has, none more, every shape equal
    check_state_dict(build_config_model(f'configs/rla/{config}'),
                     converted['state_dict'], config)
    state = converted['state_dict']
    torch.testing.assert_close(state['head.fc.weight'], official['fc.weight'])
    torch.testing.assert_close(state['backbone.rla4.recurrent_conv.weight'],
                               official['recurrent_convs.3.weight'])
    last = {50: 5, 101: 22}[depth]  # the last block of stage 3
    torch.testing.assert_close(state[f'backbone.rla3.norms.{last}.running_var'],
                               official[f'stage_bns.2.{last}.running_var'])


@pytest.mark.parametrize('name,config', [
    ('dsrla_mobilenetv2_k32', 'rla-mobilenetv2_2xb48_in1k.py'),
    ('dsrla_mobilenetv2_k32_eca', 'eca-rla-mobilenetv2_2xb48_in1k.py'),
])
def test_official_mobilenet_v2_gives_the_official_logits(
        mobilenet_reference, tmp_path, name, config):
    reference = mobilenet_reference[name]
    src = tmp_path / f'{name}.pth.tar'
    torch.save(reference['checkpoint'], src)
    dst = tmp_path / 'converted.pth'
    result = run(src, dst)
    assert result.returncode == 0, result.stderr
    assert 'RLA-MobileNetV2' in result.stdout
    assert f'config: configs/rla/{config}' in result.stdout
    converted = torch.load(dst, weights_only=True)
    arch = converted['meta']['architecture']
    assert arch['stage_blocks'] == [1, 2, 3, 4, 3, 3, 1]
    assert arch['eca_kernel_sizes'] == (
        [1, 1, 1, 1, 3, 3, 3] if name.endswith('eca') else None)
    model = build_config_model(f'configs/rla/{config}')
    # the five official names of the shared recurrent conv became our seven
    assert len(converted['state_dict']) == len(
        reference['checkpoint']['state_dict']) + 2
    model.load_state_dict(converted['state_dict'], strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(reference['input'], mode='tensor')
    expected = reference['logits']
    scale = expected.abs().max()
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5 * scale)


def test_differing_recurrent_dsconv_copies_are_refused(mobilenet_reference,
                                                       tmp_path):
    checkpoint = mobilenet_reference['dsrla_mobilenetv2_k32']['checkpoint']
    state_dict = dict(checkpoint['state_dict'])
    key = 'module.recurrent_dsconvs.3.weight'
    state_dict[key] = state_dict[key] + 1e-3
    src = tmp_path / 'edited.pth'
    torch.save(dict(checkpoint, state_dict=state_dict), src)
    dst = tmp_path / 'out.pth'
    result = run(src, dst)
    assert result.returncode != 0
    assert 'recurrent_dsconvs.0.weight and recurrent_dsconvs.3.weight differ' in (
        result.stderr)
    assert 'edited.pth' in result.stderr
    assert not dst.exists() and list(tmp_path.glob('.out.pth*')) == []


def test_mobilenet_v2_missing_keys_are_named(mobilenet_reference):
    state_dict = dict(
        mobilenet_reference['dsrla_mobilenetv2_k32']['checkpoint']['state_dict'])
    del state_dict['module.recurrent_dsconvs.4.weight']
    with pytest.raises(ValueError, match=r"missing keys \['recurrent_dsconvs"
                       r"\.4\.weight'\]"):
        convert_rlanet_state_dict(state_dict, source='x.pth')
    state_dict = {
        k: v for k, v in mobilenet_reference['dsrla_mobilenetv2_k32']
        ['checkpoint']['state_dict'].items()
        if not k.startswith('module.stages.5.1.')
    }
    with pytest.raises(ValueError, match=r'blocks of stages\.5 are missing'):
        convert_rlanet_state_dict(state_dict, source='x.pth')


def test_rename_table():
    state_dict = {
        'conv1.weight': torch.zeros(1),
        'stages.0.0.conv1.weight': torch.zeros(1),
        'stages.1.0.bn1.weight': torch.zeros(1),
        'stages.2.0.downsample.1.running_mean': torch.zeros(1),
        'stages.3.0.eca.conv.weight': torch.zeros(1, 1, 7),
        'conv_outs.0.weight': torch.zeros(32, 256, 1, 1),
        'recurrent_convs.0.weight': torch.zeros(1),
        'stage_bns.0.0.weight': torch.zeros(1),
        'stage_bns.3.2.num_batches_tracked': torch.zeros(()),
        'bn2.bias': torch.zeros(1),
        'fc.bias': torch.zeros(1),
    }
    converted, arch = convert_rlanet_state_dict(state_dict)
    assert list(converted) == [
        'backbone.conv1.weight', 'backbone.layer1.0.conv1.weight',
        'backbone.layer2.0.bn1.weight',
        'backbone.layer3.0.downsample.1.running_mean',
        'backbone.layer4.0.attn.conv.weight',
        'backbone.rla1.update_conv.weight',
        'backbone.rla1.recurrent_conv.weight', 'backbone.rla1.norms.0.weight',
        'backbone.rla4.norms.2.num_batches_tracked', 'backbone.bn_rla.bias',
        'head.fc.bias'
    ]
    assert arch['architecture'] == 'RLA-ResNet'
    assert arch['rla_channels'] == 32
    assert arch['eca_kernel_sizes'] == [7]
    del state_dict['stages.1.0.bn1.weight']
    with pytest.raises(ValueError, match=r'blocks of stages\.1 are missing'):
        convert_rlanet_state_dict(state_dict)


def test_mobilenet_v2_rename_table():
    names = [
        'conv1.0.weight', 'conv1.1.running_var', 'stages.0.0.conv.0.0.weight',
        'stages.0.0.conv.0.1.bias', 'stages.0.0.conv.1.weight',
        'stages.0.0.conv.2.weight', 'stages.1.1.conv1x1.0.weight',
        'stages.1.1.conv1x1.1.num_batches_tracked', 'stages.1.0.conv.0.0.weight',
        'stages.6.0.conv.3.conv.weight', 'conv_outs.6.weight',
        'stage_bns.4.2.weight', 'conv2.0.weight', 'conv2.1.bias', 'bn2.weight',
        'classifier.1.bias'
    ]
    state_dict = {name: torch.zeros(32, 1, 3) for name in names}
    state_dict.update({f'recurrent_dsconvs.{i}.weight': torch.ones(2)
                       for i in range(5)})
    state_dict.update({f'stages.{s}.0.conv.0.0.weight': torch.zeros(1)
                       for s in range(2, 6)})
    state_dict.update({'conv_outs.0.weight': torch.zeros(32, 16, 1, 1),
                       'stage_bns.0.0.weight': torch.zeros(32)})
    converted, arch = convert_rlanet_state_dict(state_dict)
    assert arch['architecture'] == 'RLA-MobileNetV2'
    assert arch['eca_kernel_sizes'] == [3]
    assert list(converted)[:len(names)] == [
        'backbone.conv1.conv.weight', 'backbone.conv1.bn.running_var',
        'backbone.layer1.0.depthwise.conv.weight',
        'backbone.layer1.0.depthwise.bn.bias',
        'backbone.layer1.0.project.conv.weight',
        'backbone.layer1.0.project.bn.weight',
        'backbone.layer2.1.expand.conv.weight',
        'backbone.layer2.1.expand.bn.num_batches_tracked',
        'backbone.layer2.0.depthwise.conv.weight',
        'backbone.layer7.0.attn.conv.weight', 'backbone.rla7.update_conv.weight',
        'backbone.rla5.norms.2.weight', 'backbone.conv2.conv.weight',
        'backbone.conv2.bn.bias', 'backbone.bn_rla.weight', 'head.fc.bias'
    ]
    # the official model starts a new recurrent conv index at each strided row
    recurrent = [k for k in converted if 'recurrent_conv' in k]
    assert recurrent == [f'backbone.rla{i}.recurrent_conv.weight'
                         for i in (1, 2, 3, 4, 5, 6, 7)]


# --------------------------------------------------------------- COCO detectors


def mmdet2_neck_and_heads(detector):
    """[name, shape] of the official detectors' FPN and heads, as mmdet 2.x
    (2.16's ``FPN``, ``RPNHead``, ``Shared2FCBBoxHead``, ``FCNMaskHead``,
    ``RetinaHead``) names them for the official configs (80 classes)."""

    def conv(name, out, inp, k):
        return [(f'{name}.weight', [out, inp, k, k]), (f'{name}.bias', [out])]

    def linear(name, out, inp):
        return [(f'{name}.weight', [out, inp]), (f'{name}.bias', [out])]

    out = []
    if detector == 'retinanet':  # FPN from C3, two extra levels on C5
        for i, c in enumerate((512, 1024, 2048)):
            out += conv(f'neck.lateral_convs.{i}.conv', 256, c, 1)
            out += conv(f'neck.fpn_convs.{i}.conv', 256, 256, 3)
        out += conv('neck.fpn_convs.3.conv', 256, 2048, 3)
        out += conv('neck.fpn_convs.4.conv', 256, 256, 3)
        for i in range(4):
            out += conv(f'bbox_head.cls_convs.{i}.conv', 256, 256, 3)
            out += conv(f'bbox_head.reg_convs.{i}.conv', 256, 256, 3)
        out += conv('bbox_head.retina_cls', 9 * 80, 256, 3)
        out += conv('bbox_head.retina_reg', 9 * 4, 256, 3)
        return out
    for i, c in enumerate((256, 512, 1024, 2048)):
        out += conv(f'neck.lateral_convs.{i}.conv', 256, c, 1)
        out += conv(f'neck.fpn_convs.{i}.conv', 256, 256, 3)
    out += conv('rpn_head.rpn_conv', 256, 256, 3)
    out += conv('rpn_head.rpn_cls', 3, 256, 1)
    out += conv('rpn_head.rpn_reg', 3 * 4, 256, 1)
    out += linear('roi_head.bbox_head.fc_cls', 81, 1024)
    out += linear('roi_head.bbox_head.fc_reg', 80 * 4, 1024)
    out += linear('roi_head.bbox_head.shared_fcs.0', 1024, 256 * 7 * 7)
    out += linear('roi_head.bbox_head.shared_fcs.1', 1024, 1024)
    if detector == 'mask-rcnn':
        for i in range(4):
            out += conv(f'roi_head.mask_head.convs.{i}.conv', 256, 256, 3)
        out += [('roi_head.mask_head.upsample.weight', [256, 256, 2, 2]),
                ('roi_head.mask_head.upsample.bias', [256])]
        out += conv('roi_head.mask_head.conv_logits', 80, 256, 1)
    return out


def official_detector(layout, detector, depth, eca):
    """A synthetic official mmdet-2.x checkpoint (what mmdet 2.x's runner saves)."""
    backbone = [(f'backbone.{name}', shape)
                for name, shape in resnet_layout(layout, depth, eca)
                if not name.startswith(('bn2.', 'fc.'))]
    return {
        'meta': {'mmdet_version': '2.16.0', 'epoch': 12,
                 'CLASSES': tuple(f'class{i}' for i in range(80))},
        'state_dict': tensors(backbone + mmdet2_neck_and_heads(detector)),
        'optimizer': {}
    }


def test_mmdet2_backbone_layout_is_the_official_one(layout):
    # the reference's mmdet backbone: the classifier's entries minus bn2/fc
    for model in ('rla_resnet50', 'rla_resnet50_eca'):
        backbone = [n for n, _ in resnet_layout(layout, 50, 'eca' in model)
                    if not n.startswith(('bn2.', 'fc.'))]
        assert len(backbone) == layout['models'][model]['mmdet_backbone'][
            'num_state_dict_entries']


@pytest.mark.parametrize('depth', [50, 101])
@pytest.mark.parametrize('eca', [False, True], ids=['rla', 'eca-rla'])
@pytest.mark.parametrize('detector', ['faster-rcnn', 'mask-rcnn', 'retinanet'])
def test_official_detector_loads_into_its_config(layout, detector, eca,
                                                 depth):
    config = (f'configs/rla/{detector}_{"eca-" if eca else ""}'
              f'rla-r{depth}_1x_coco.py')
    official = official_detector(layout, detector, depth, eca)
    converted = convert_rlanet_checkpoint(official, 'det.pth')
    assert converted['meta']['task'] == 'detection'
    assert converted['meta']['config'] == config
    # mmdet 3.x's detector has exactly these keys and shapes: no mmdet 2.x -> 3.x
    # renames are needed for the FPN and these heads
    check_state_dict(build_config_model(config), converted['state_dict'], config)
    state, theirs = converted['state_dict'], official['state_dict']
    torch.testing.assert_close(state['backbone.rla2.norms.3.running_mean'],
                               theirs['backbone.stage_bns.1.3.running_mean'])
    neck = 'neck.fpn_convs.0.conv.weight'
    torch.testing.assert_close(state[neck], theirs[neck])


@pytest.mark.parametrize('kind', ['classifier', 'detector'])
def test_cli_round_trip(layout, tmp_path, kind):
    if kind == 'classifier':
        state_dict = tensors(resnet_layout(layout, 50, False))
        checkpoint = {'epoch': 120, 'state_dict': {
            'module.' + k: v for k, v in state_dict.items()}}
        printed = (f'(classification, RLA-ResNet): {len(state_dict)} tensors, '
                   'stage_blocks=[3, 4, 6, 3], rla_channels=32, '
                   'eca_kernel_sizes=None, num_classes=1000',
                   'config: configs/rla/rla-resnet50_4xb64_in1k.py')
    else:
        checkpoint = official_detector(layout, 'mask-rcnn', 50, True)
        state_dict = checkpoint['state_dict']
        printed = ('(detection, RLA-ResNet mask-rcnn): ',
                   'eca_kernel_sizes=[5, 5, 5, 7], num_classes=None',
                   'config: configs/rla/mask-rcnn_eca-rla-r50_1x_coco.py')
    src = tmp_path / 'official.pth'
    torch.save(checkpoint, src)
    dst = tmp_path / 'out' / 'converted.pth'
    result = run(src, dst)
    assert result.returncode == 0, result.stderr
    for text in printed:
        assert text in result.stdout
    converted = torch.load(dst, weights_only=True)
    assert len(converted['state_dict']) == len(state_dict)
    assert converted['meta']['config'] in result.stdout
    if kind == 'detector':  # mmdet 2.x's CLASSES, where mmdet 3.x looks
        assert converted['meta']['dataset_meta']['classes'][79] == 'class79'


def test_detector_with_other_heads_is_refused(layout, tmp_path):
    official = official_detector(layout, 'faster-rcnn', 50, False)
    official['state_dict']['roi_head.semantic_head.conv.weight'] = torch.zeros(1)
    src = tmp_path / 'htc.pth'
    torch.save(official, src)
    result = run(src, tmp_path / 'out.pth')
    assert result.returncode != 0
    assert "roi_head.semantic_head" in result.stderr
    assert 'official RLA-Net detectors are faster-rcnn' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_detector_backbone_with_classifier_is_refused(layout):
    official = official_detector(layout, 'retinanet', 50, False)
    official['state_dict']['backbone.fc.bias'] = torch.zeros(1000)
    with pytest.raises(ValueError, match=r'has no classifier \(bn2/fc\)'):
        convert_rlanet_detector_state_dict(official, source='det.pth')


def test_detector_with_mobilenet_backbone_is_refused(mobilenet_reference,
                                                     layout):
    state_dict = mobilenet_reference['dsrla_mobilenetv2_k32']['checkpoint'][
        'state_dict']
    detector = {f'backbone.{k[len("module."):]}': v
                for k, v in state_dict.items()}
    detector.update(tensors(mmdet2_neck_and_heads('retinanet')))
    with pytest.raises(ValueError, match='an RLA-MobileNetV2'):
        convert_rlanet_checkpoint(detector, source='det.pth')


# -------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    dst = tmp_path / 'out.pth'
    result = run(tmp_path / 'nope.pth', dst)
    assert result.returncode != 0
    assert 'not found' in result.stderr and 'nope.pth' in result.stderr
    assert not dst.exists()


def test_empty_and_truncated_files(tmp_path):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    whole = tmp_path / 'whole.pth'
    torch.save({'state_dict': {'conv1.weight': torch.randn(64, 3, 7, 7)}},
               whole)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(whole.read_bytes()[:200])
    for src, words in ((empty, 'empty'), (truncated, 'cannot load')):
        dst = tmp_path / 'out.pth'
        result = run(src, dst)
        assert result.returncode != 0
        assert words in result.stderr and src.name in result.stderr
        assert not dst.exists()
        assert list(tmp_path.glob('.out.pth*')) == []


def test_unrelated_model_is_refused(tmp_path):
    import torchvision
    src = tmp_path / 'resnet18.pth'
    torch.save({'state_dict': torchvision.models.resnet18().state_dict()}, src)
    result = run(src, tmp_path / 'out.pth')
    assert result.returncode != 0
    assert 'not an official RLA-Net checkpoint' in result.stderr
    assert 'conv_outs.0.weight' in result.stderr
    assert 'recurrent_dsconvs.0.weight' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_extra_keys_are_named(tmp_path):
    sd = {k: torch.zeros(1) for k in (
        'conv1.weight', 'stages.0.0.conv1.weight', 'conv_outs.0.weight',
        'recurrent_convs.0.weight', 'stage_bns.0.0.weight',
        'stages.0.0.se.fc.0.weight')}
    with pytest.raises(ValueError, match=r'se\.fc\.0\.weight'):
        convert_rlanet_state_dict(sd, source='x.pth')
