"""mmrla as an OpenMMLab package (docs/get_started.md, "As an OpenMMLab package").

* a wheel built from the sources carries configs, tools and model-index.yml in
  ``mmrla/.mim`` and asks pip for version ranges, not pins;
* installed from that wheel (``pip install --target``, first on ``PYTHONPATH``):
  ``mim search``, ``mim train`` and ``mim test`` find mmrla's configs and tools by
  name;
* ``import mmrla`` registers every config name with mmpretrain's ModelHub:
  ``get_model``, ``list_models``, ``ImageClassificationInferencer``, and mmdet's
  ``DetInferencer`` through ``ModelHub.get(name).config``;
* ``tools/slurm_train.sh`` and ``tools/slurm_test.sh`` through a stand-in ``srun``.

Every run is a short one on the offline digits set (one iteration); the wheel is
built from a copy of the sources in a tmp dir (a build writes next to setup.py).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

import mmrla  # noqa: F401  (registers the config names with ModelHub)
from conftest import REPO

# What the wheel is built from (setup.py, MANIFEST.in and what they read).
SOURCES = ('setup.py', 'MANIFEST.in', 'README.md', 'model-index.yml',
           'requirements', 'mmrla', 'configs', 'tools')
DIGITS_CONFIG = 'rla-resnet18_1xb32_digits.py'
MIM = Path(sys.executable).with_name('mim')
TIMEOUT = 300  # s, for any one run


def metafile_models():
    """{name: config} of every model the metafiles that model-index.yml imports
    list."""
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    models = {}
    for metafile in index['Import']:
        for model in yaml.safe_load((REPO / metafile).read_text())['Models']:
            models[model['Name']] = model['Config']
    return models


def run(args, env=None, cwd=None):
    result = subprocess.run([str(a) for a in args], capture_output=True,
                            text=True, env=env, cwd=cwd or REPO,
                            timeout=TIMEOUT)
    return result.returncode, result.stdout + result.stderr


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def digits_options(digits, train=(0, 400, 800, 1200), val=(0, 100)):
    """The shipped digits config on 4 training images (one step of 4) and 2 for
    validation and test."""
    root = str(digits)
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'train_dataloader.dataset.indices={list(train)}'.replace(' ', ''),
        f'val_dataloader.dataset.indices={list(val)}'.replace(' ', ''),
        f'test_dataloader.dataset.indices={list(val)}'.replace(' ', ''),
        'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1',
    ]


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    src.mkdir()
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim', '*.egg-info')
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    code, out = run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                     '--no-index', '--no-build-isolation',
                     '--disable-pip-version-check', '-w', tmp / 'dist', src])
    assert code == 0, out[-4000:]
    (built, ) = (tmp / 'dist').glob('mmrla-*.whl')
    return dict(path=built, src=src)


@pytest.fixture(scope='module')
def installed(wheel, tmp_path_factory):
    """The wheel installed into a folder of its own; an environment whose
    ``PYTHONPATH`` puts it before the editable install of the checkout."""
    site = tmp_path_factory.mktemp('site')
    code, out = run([sys.executable, '-m', 'pip', 'install', '--no-deps',
                     '--no-index', '--disable-pip-version-check', '--target',
                     site, wheel['path']])
    assert code == 0, out[-4000:]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        [str(site), os.environ.get('PYTHONPATH', '')]))
    return dict(site=site, env=env)


def need_mim():
    if not MIM.is_file():
        pytest.skip(f'openmim is not installed ({MIM} not found; '
                    'requirements/tests.txt lists it)')


def test_wheel_carries_configs_tools_and_model_index(wheel):
    with zipfile.ZipFile(wheel['path']) as zf:
        names = set(zf.namelist())
        metadata = next(zf.read(n).decode() for n in names
                        if n.endswith('.dist-info/METADATA'))
    shipped = {n[len('mmrla/.mim/'):] for n in names
               if n.startswith('mmrla/.mim/')}
    configs = {str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*')
               if p.suffix in ('.py', '.yml', '.md')}
    assert configs and configs <= shipped, sorted(configs - shipped)[:5]
    # with the modules that tools import from beside them
    for tool in ('train.py', 'test.py', '_launch.py', 'dist_train.sh',
                 'slurm_train.sh', 'slurm_test.sh', 'analysis/get_flops.py',
                 'analysis/benchmark.py', 'analysis/glibc_malloc.py'):
        assert f'tools/{tool}' in shipped
    assert 'model-index.yml' in shipped
    assert not [n for n in names if '__pycache__' in n or n.endswith('.pyc')]
    # ranges that keep a user's versions, not the measured pins of stack.txt
    requires = re.findall(r'^Requires-Dist: (\S+?)([<>=!~].*?)?(?:;.*)?$',
                          metadata, re.M)
    stack = {name: spec for name, spec in requires
             if name in ('mmengine', 'mmdet', 'mmpretrain')}
    assert set(stack) == {'mmengine', 'mmdet', 'mmpretrain'}, requires
    for name, spec in stack.items():
        assert '>=' in spec and '<' in spec and '==' not in spec, (name, spec)
    # the build copied configs and tools into mmrla/.mim and removed the copies
    assert not any((wheel['src'] / 'mmrla' / '.mim').glob('*'))


def test_mim_search_lists_every_model(installed):
    need_mim()
    code, out = run([MIM, 'search', 'mmrla'], env=installed['env'])
    assert code == 0, out[-4000:]
    found = set(re.findall(r'^config id: (\S+)$', out, re.M))
    assert found == set(metafile_models())


def test_model_index_path_prefers_the_package_copy(tmp_path, monkeypatch):
    """An install reads mmrla/.mim/model-index.yml (the wheel's copy, the editable
    install's symlink); a clone only on PYTHONPATH reads its own."""
    from mmrla import model_index

    package = tmp_path / 'mmrla'
    (package / '.mim').mkdir(parents=True)
    monkeypatch.setattr(model_index, 'PACKAGE_ROOT', package)
    assert model_index.model_index_path() is None
    (tmp_path / 'model-index.yml').write_text('Import: []\n')
    assert model_index.model_index_path() == tmp_path / 'model-index.yml'
    (package / '.mim' / 'model-index.yml').write_text('Import: []\n')
    assert model_index.model_index_path() == package / '.mim' / 'model-index.yml'


def test_mim_train_and_test_by_config_name(installed, digits, tmp_path):
    need_mim()
    mim = installed['site'] / 'mmrla' / '.mim'
    work = tmp_path / 'work'
    code, out = run([MIM, 'train', 'mmrla', DIGITS_CONFIG, '--work-dir', work,
                     '--cfg-options', *digits_options(digits)],
                    env=installed['env'], cwd=tmp_path)
    assert code == 0, out[-4000:]
    assert (f'Training command is {sys.executable} {mim / "tools/train.py"} '
            f'{mim / "configs/rla" / DIGITS_CONFIG}') in out
    assert re.search(r'Epoch\(train\)\s*\[1\]\[1/1\]', out), out[-2000:]
    checkpoint = work / 'epoch_1.pth'
    assert checkpoint.is_file()

    code, out = run([MIM, 'test', 'mmrla', DIGITS_CONFIG, '--checkpoint',
                     checkpoint, '--work-dir', work, '--cfg-options',
                     *digits_options(digits)],
                    env=installed['env'], cwd=tmp_path)
    assert code == 0, out[-4000:]
    assert f'{mim / "tools/test.py"}' in out
    assert re.search(r'Epoch\(test\) \[1/1\]\s+accuracy/top1: ', out), out[-2000:]


# ----- mmpretrain's ModelHub and the Inferencers, with the checkout's mmrla -----

def test_model_hub_knows_every_config_name():
    from mmpretrain import list_models
    from mmpretrain.apis import ModelHub

    models = metafile_models()
    # list_models() also registers mmpretrain's own index: no name may clash
    assert set(models) <= set(list_models())
    assert {n for n in models if 'rla' in n} == set(list_models('*rla*'))
    for name, config in models.items():
        # the registered path; ModelHub.get would also parse every config (slow)
        path = Path(ModelHub._models_dict[name].config)
        assert path.is_file() and path.samefile(REPO / config), name


def test_get_model_by_name():
    from mmpretrain import get_model

    model = get_model('rla-resnet50_4xb64_in1k')
    assert type(model.backbone).__name__ == 'RLAResNet'
    assert model.backbone.depth == 50
    assert model.head.fc.in_features == 2048 + 32  # the RLA state h joins


def test_image_classification_inferencer_by_name(digits, tmp_path):
    """The README's demo: a checkpoint (here: random weights saved in tmp) and an
    offline digit."""
    from mmpretrain import ImageClassificationInferencer, get_model

    name = 'rla-resnet18_1xb32_digits'
    torch.manual_seed(0)
    model = get_model(name)
    classes = tuple(str(i) for i in range(10))
    checkpoint = tmp_path / 'digits.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=classes))), checkpoint)
    torch.manual_seed(1)
    inferencer = ImageClassificationInferencer(name, pretrained=str(checkpoint),
                                               device='cpu')
    for key, value in model.state_dict().items():  # the checkpoint, not a new init
        assert torch.equal(inferencer.model.state_dict()[key], value), key
    image = next((digits / 'val' / '3').glob('*.png'))
    (result, ) = inferencer(str(image))
    assert len(result['pred_scores']) == 10
    assert result['pred_class'] == classes[result['pred_label']]
    assert result['pred_score'] == pytest.approx(max(result['pred_scores']))


def test_det_inferencer_takes_the_config_of_a_name(tmp_path):
    """mmdet resolves names in its own metafiles only (mmengine reads the
    model-index of the scope's package): ``ModelHub.get(name).config`` gives the
    config of one of ours."""
    tiles = REPO / 'data' / 'deepforest' / 'val'
    if not tiles.is_dir():
        pytest.skip(f'{tiles} not found: run `bash tools/fetch_data.sh` '
                    '(tools/run_tests.sh does)')
    from mmdet.apis import DetInferencer
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    from mmpretrain.apis import ModelHub

    name = 'faster-rcnn_rla-r18_100e_deepforest'
    with pytest.raises(ValueError, match=f'Cannot find model: {name} in mmdet'):
        DetInferencer(name, device='cpu')
    config = ModelHub.get(name).config
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(config.model)
    checkpoint = tmp_path / 'deepforest.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('Tree', )))), checkpoint)
    torch.manual_seed(1)
    inferencer = DetInferencer(config, weights=str(checkpoint), device='cpu')
    for key, value in model.state_dict().items():  # the checkpoint, not a new init
        assert torch.equal(inferencer.model.state_dict()[key], value), key
    assert inferencer.model.dataset_meta['classes'] == ('Tree', )
    tile = sorted(tiles.glob('*.png'))[0]
    (prediction, ) = inferencer(str(tile))['predictions']
    assert len(prediction['bboxes']) == len(prediction['scores']) > 0
    assert set(prediction['labels']) == {0}
    bboxes = torch.tensor(prediction['bboxes'])
    assert (bboxes[:, 2:] >= bboxes[:, :2]).all()
    assert bboxes.min() >= 0 and bboxes.max() <= 400  # within the 400 px tile


# ----- Slurm -----

# Stand-ins for Slurm on this machine: srun runs --ntasks copies of the command
# with the variables a Slurm task gets; scontrol names the first node.
SRUN = r'''#!/usr/bin/env bash
echo "$*" >> "$SRUN_LOG"
ntasks=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ntasks=*) ntasks=${1#--ntasks=}; shift ;;
    --job-name=*) export SLURM_JOB_NAME=${1#--job-name=}; shift ;;
    -p|-J|-N|-n) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
export SLURM_NTASKS=$ntasks SLURM_NODELIST=localhost SLURM_JOB_ID=1
pids=()
for ((i = 0; i < ntasks; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i "$@" &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
exit $rc
'''
SCONTROL = '#!/usr/bin/env bash\necho "${3%%,*}"\n'


def test_slurm_train_and_test_scripts(digits, tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', SRUN), ('scontrol', SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    srun_log = tmp_path / 'srun.log'
    env = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
               SRUN_LOG=str(srun_log), PYTHON=sys.executable,
               OMP_NUM_THREADS='1', MASTER_PORT=str(free_port()),
               GPUS_PER_NODE='2', CPUS_PER_TASK='1')
    config = REPO / 'configs/rla' / DIGITS_CONFIG
    work = tmp_path / 'work'
    # two tasks, 4 images, 2 a task: one step each (one process would take two)
    code, out = run(['bash', 'tools/slurm_train.sh', 'debug', 'rla-digits',
                     config, work, '--cfg-options', *digits_options(digits),
                     'train_dataloader.batch_size=2'],
                    env=dict(env, GPUS='2'))
    assert code == 0, out[-4000:]
    assert srun_log.read_text().startswith(
        '-p debug --job-name=rla-digits --gres=gpu:2 --ntasks=2 '
        '--ntasks-per-node=2 --cpus-per-task=1 --kill-on-bad-exit=1 '
        f'{sys.executable} -u tools/train.py {config} --work-dir={work} '
        '--launcher=slurm --cfg-options '), srun_log.read_text()
    assert 'Distributed training: True' in out and 'GPU number: 2' in out
    assert re.search(r'Epoch\(train\)\s*\[1\]\[1/1\]', out), out[-2000:]

    code, out = run(['bash', 'tools/slurm_test.sh', 'debug', 'rla-digits',
                     config, work / 'epoch_1.pth', '--work-dir', work,
                     '--cfg-options', *digits_options(digits)],
                    env=dict(env, GPUS='1', GPUS_PER_NODE='1'))
    assert code == 0, out[-4000:]
    assert re.search(r'Epoch\(test\) \[1/1\]\s+accuracy/top1: ', out), out[-2000:]
