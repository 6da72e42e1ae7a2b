"""ONNX export: every registered backbone, both exporters, checked in onnxruntime.

Each backbone of tests/test_compile.py's :data:`GRAPH_CASES` is exported by
``tools/deployment/pytorch2onnx.py``'s ``export_onnx`` with dynamic batch and image
size (only the batch where the design holds the image size: CRMN's 2x2-pooled memory,
the Layer-RNN scans) and run by onnxruntime at two input sizes (two batch sizes there),
with torch's default (dynamo) exporter and the TorchScript one (``dynamo=False``,
which mmdeploy 1.x drives). Then the tool itself: a classifier and a detector's
backbone from their configs, and its errors.
"""
import importlib.util

import onnx
import pytest
import torch

from conftest import REPO
from mmrla.utils.fileio import build_model_from_config, load_config_file
from test_compile import GRAPH_CASES, INPUT_SHAPE, build_graph_case

TOOL = REPO / 'tools/deployment/pytorch2onnx.py'
# the cases whose graph holds the image size it was traced at
FIXED_IMAGE_SIZE = {'CRMN-2x2', 'LRNNNet', 'LRNNResNet'}


def load_tool():
    spec = importlib.util.spec_from_file_location('pytorch2onnx', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pytorch2onnx = load_tool()


@pytest.mark.parametrize('exporter', pytorch2onnx.EXPORTERS)
@pytest.mark.parametrize('case', sorted(GRAPH_CASES))
def test_backbone_exports_with_dynamic_sizes(case, exporter, tmp_path):
    model = build_graph_case(case).eval()
    fixed = pytorch2onnx.image_size_fixed_in_graph(model)
    assert (fixed is not None) == (case in FIXED_IMAGE_SIZE), fixed
    path = tmp_path / 'model.onnx'
    names = pytorch2onnx.export_onnx(model, torch.randn(*INPUT_SHAPE),
                                     str(path), exporter,
                                     dynamic_image=fixed is None)
    shapes = pytorch2onnx.check_shapes(*INPUT_SHAPE[:1], *INPUT_SHAPE[2:],
                                       dynamic_image=fixed is None)
    assert shapes[1][0] != shapes[0][0]
    assert (shapes[1][2:] != shapes[0][2:]) == (fixed is None)
    # float32 rounding, relative to each output's scale
    results = pytorch2onnx.check_onnx(path, model, shapes, tolerance=1e-5)
    assert [shape for shape, _ in results] == shapes
    graph = onnx.load(str(path)).graph
    assert [o.name for o in graph.output] == names
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].dim_value  # the batch
    assert all(bool(d.dim_param) == (fixed is None) for d in dims[2:])


def test_check_finds_a_wrong_graph(tmp_path):
    """The check is real: another model's graph fails it, naming the output."""
    model = build_graph_case('VGGBody').eval()
    path = tmp_path / 'model.onnx'
    pytorch2onnx.export_onnx(model, torch.randn(*INPUT_SHAPE), str(path),
                             'torchscript')
    with torch.no_grad():
        model.layer1[0][0].conv.weight.mul_(1.01)
    with pytest.raises(pytorch2onnx.ExportError,
                       match=r'output 0 differs from eager by .*\(batch 2 '
                       r'at 48x40'):
        pytorch2onnx.check_onnx(path, model, [INPUT_SHAPE], tolerance=1e-5)


CLASSIFIER = REPO / 'configs/rla/rla-resnet18_1xb32_digits.py'
DETECTOR = REPO / 'configs/rla/faster-rcnn_rla-r18_100e_deepforest.py'


def checkpoint_of(config, path):
    """A checkpoint of ``config``'s model with its initial weights."""
    torch.manual_seed(0)
    model, _ = build_model_from_config(load_config_file(config), config)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def run_tool(capsys, *argv):
    code = pytorch2onnx.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_tool_exports_a_classifier(tmp_path, capsys):
    ckpt = checkpoint_of(CLASSIFIER, tmp_path / 'cls.pth')
    out = tmp_path / 'sub' / 'cls.onnx'
    code, stdout, err = run_tool(capsys, CLASSIFIER, ckpt, '--output-file', out,
                                 '--shape', 32, 32, '--exporter', 'torchscript')
    assert code == 0, err
    assert 'input (batch, 3, height, width) -> cls_score' in stdout
    assert 'batch 1 at 32x32' in stdout and 'batch 2 at 41x25' in stdout
    assert f'wrote {out}' in stdout
    graph = onnx.load(str(out)).graph
    assert [o.name for o in graph.output] == ['cls_score']
    assert sorted(p.name for p in out.parent.iterdir()) == ['cls.onnx']


def test_tool_exports_a_detector_backbone(tmp_path, capsys):
    ckpt = checkpoint_of(DETECTOR, tmp_path / 'det.pth')
    out = tmp_path / 'det.onnx'
    code, stdout, err = run_tool(capsys, DETECTOR, ckpt, '--output-file', out,
                                 '--backbone', '--shape', 64, 96,
                                 '--exporter', 'torchscript')
    assert code == 0, err
    assert 'exported RLAResNet (backbone) with the torchscript exporter' \
        in stdout
    assert '-> feat0, feat1, feat2, feat3' in stdout
    assert out.is_file()
    # a whole detector is mmdeploy's job: said, and nothing written
    code, _, err = run_tool(capsys, DETECTOR, ckpt, '--output-file',
                            tmp_path / 'whole.onnx')
    assert code == 1
    assert 'a detector' in err and '--backbone' in err and 'mmdeploy' in err
    assert not (tmp_path / 'whole.onnx').exists()


@pytest.mark.parametrize('extra,words', [
    (['--shape', '8', '8'], '--shape must be at least 17'),
    (['--batch', '0'], '--batch must be in'),
    (['--tolerance', '0'], '--tolerance must be positive'),
    (['--output-file', 'x.txt'], 'expected a .onnx path'),
])
def test_tool_bad_arguments(extra, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_tool(capsys, CLASSIFIER, tmp_path / 'none.pth', *extra)
    assert code == 1
    assert err.startswith('error: ') and words in err
    assert list(tmp_path.iterdir()) == []


def test_tool_refuses_another_models_checkpoint(tmp_path, capsys):
    other = build_graph_case('VGGBody')
    torch.save(other.state_dict(), tmp_path / 'vgg.pth')
    out = tmp_path / 'cls.onnx'
    code, _, err = run_tool(capsys, CLASSIFIER, tmp_path / 'vgg.pth',
                            '--output-file', out)
    assert code == 1 and str(tmp_path / 'vgg.pth') in err
    assert not out.exists()


def test_tool_writes_nothing_when_the_check_fails(tmp_path, capsys):
    ckpt = checkpoint_of(CLASSIFIER, tmp_path / 'cls.pth')
    out = tmp_path / 'cls.onnx'
    # onnxruntime and eager round differently: no graph passes tolerance 1e-12
    code, _, err = run_tool(capsys, CLASSIFIER, ckpt, '--output-file', out,
                            '--shape', 32, 32, '--exporter', 'torchscript',
                            '--tolerance', 1e-12)
    assert code == 1
    assert 'differs from eager' in err and 'tolerance 1e-12' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cls.pth']


def test_tool_exits_with_the_code_main_returns():
    source = TOOL.read_text()
    assert "if __name__ == '__main__':\n    sys.exit(main())" in source
    assert '@cli_errors' in source
