"""The official-checkpoint converter: layout, round trip, bad files."""
import contextlib
import importlib.util
import io
import json
import subprocess

import pytest
import torch

from conftest import REPO
from mmrla.converters import convert_rlanet_state_dict

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


def synthetic_official(layout_entry):
    """A state dict with exactly the official names and shapes."""
    return {
        name: (torch.zeros(shape, dtype=torch.int64) if not shape else
               torch.randn(shape))
        for name, shape in layout_entry['state_dict']
    }


@pytest.fixture(scope='module')
def layout(reference_dir):
    return json.loads(
        (reference_dir / 'rlanet_official_layout.json').read_text())


@pytest.mark.parametrize('model', ['rla_resnet50', 'rla_resnet50_eca'])
def test_full_official_layout_converts_and_loads_strict(layout, tmp_path,
                                                        model):
    from mmpretrain.models import ImageClassifier
    entry = layout['models'][model]
    official = synthetic_official(entry)
    src = tmp_path / 'official.pth.tar'
    torch.save({'epoch': 1, 'state_dict': {'module.' + k: v
                                           for k, v in official.items()}},
               src)
    dst = tmp_path / 'out' / 'converted.pth'
    result = run(src, dst)
    assert result.returncode == 0, result.stderr
    assert 'stage_blocks=[3, 4, 6, 3]' in result.stdout
    converted = torch.load(dst, weights_only=True)
    assert len(converted['state_dict']) == entry['num_state_dict_entries']
    eca = entry['eca_k_size']
    classifier = ImageClassifier(
        backbone=dict(type='RLAResNet', depth=50,
                      attention=dict(type='ECA', kernel_size=eca)
                      if eca else None),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=2080))
    # same number of entries and every tensor lands with the right shape
    assert len(classifier.state_dict()) == entry['num_state_dict_entries']
    classifier.load_state_dict(converted['state_dict'], strict=True)
    torch.testing.assert_close(classifier.head.fc.weight, official['fc.weight'])
    torch.testing.assert_close(classifier.backbone.rla4.recurrent_conv.weight,
                               official['recurrent_convs.3.weight'])


def test_rename_table():
    state_dict = {
        'conv1.weight': torch.zeros(1),
        'stages.0.0.conv1.weight': torch.zeros(1),
        'stages.1.0.bn1.weight': torch.zeros(1),
        'stages.2.0.downsample.1.running_mean': torch.zeros(1),
        'stages.3.0.eca.conv.weight': torch.zeros(1),
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
    assert arch['rla_channels'] == 32
    del state_dict['stages.1.0.bn1.weight']
    with pytest.raises(ValueError, match=r'blocks of stages\.1 are missing'):
        convert_rlanet_state_dict(state_dict)


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
    assert 'not an official RLA-ResNet' in result.stderr
    assert 'conv_outs.0.weight' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_extra_keys_are_named(tmp_path):
    sd = {k: torch.zeros(1) for k in (
        'conv1.weight', 'stages.0.0.conv1.weight', 'conv_outs.0.weight',
        'recurrent_convs.0.weight', 'stage_bns.0.0.weight',
        'stages.0.0.se.fc.0.weight')}
    with pytest.raises(ValueError, match=r'se\.fc\.0\.weight'):
        convert_rlanet_state_dict(sd, source='x.pth')
