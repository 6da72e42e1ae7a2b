"""Bad files: converters and tools given a missing, empty, truncated, foreign or
code-running file print one clear ``error:`` line naming the file, exit 1, run no
code from the file and leave no output (nor temporary file) behind.

Most calls run a tool's ``main(argv)`` in-process (a Python start with torch and
mmengine costs seconds); a few real processes check exit codes and tracebacks.
"""
import contextlib
import importlib.util
import io
import json
import os
import pickle
import random
import subprocess
import sys
import zipfile

import pytest
import torch
from torch import nn

from conftest import REPO
from mmrla.utils.checkpoint import (
    CheckpointError,
    CheckpointNotFoundError,
    check_checkpoint_file,
    load_checkpoint_file,
    save_checkpoint_atomic,
)
from mmrla.utils.fileio import BadFileError, MissingFileError, atomic_dir, atomic_write

CONVERTER = REPO / 'tools/model_converters/rlanet2mmrla.py'
GET_FLOPS = REPO / 'tools/analysis/get_flops.py'
BENCHMARK = REPO / 'tools/analysis/benchmark.py'
PLOT_LOSS = REPO / 'tools/analysis/plot_loss.py'
PLOT_ATTENTION = REPO / 'tools/analysis/plot_layer_attention.py'
DIGITS = REPO / 'tools/dataset_converters/digits2folder.py'
DEEPFOREST = REPO / 'tools/dataset_converters/deepforest2coco.py'
SMALL_CONFIG = REPO / 'configs/baselines/resnet32_1xb100_cifar100.py'
ATTENTION_CONFIG = (REPO / 'configs/rla_attention/'
                    'rla-attention-resnet20_1xb128_cifar10.py')


def load_tool(path):
    """Import the tool as running it does: its folder first on ``sys.path``,
    for the modules beside it."""
    spec = importlib.util.spec_from_file_location(f'tool_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


_TOOLS = {}


def call(path, *args):
    """``main(argv)`` of the tool at ``path``: (exit code, stdout, stderr)."""
    if path not in _TOOLS:
        _TOOLS[path] = load_tool(path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _TOOLS[path].main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def assert_clear_error(code, err, path, *words):
    """Exit code 1 and exactly one ``error:`` line naming ``path`` and ``words``."""
    assert code == 1, err
    assert 'Traceback' not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    assert str(path) in lines[0], err
    for word in words:
        assert word in lines[0], f'{word!r} not in {lines[0]!r}'


def assert_nothing_left(folder, *outputs):
    """The outputs do not exist, and ``folder`` holds no temporary files."""
    for output in outputs:
        assert not os.path.lexists(output), output
    if folder.exists():
        leftovers = [p.name for p in folder.iterdir()
                     if p.name.startswith('.') or p.name.endswith(
                         ('.tmp', '.partial.png'))]
        assert leftovers == [], leftovers


# ---------------------------------------------------------------- bad files

class Call:
    """Pickles as a call of ``fn(*args)``: what a crafted checkpoint runs on load."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Conv2d(8, 4, 1))


@pytest.fixture(scope='module')
def bad(tmp_path_factory):
    """{kind: path} of bad checkpoints, and the marker a crafted one would create."""
    root = tmp_path_factory.mktemp('bad')
    marker = root / 'MARKER_CODE_RAN'
    files = {'missing': root / 'missing.pth', 'directory': root / 'folder.pth'}
    files['directory'].mkdir()
    files['empty'] = root / 'empty.pth'
    files['empty'].write_bytes(b'')
    whole = root / 'whole.pth'  # a valid checkpoint: cut in half below
    torch.save({'state_dict': tiny_model().state_dict()}, whole)
    files['truncated'] = root / 'truncated.pth'
    files['truncated'].write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    legacy = root / 'legacy.pth'
    torch.save({'state_dict': tiny_model().state_dict()}, legacy,
               _use_new_zipfile_serialization=False)
    files['truncated-legacy'] = root / 'truncated_legacy.pth'
    files['truncated-legacy'].write_bytes(
        legacy.read_bytes()[:legacy.stat().st_size // 2])
    files['random'] = root / 'random.pth'
    files['random'].write_bytes(random.Random(0).randbytes(4096))
    files['text'] = root / 'notes.pth'
    files['text'].write_text('not a checkpoint, just some notes\n')
    files['evil-open'] = root / 'evil_open.pth'
    torch.save({'state_dict': {'w': Call(open, str(marker), 'w')}},
               files['evil-open'])
    files['evil-system'] = root / 'evil_system.pth'
    torch.save({'state_dict': Call(os.system, f'touch {marker}')},
               files['evil-system'])
    files['evil-pickle'] = root / 'evil.pkl'  # a plain pickle, no torch format
    with open(files['evil-pickle'], 'wb') as f:
        pickle.dump(Call(os.system, f'touch {marker}'), f, protocol=2)
    files['foreign-resnet'] = root / 'resnet18.pth'  # torchvision-like names
    torch.save({'state_dict': {
        'conv1.weight': torch.zeros(64, 3, 7, 7), 'bn1.weight': torch.ones(64),
        'layer1.0.conv1.weight': torch.zeros(64, 64, 3, 3),
        'fc.weight': torch.zeros(1000, 512), 'fc.bias': torch.zeros(1000)
    }}, files['foreign-resnet'])
    files['no-state-dict'] = root / 'other_format.pth'
    torch.save({'epoch': 3, 'model': {'w': torch.zeros(2)}},
               files['no-state-dict'])
    files['not-a-dict'] = root / 'tensor.pth'
    torch.save(torch.zeros(3), files['not-a-dict'])
    yield files, marker
    assert not marker.exists(), 'a crafted checkpoint ran code'


# what every loader must say: a word of the message for each kind
LOAD_ERRORS = {
    'missing': 'not found',
    'directory': 'is a directory',
    'empty': 'is empty (0 bytes)',
    'truncated': 'truncated or corrupt',
    'truncated-legacy': 'load',  # "cannot load" or "refusing to load"
    'random': 'not a torch checkpoint',
    'text': 'not a torch checkpoint',
    'evil-open': 'refusing to load',
    'evil-system': 'refusing to load',
    'evil-pickle': 'load',
}


@pytest.mark.parametrize('kind', LOAD_ERRORS)
def test_load_checkpoint_file_refuses(bad, kind):
    files, marker = bad
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_file(files[kind])
    message = str(info.value)
    assert str(files[kind]) in message and LOAD_ERRORS[kind] in message
    assert len(message.splitlines()) == 1
    if kind == 'missing':
        assert isinstance(info.value, (CheckpointNotFoundError,
                                       FileNotFoundError, MissingFileError))
    if kind.startswith('evil'):
        assert 'weights_only=True' in message
        assert not marker.exists()


@pytest.mark.parametrize('kind,words', [
    ('foreign-resnet', ()),
    ('no-state-dict', ("['epoch', 'model']", )),
    ('not-a-dict', ('Tensor', )),
])
def test_state_dict_must_be_a_dict_of_tensors(bad, kind, words):
    files, _ = bad
    model = tiny_model()
    with pytest.raises(CheckpointError) as info:
        check_checkpoint_file(files[kind], model)
    message = str(info.value)
    assert str(files[kind]) in message
    for word in words:
        assert word in message
    if kind == 'foreign-resnet':  # a real state dict, of another model
        assert 'does not match the model Sequential' in message
        assert "missing keys (first: ['0.weight'" in message
        assert "5 unexpected keys (first: ['conv1.weight'" in message


def test_checkpoint_check_accepts_its_model_and_names_shape_mismatches(
        tmp_path):
    model = tiny_model()
    path = tmp_path / 'ckpt.pth'
    save_checkpoint_atomic(
        {'state_dict': {'module.' + k: v
                        for k, v in model.state_dict().items()}}, path)
    state_dict = check_checkpoint_file(path, model)  # module. removed
    tiny_model().load_state_dict(state_dict, strict=True)
    wider = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16),
                          nn.Conv2d(16, 4, 1))
    with pytest.raises(CheckpointError, match=r'shape mismatches .*'
                       r"'0.weight \(8, 3, 3, 3\) \(expected \(16, 3, 3, 3\)\)"):
        check_checkpoint_file(path, wider)


def test_checkpoint_check_for_tools_test_runner_checkpoint_and_tta(tmp_path):
    """What tools/test.py hands to mmengine: a Runner checkpoint (message hub
    included) checked against the Runner's model, seen through a TTA wrapper."""
    from mmengine.logging import MessageHub
    from mmengine.model import BaseTTAModel

    class Tiny(nn.Sequential):

        def test_step(self, data):
            return data

    class TTA(BaseTTAModel):

        def merge_preds(self, data_samples_list):
            return data_samples_list[0]

    model = Tiny(*tiny_model())
    hub = MessageHub.get_instance('reliability-files')
    hub.update_scalar('train/loss', 0.5)
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint_atomic({'meta': {'epoch': 1}, 'message_hub': hub.state_dict(),
                            'state_dict': model.state_dict()}, path)
    assert set(check_checkpoint_file(path, TTA(module=model))) == set(
        model.state_dict())
    with pytest.raises(CheckpointError, match='does not match the model Tiny'):
        check_checkpoint_file(path, TTA(module=Tiny(nn.Conv2d(3, 8, 3))))


CONVERTER_ERRORS = dict(
    LOAD_ERRORS, **{
        'foreign-resnet': "not an official RLA-Net checkpoint (RLA-ResNet or "
                          "dsRLA-MobileNetV2); missing keys: RLA-ResNet "
                          "['stages.0.0.conv1.weight'",
        'no-state-dict': "2 entries are not (first: ['epoch', 'model'])",
        'not-a-dict': 'or a bare state dict, but it is a Tensor',
    })


@pytest.mark.parametrize('kind', CONVERTER_ERRORS)
def test_converter_refuses(bad, tmp_path, kind):
    files, marker = bad
    dst = tmp_path / 'out' / 'converted.pth'
    code, out, err = call(CONVERTER, files[kind], dst)
    assert_clear_error(code, err, files[kind], CONVERTER_ERRORS[kind])
    assert out == ''
    assert not marker.exists()
    assert_nothing_left(tmp_path, dst, dst.parent)


def test_converter_cannot_write_destination(tmp_path):
    src = tmp_path / 'official.pth.tar'  # the smallest official-like checkpoint
    torch.save({'state_dict': {
        'conv1.weight': torch.zeros(1), 'stages.0.0.conv1.weight': torch.zeros(1),
        'conv_outs.0.weight': torch.zeros(32, 256, 1, 1),
        'recurrent_convs.0.weight': torch.zeros(1),
        'stage_bns.0.0.weight': torch.zeros(1)}}, src)
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    for dst, words in ((tmp_path, 'is a directory'),
                       (blocker / 'out.pth', 'cannot create its folder')):
        code, _, err = call(CONVERTER, src, dst)
        assert_clear_error(code, err, dst, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file',
                                                          'official.pth.tar']


def test_converter_real_official_checkpoint_truncated_or_wrapped(
        reference_dir, tmp_path):
    """The official checkpoint converts; half of it, or the reference file that
    holds two models, is refused."""
    reference_file = reference_dir / 'rla_official_dev.pt'
    reference = torch.load(reference_file, weights_only=True)
    src = tmp_path / 'official.pth.tar'
    torch.save({'epoch': 1, 'state_dict': {
        'module.' + k: v for k, v in reference['eca']['state_dict'].items()}},
        src)
    half = tmp_path / 'half.pth.tar'
    half.write_bytes(src.read_bytes()[:src.stat().st_size // 2])
    out = tmp_path / 'out'
    code, _, err = call(CONVERTER, half, out / 'a.pth')
    assert_clear_error(code, err, half, 'truncated or corrupt')
    code, _, err = call(CONVERTER, reference_file, out / 'b.pth')
    assert_clear_error(code, err, reference_file,
                       "2 entries are not (first: ['no_eca', 'eca'])")
    assert_nothing_left(tmp_path, out)
    code, stdout, err = call(CONVERTER, src, out / 'c.pth')
    assert code == 0, err
    assert 'stage_blocks=[1, 1, 2, 1]' in stdout
    assert [p.name for p in out.iterdir()] == ['c.pth']  # no temporary files


@pytest.mark.parametrize('kind,words', [
    ('missing', ('checkpoint file not found', )),
    ('empty', ('is empty', )),
    ('truncated', ('truncated or corrupt', )),
    ('evil-system', ('refusing to load', )),
    ('foreign-resnet', ('does not match the model ImageClassifier',
                        'missing keys', "unexpected keys (first: ['conv1.")),
])
def test_plot_layer_attention_refuses_checkpoint(bad, tmp_path, kind, words):
    files, marker = bad
    out = tmp_path / 'alpha.png'
    code, _, err = call(PLOT_ATTENTION, ATTENTION_CONFIG, files[kind], '--out',
                        out)
    assert_clear_error(code, err, files[kind], *words)
    assert not marker.exists()
    assert_nothing_left(tmp_path, out)


# ------------------------------------------------------------- bad configs

@pytest.fixture(scope='module')
def configs(tmp_path_factory):
    """{kind: (path, words of the message)} of bad config files."""
    root = tmp_path_factory.mktemp('configs')
    contents = {
        'empty.py': ('', 'is empty (0 bytes)'),
        'syntax.py': ('model = dict(type="ImageClassifier"\n',
                      "SyntaxError: '(' was never closed (line 1)"),
        'prose.py': ('this is not a config\n', 'SyntaxError'),
        'binary.py': (random.Random(1).randbytes(300), 'UnicodeDecodeError'),
        'notes.txt': ('model = dict(type="ImageClassifier")\n',
                      'expected a .py/.json/.yml/.yaml config file'),
        'list.json': ('[1, 2]', 'is not a valid config'),
        'no_model.py': ('optimizer = dict(lr=0.1)\n',
                        "not a model config; expected a `model` dict with a "
                        "`type`, got no `model` (keys: ['optimizer'])"),
        'model_int.py': ('model = 3\n', 'got model=3'),
        'unknown.py': ('model = dict(type="NoSuchModel")\n',
                       'cannot build `model`: NoSuchModel is not in the'),
        'bad_arg.py': ('model = dict(type="ImageClassifier", backbone=dict('
                       'type="RLAResNet", depth=51))\n',
                       'RLAResNet: invalid depth=51; expected one of'),
        'bad_scope.py': ('default_scope = "mmnothing"\nmodel = dict(type="X")'
                         '\n', "default_scope='mmnothing' is not an installed"),
    }
    found = {'missing': (root / 'missing.py', 'config file not found'),
             'directory': (root / 'folder.py', 'is a directory')}
    found['directory'][0].mkdir()
    for name, (text, words) in contents.items():
        path = root / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        found[name.split('.')[0]] = (path, words)
    return found


CONFIG_KINDS = ['missing', 'directory', 'empty', 'syntax', 'prose', 'binary',
                'notes', 'list', 'no_model', 'model_int', 'unknown', 'bad_arg',
                'bad_scope']


@pytest.mark.parametrize('kind', CONFIG_KINDS)
def test_get_flops_refuses_config(configs, kind):
    path, words = configs[kind]
    code, out, err = call(GET_FLOPS, path)
    assert_clear_error(code, err, path, words)
    assert out == ''


@pytest.mark.parametrize('kind', ['missing', 'empty', 'syntax', 'no_model'])
@pytest.mark.parametrize('side', ['config', 'baseline'])
def test_benchmark_refuses_config_before_timing(configs, tmp_path, kind, side):
    path, words = configs[kind]
    out = tmp_path / 'bench.md'
    args = [path, SMALL_CONFIG] if side == 'config' else [SMALL_CONFIG, path]
    code, stdout, err = call(BENCHMARK, *args, '--out', out)
    assert_clear_error(code, err, path, words)
    assert stdout == ''  # nothing was timed
    assert_nothing_left(tmp_path, out)


def test_benchmark_refuses_unwritable_out_before_timing(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    for out, words in ((tmp_path, 'is a directory'),
                       (blocker / 'bench.md', 'is not a folder')):
        code, stdout, err = call(BENCHMARK, SMALL_CONFIG, SMALL_CONFIG,
                                 '--out', out)
        assert_clear_error(code, err, out, words)
        assert stdout == ''
    assert [p.name for p in tmp_path.iterdir()] == ['file']


# ------------------------------------------------------------------ logs

def training_log(steps=3):
    return ''.join(
        json.dumps(dict(lr=0.1, loss=1.0 / (i + 1), step=i + 1)) + '\n'
        for i in range(steps)) + json.dumps(dict(accuracy=50.0, step=3)) + '\n'


@pytest.mark.parametrize('kind,text,words', [
    ('missing', None, 'not found'),
    ('empty', '', 'is empty (0 bytes)'),
    ('garbage', 'loss: 0.5, lr: 0.1\n', 'line 1: expected one JSON object per '
     "line (an mmengine scalars.json), got 'loss: 0.5, lr: 0.1'"),
    ('truncated', training_log()[:-10], 'line 4: expected one JSON object'),
    ('binary', b'\x89PNG\r\n\x1a\n\x00\x00', 'line 1: expected one JSON'),
    ('not-objects', '[1, 2]\n', 'line 1: expected a JSON object, got a list'),
    ('not-numbers', '{"lr": 0.1, "step": 1, "loss": "nan?"}\n',
     "line 1: expected a number for 'loss', got 'nan?'"),
    ('no-losses', json.dumps(dict(accuracy=50.0, step=3)) + '\n',
     "none of the keys ['loss'] in the training records"),
])
def test_plot_loss_refuses_log(tmp_path, kind, text, words):
    log = tmp_path / 'scalars.json'
    if isinstance(text, bytes):
        log.write_bytes(text)
    elif text is not None:
        log.write_text(text)
    out = tmp_path / 'plots' / 'loss.png'
    code, stdout, err = call(PLOT_LOSS, log, '--out', out)
    assert_clear_error(code, err, log, words)
    assert_nothing_left(tmp_path, out, out.parent)


def test_plot_loss_work_dirs_and_outputs(tmp_path):
    work = tmp_path / 'work'
    code, _, err = call(PLOT_LOSS, work)
    assert_clear_error(code, err, work, 'not found')
    work.mkdir()
    code, _, err = call(PLOT_LOSS, work)
    assert_clear_error(code, err, work, 'no */vis_data/scalars.json under')
    old = work / '20240101_000000' / 'vis_data' / 'scalars.json'
    new = work / '20240102_000000' / 'vis_data' / 'scalars.json'
    for path in (old, new):
        path.parent.mkdir(parents=True)
    old.write_text('')
    new.write_text(json.dumps(dict(accuracy=1.0, step=1)) + '\n')
    code, _, err = call(PLOT_LOSS, work)
    assert_clear_error(code, err, new, 'none of the keys',
                       f'{old} (empty)')
    for out, words in ((work / 'loss.xyz', 'expected an image file name'),
                       (work, 'is a directory')):
        old.write_text(training_log())
        code, _, err = call(PLOT_LOSS, work, '--out', out)
        assert_clear_error(code, err, out, words)
    assert not (work / 'loss.xyz').exists()
    code, stdout, err = call(PLOT_LOSS, work)  # the newest run with losses
    assert code == 0, err
    assert f'from {old}' in stdout
    image = work / 'loss_curve.png'
    assert image.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    code, _, err = call(PLOT_LOSS, old, '--out', tmp_path / 'curve.svg')
    assert code == 0, err
    assert (tmp_path / 'curve.svg').read_text().lstrip().startswith('<?xml')
    assert_nothing_left(tmp_path)
    assert_nothing_left(work)


# --------------------------------------------------------- dataset folders

def deepforest_wheel(path, corrupt=None):
    """A wheel with the members deepforest2coco reads, tiny images, one box each."""
    from PIL import Image
    deepforest = load_tool(DEEPFOREST)
    with zipfile.ZipFile(path, 'w') as wheel:
        for stem in sum(deepforest.SPLITS.values(), ()):
            buffer = io.BytesIO()
            Image.new('RGB', (24, 16), (0, 90, 0)).save(buffer, 'PNG')
            png = buffer.getvalue()
            xml = ('<annotation><object><name>Tree</name><bndbox><xmin>2</xmin>'
                   '<ymin>3</ymin><xmax>12</xmax><ymax>11</ymax></bndbox>'
                   '</object></annotation>')
            if corrupt == 'png':
                png = png[:len(png) // 2]
            if corrupt == 'xml':
                xml = xml[:-20]
            if corrupt == 'voc':
                xml = xml.replace('<xmin>2</xmin>', '')
            if corrupt != 'lacks' or stem != 'SOAP_061':
                wheel.writestr(f'deepforest/data/{stem}.png', png)
            wheel.writestr(f'deepforest/data/{stem}.xml', xml)
    return path


def test_deepforest_converter_bad_wheels(tmp_path):
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    good = deepforest_wheel(wheels / 'good.whl')
    truncated = wheels / 'truncated.whl'
    truncated.write_bytes(good.read_bytes()[:good.stat().st_size // 2])
    empty = wheels / 'empty.whl'
    empty.write_bytes(b'')
    text = wheels / 'text.whl'
    text.write_text('not a zip')
    cases = [
        (wheels / 'missing.whl', 'deepforest wheel not found'),
        (empty, 'is empty (0 bytes)'),
        (truncated, 'is not a wheel (zip) file, or it is truncated'),
        (text, 'is not a wheel (zip) file'),
        (deepforest_wheel(wheels / 'lacks.whl', 'lacks'),
         "lacks ['deepforest/data/SOAP_061.png']"),
        (deepforest_wheel(wheels / 'png.whl', 'png'),
         'cannot read deepforest/data/'),
        (deepforest_wheel(wheels / 'xml.whl', 'xml'), 'ParseError'),
        (deepforest_wheel(wheels / 'voc.whl', 'voc'),
         'cannot read deepforest/data/'),
    ]
    data = tmp_path / 'data'
    for wheel, words in cases:
        code, _, err = call(DEEPFOREST, wheel, data / 'deepforest')
        assert_clear_error(code, err, wheel, words)
        assert_nothing_left(tmp_path, data)
    code, stdout, err = call(DEEPFOREST, good, data / 'deepforest')
    assert code == 0, err
    assert sorted(p.name for p in (data / 'deepforest').iterdir()) == [
        '.complete', 'annotations', 'train', 'val']
    assert [p.name for p in data.iterdir()] == ['deepforest']  # no temp folder
    code, stdout, _ = call(DEEPFOREST, good, data / 'deepforest')
    assert code == 0 and 'already complete' in stdout


@pytest.mark.parametrize('tool', [DIGITS, DEEPFOREST])
def test_dataset_converters_never_overwrite_a_foreign_folder(tmp_path, tool):
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'precious.txt').write_text('keep me')
    a_file = tmp_path / 'file'
    a_file.write_text('keep me too')
    for out in (mine, a_file):
        args = [out] if tool == DIGITS else [tmp_path / 'missing.whl', out]
        code, _, err = call(tool, *args)
        assert_clear_error(code, err, out, 'exists and is not a complete '
                           'output of this tool (no .complete file)')
    assert (mine / 'precious.txt').read_text() == 'keep me'
    assert a_file.read_text() == 'keep me too'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file', 'mine']


# ------------------------------------------------------------ the helpers

def test_atomic_write_keeps_the_old_file_and_cleans_up_on_failure(tmp_path):
    dst = tmp_path / 'table.md'
    dst.write_text('old')
    with pytest.raises(RuntimeError, match='interrupted'):
        with atomic_write(dst) as f:
            f.write('half of the new ')
            raise RuntimeError('interrupted')
    assert dst.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['table.md']
    deep = tmp_path / 'a' / 'b' / 'out.bin'
    with pytest.raises(RuntimeError):
        with atomic_write(deep, 'wb') as f:
            raise RuntimeError('interrupted')
    assert not (tmp_path / 'a').exists()  # the folders it made are gone
    with atomic_write(deep, 'wb') as f:
        f.write(b'new')
    assert deep.read_bytes() == b'new'
    assert oct(deep.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's
    assert [p.name for p in deep.parent.iterdir()] == ['out.bin']
    with pytest.raises(BadFileError, match='it is a directory'):
        with atomic_write(tmp_path) as f:
            pass


def test_atomic_dir_is_all_or_nothing(tmp_path):
    out = tmp_path / 'data' / 'set'
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (open(os.path.join(tmp, 'half.png'), 'w')).close()
            raise RuntimeError('interrupted')
    assert not (tmp_path / 'data').exists()
    with atomic_dir(out) as tmp:
        open(os.path.join(tmp, 'all.png'), 'w').close()
    assert sorted(p.name for p in out.iterdir()) == ['.complete', 'all.png']
    assert [p.name for p in out.parent.iterdir()] == ['set']
    with pytest.raises(BadFileError, match='exists and is not a complete'):
        with atomic_dir(out):
            pass


# ----------------------------------------------------- real processes

@pytest.fixture(scope='module')
def processes(bad, configs, tmp_path_factory):
    """Two tools as real processes, started together (each Python start imports
    torch, mmpretrain and mmdet: seconds of CPU): {name: (result, paths)}."""
    files, marker = bad
    root = tmp_path_factory.mktemp('processes')
    runs = {
        'converter, crafted pickle': (
            [CONVERTER, files['evil-system'], root / 'a' / 'out.pth'],
            files['evil-system'], 'refusing to load', root / 'a'),
        'get_flops, syntax error': (
            [GET_FLOPS, configs['syntax'][0]], configs['syntax'][0],
            'SyntaxError', None),
    }
    started = {
        name: subprocess.Popen([sys.executable, *map(str, run[0])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=REPO)
        for name, run in runs.items()
    }
    results = {}
    for name, proc in started.items():
        out, err = proc.communicate(timeout=300)
        results[name] = (proc.returncode, out, err) + runs[name][1:]
    results['marker'] = marker
    results['root'] = root
    return results


@pytest.mark.parametrize(
    'name', ['converter, crafted pickle', 'get_flops, syntax error'])
def test_tool_process_exits_1_with_one_line_and_no_traceback(processes, name):
    code, out, err, path, words, output = processes[name]
    assert code == 1, err[-2000:]
    assert 'Traceback' not in err
    last = err.strip().splitlines()[-1]  # library warnings may come before
    assert last.startswith('error: ') and str(path) in last and words in last
    assert err.count('error: ') == 1
    assert not processes['marker'].exists()
    if output is not None:
        assert not output.exists()
    assert_nothing_left(processes['root'])


@pytest.mark.parametrize('tool', [
    CONVERTER, GET_FLOPS, BENCHMARK, PLOT_LOSS, PLOT_ATTENTION, DIGITS,
    DEEPFOREST, REPO / 'tools/analysis/cuda_check.py'
])
def test_every_tool_exits_with_the_code_main_returns(tool):
    """The processes above stand for every tool: each hands main()'s code (1 for
    a bad file, from ``cli_errors``) to the shell, as checked in-process here."""
    source = tool.read_text()
    assert "if __name__ == '__main__':\n    sys.exit(main())" in source
    assert '@cli_errors' in source


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        load_tool(CONVERTER).main(['only-one-argument.pth'])
    assert info.value.code == 2
    assert 'the following arguments are required: dst' in \
        capsys.readouterr().err
