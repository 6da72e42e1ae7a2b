"""The configs that run offline run under the upstream codebases' own tools, unchanged.

``mim train mmpretrain CONFIG`` / ``mim test mmdet CONFIG --checkpoint ...`` run the
``tools/train.py`` and ``tools/test.py`` shipped inside the installed mmpretrain and
mmdet (``<package>/.mim/tools``). They set dataloader defaults of their own
(mmpretrain's train tool: ``persistent_workers=True`` for every dataloader that does
not say otherwise) and run none of mmrla's start-up checks. Each offline config trains
a few iterations with its codebase's train tool, from a fresh directory where ``data/``
holds the offline data (the configs' relative data roots resolve as in a user's
clone), then its checkpoint is tested with its codebase's test tool. ``--cfg-options``
only shrink the run (data subset, one block per stage, fewer proposals): no flag that
a config would need to be valid (``--no-persistent-workers`` etc.) is passed.
"""
import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

CONFIGS = REPO / 'configs'
PY = sys.executable
TIMEOUT = 600  # s, for any one run

# data root -> how it is made (tests/conftest.py's `digits` fixture, or
# tools/fetch_data.sh NAME); every other data root in configs/ needs a download
OFFLINE_DATA = {
    'data/digits': None,
    'data/deepforest': 'deepforest',
    'data/labelme_coco': 'labelme',
    'data/fashion_mnist': 'fashion_mnist',
}
ONLINE_DATA = ('data/imagenet', 'data/coco', 'data/cifar10', 'data/cifar100')

_ROOT = re.compile(r'''^\s*data_root\s*=\s*['"]([^'"]+?)/?['"]''', re.M)


def _bases(path):
    """The config files ``path`` inherits from (relative ``_base_`` entries)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], 'id', None) == '_base_'):
            value = node.value
            items = value.elts if isinstance(value, (ast.List, ast.Tuple)) \
                else [value]
            for item in items:
                if isinstance(item, ast.Constant) and '::' not in item.value:
                    yield (path.parent / item.value).resolve()


def _top_level_names(path):
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            names.update(getattr(t, 'id', None) for t in node.targets)
    return names


def data_roots(path):
    """The data roots a config sets, else those it inherits (read from the files'
    text, as loading every config costs minutes)."""
    roots = set(_ROOT.findall(path.read_text()))
    if not roots:
        for base in _bases(path):
            if base.is_file():
                roots |= data_roots(base)
    return roots


def shipped_configs():
    return sorted(p for p in CONFIGS.rglob('*.py')
                  if '_base_' not in p.relative_to(CONFIGS).parts)


def offline_configs():
    """Offline configs to run, and the model-only variants that need no run of
    their own: a config that sets nothing but ``model`` on top of one offline
    config shares that config's data, schedule and hooks (test_configs.py builds
    every config's model)."""
    offline = [p for p in shipped_configs()
               if data_roots(p) and data_roots(p) <= set(OFFLINE_DATA)]
    run, variants = [], {}
    for path in offline:
        bases = list(_bases(path))
        if (_top_level_names(path) <= {'_base_', 'model'} and len(bases) == 1
                and bases[0] in offline):
            variants[path] = bases[0]
        else:
            run.append(path)
    return run, variants


RUN, VARIANTS = offline_configs()


def test_every_data_root_is_known_offline_or_online():
    """A config on a new data set must say here whether it runs offline."""
    for path in shipped_configs():
        for root in data_roots(path):
            assert root in OFFLINE_DATA or root.startswith(ONLINE_DATA), (
                f'{path.relative_to(REPO)}: data_root {root!r}: add it to '
                'OFFLINE_DATA (and make the run below cover it) or ONLINE_DATA')


def test_offline_configs_are_found():
    names = {p.name for p in RUN}
    assert {'rla-resnet18_1xb32_digits.py', 'faster-rcnn_rla-r18_100e_deepforest.py',
            'mask-rcnn_rla-r50_labelme-smoke.py'} <= names
    # a variant's base is run itself (variants of variants resolve to a run)
    for variant in VARIANTS:
        base = variant
        while base in VARIANTS:
            base = VARIANTS[base]
        assert base in RUN, variant


def upstream_tool(scope, name):
    spec = importlib.util.find_spec(scope)
    tool = Path(spec.submodule_search_locations[0]) / '.mim' / 'tools' / name
    if not tool.is_file():
        pytest.skip(f'{tool} not found: this {scope} install ships no tools')
    return tool


def scope_of(path):
    """The config's default_scope, read from the files' text: the first
    ``default_scope = ...`` along the inheritance (the config's own first), else
    mmdet for configs on mmdet's bases (they inherit its runtime), else mmpretrain."""
    files, todo = [], [path]
    while todo:
        p = todo.pop(0)
        if p.is_file() and p not in files:
            files.append(p)
            todo.extend(_bases(p))
    for p in files:
        found = re.search(r"^default_scope\s*=\s*['\"](\w+)['\"]", p.read_text(),
                          re.M)
        if found:
            return found.group(1)
    text = ''.join(p.read_text() for p in files)
    return 'mmdet' if 'mmdet::' in text else 'mmpretrain'


# the digits set's first images are all '0's: spread the subsets over the classes
DIGITS_TRAIN = '[' + ','.join(map(str, range(0, 1437, 180))) + ']'  # 8 images
DIGITS_VAL = '[' + ','.join(map(str, range(0, 360, 90))) + ']'  # 4 images
# The recipes' 2000/1000 proposals and 512 sampled RoIs cost more than a small
# backbone; these runs check the tools, not the detector.
FEW_PROPOSALS = [
    'model.backbone.stage_blocks=[1,1,1,1]',
    'model.train_cfg.rpn_proposal.nms_pre=200',
    'model.train_cfg.rpn_proposal.max_per_img=100',
    'model.train_cfg.rcnn.sampler.num=32', 'model.test_cfg.rpn.nms_pre=200',
    'model.test_cfg.rpn.max_per_img=50'
]
SHRINK = {
    # data root: (train options, test options); training validates once at its end
    'data/digits': ([
        f'train_dataloader.dataset.indices={DIGITS_TRAIN}',
        'train_dataloader.batch_size=4',
        f'val_dataloader.dataset.indices={DIGITS_VAL}'
    ], [f'test_dataloader.dataset.indices={DIGITS_VAL}']),
    'data/fashion_mnist': ([
        'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=4',
        'val_dataloader.dataset.indices=4'
    ], ['test_dataloader.dataset.indices=4']),
    'data/deepforest': ([
        *FEW_PROPOSALS, 'train_dataloader.dataset.indices=4',
        'val_dataloader.dataset.indices=2'
    ], [*FEW_PROPOSALS, 'test_dataloader.dataset.indices=2']),
    'data/labelme_coco': ([
        *FEW_PROPOSALS, 'train_dataloader.dataset.indices=2',
        'val_dataloader.dataset.indices=1'
    ], [*FEW_PROPOSALS, 'test_dataloader.dataset.indices=1']),
}
METRIC = {'mmpretrain': 'accuracy/top1', 'mmdet': 'coco/bbox_mAP'}


@pytest.fixture
def run_dir(request, tmp_path):
    """A fresh working directory whose data/ holds what the config reads."""
    path = request.getfixturevalue('config')
    data = tmp_path / 'data'
    data.mkdir()
    for root in data_roots(path):
        name = root.split('/', 1)[1]
        if OFFLINE_DATA[root] is None:  # digits: made per test run
            source = request.getfixturevalue('digits')
        else:
            source = REPO / root
            if not source.exists():
                pytest.skip(f'{source} not found: run `bash tools/fetch_data.sh '
                            f'{OFFLINE_DATA[root]}`')
        (data / name).symlink_to(source, target_is_directory=True)
    return tmp_path


def run(args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize('config', RUN, ids=lambda p: p.name)
def test_upstream_train_then_test(config, run_dir):
    scope = scope_of(config)
    root, = data_roots(config)
    train_options, test_options = SHRINK[root]
    work = run_dir / 'work'
    rc, log = run([
        PY, upstream_tool(scope, 'train.py'), config, '--work-dir', work,
        '--cfg-options', *train_options, 'train_cfg.max_epochs=1',
        'train_cfg.val_begin=1', 'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1'
    ], run_dir)
    assert rc == 0, log[-3000:]
    iters = re.findall(r'Epoch\(train\)\s*\[1\]\[\s*(\d+)/(\d+)\]', log)
    assert iters and iters[-1][0] == iters[-1][1], log[-3000:]
    assert METRIC[scope] in log, log[-3000:]  # validation at the end
    checkpoint = Path((work / 'last_checkpoint').read_text().strip())
    assert checkpoint.is_file()

    rc, log = run([
        PY, upstream_tool(scope, 'test.py'), config, checkpoint, '--work-dir',
        run_dir / 'test', '--cfg-options', *test_options
    ], run_dir)
    assert rc == 0, log[-3000:]
    assert f'Load checkpoint from {checkpoint}' in log
    assert re.search(rf'Epoch\(test\).*{re.escape(METRIC[scope])}', log), \
        log[-3000:]
