"""Detection on the upstream engine, end to end on the offline mini sets: a few
iterations, COCO evaluation, resume, two CPU processes, the Mask R-CNN mask path, and
the quick start's main job (tools/quickstart.sh) as a smoke run."""
import json
import os
import pickle
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO

DEEPFOREST = REPO / 'data' / 'deepforest'
LABELME = REPO / 'data' / 'labelme_coco'
DF_CONFIG = REPO / 'configs/rla/faster-rcnn_rla-r18_100e_deepforest.py'
MASK_CONFIG = REPO / 'configs/rla/mask-rcnn_rla-r50_labelme-smoke.py'


# The recipes' 2000/1000 proposals and 512 sampled RoIs make the RoI head cost more
# than the whole small backbone; these runs check the paths through it.
FEW_PROPOSALS = [
    'model.train_cfg.rpn_proposal.nms_pre=200',
    'model.train_cfg.rpn_proposal.max_per_img=100',
    'model.train_cfg.rcnn.sampler.num=32', 'model.test_cfg.rpn.nms_pre=200',
    'model.test_cfg.rpn.max_per_img=50'
]


def need(path):
    if not path.exists():
        pytest.skip(f'{path} not found: run `bash tools/fetch_data.sh` '
                    '(tools/run_tests.sh does)')


def run(*args, env=None):
    return subprocess.run([str(a) for a in args], capture_output=True,
                          text=True, cwd=REPO, env=env)


def tiny(epochs, n_train=4, n_val=3):
    """Few, small images (224 instead of the tiles' 400), 2 a step, fewer proposals,
    a one-block-per-stage RLA-R18 body: these runs prove the engine's paths, not
    accuracy."""
    size = '(224,224)'
    return [
        '--cfg-options', 'model.backbone.stage_blocks=[1,1,1,1]',
        'train_dataloader.batch_size=2',
        f'train_dataloader.dataset.indices={n_train}',
        f'val_dataloader.dataset.indices={n_val}',
        f'test_dataloader.dataset.indices={n_val}',
        f'train_dataloader.dataset.pipeline.2.scale={size}',
        f'val_dataloader.dataset.pipeline.1.scale={size}',
        f'test_dataloader.dataset.pipeline.1.scale={size}',
        *FEW_PROPOSALS,
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        'param_scheduler.0.end=2', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=1'
    ]


def test_train_evaluate_and_resume_on_deepforest(tmp_path):
    need(DEEPFOREST)
    work = tmp_path / 'work'
    first = run(sys.executable, 'tools/train.py', DF_CONFIG, '--work-dir',
                work, *tiny(1))
    assert first.returncode == 0, first.stderr[-3000:]
    log = first.stdout + first.stderr
    assert 'Epoch(train) [1][2/2]' in log and 'eta:' in log
    assert 'coco/bbox_mAP' in log
    resumed = run(sys.executable, 'tools/train.py', DF_CONFIG, '--work-dir',
                  work, '--resume', *tiny(2))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1, iter: 2' in log
    assert 'Epoch(train) [2][2/2]' in log and 'Epoch(train) [1]' not in log
    assert (work / 'epoch_2.pth').is_file()

    preds = tmp_path / 'preds.pkl'
    tested = run(sys.executable, 'tools/test.py', DF_CONFIG,
                 work / 'epoch_2.pth', '--work-dir', tmp_path / 'test',
                 '--out', preds, *tiny(2))
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert 'coco/bbox_mAP_50' in tested.stdout + tested.stderr
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 3

    shown = tmp_path / 'shown'
    tta = run(sys.executable, 'tools/test.py', DF_CONFIG, work / 'epoch_2.pth',
              '--work-dir', tmp_path / 'tta', '--tta', '--show-dir', shown,
              *tiny(2))
    assert tta.returncode == 0, tta.stderr[-3000:]
    assert 'coco/bbox_mAP' in tta.stdout + tta.stderr
    # an absolute --show-dir is used as given (a relative one goes under
    # work_dir/<time>/)
    assert len(list(shown.glob('*.png'))) == 3


def test_quickstart_main_job_smoke(tmp_path):
    """tools/quickstart.sh's detection job, shrunk by its KEY=VALUE options: trains,
    tests on the held-out tiles, plots, copies the held-out tile with most trees
    (true | predicted boxes side by side) and ends with the one-line summary."""
    need(DEEPFOREST)
    work = tmp_path / 'work'
    env = dict(os.environ, MMRLA_NO_SETUP='1', MMRLA_WORK_DIR=str(work),
               MMRLA_VENV=str(Path(sys.executable).parent.parent))
    done = run('bash', 'tools/quickstart.sh', 'detection', *tiny(1)[1:],
               env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r'held-out AP50 [01]\.\d{3}, mAP [01]\.\d{3}, '
                        r'\d+\.\d min', lines[-1]), lines[-3:]
    assert (work / 'loss_curve.png').is_file()
    # 3 held-out tiles painted; the one with most true boxes is the picture
    assert len(list((work / 'heldout').glob('*.png'))) == 3
    name, trees = re.search(r'heldout_tile\.png \((\S+), (\d+) true boxes',
                            done.stdout).groups()
    with open(DEEPFOREST / 'annotations/instances_val.json') as f:
        coco = json.load(f)
    first3 = coco['images'][:3]
    counts = {i['file_name']: sum(a['image_id'] == i['id']
                                  for a in coco['annotations'])
              for i in first3}
    assert int(trees) == counts[name] == max(counts.values())
    tile = next(i for i in first3 if i['file_name'] == name)
    with Image.open(work / 'heldout_tile.png') as picture:  # true | predicted
        assert picture.size == (2 * tile['width'], tile['height'])


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_training_and_testing(tmp_path):
    need(DEEPFOREST)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    work = tmp_path / 'work'
    trained = run('bash', 'tools/dist_train.sh', DF_CONFIG, 2, '--work-dir',
                  work, *tiny(1), env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    log = trained.stdout + trained.stderr
    # 4 images, 2 per process per iteration... on 2 processes: 1 iteration
    assert 'Distributed training: True' in log
    assert 'Epoch(train) [1][1/1]' in log
    assert (work / 'epoch_1.pth').is_file()

    env['PORT'] = str(free_port())
    preds = tmp_path / 'preds.pkl'
    tested = run('bash', 'tools/dist_test.sh', DF_CONFIG, work / 'epoch_1.pth',
                 2, '--work-dir', tmp_path / 'test', '--out', preds,
                 *tiny(1, n_val=5), env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    assert 'coco/bbox_mAP' in tested.stdout + tested.stderr
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    # every image evaluated exactly once, gathered from both ranks
    assert sorted(r['img_id'] for r in results) == [1, 2, 3, 4, 5]


def test_mask_rcnn_smoke_on_labelme(tmp_path):
    need(LABELME)
    work = tmp_path / 'work'
    size = '(256,192)'  # the config's 500x375, halved
    trained = run(sys.executable, 'tools/train.py', MASK_CONFIG, '--work-dir',
                  work, '--cfg-options', 'model.backbone.stage_blocks=[1,1,1,1]',
                  f'train_dataloader.dataset.pipeline.2.scale={size}',
                  f'val_dataloader.dataset.pipeline.2.scale={size}',
                  'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                  'default_hooks.checkpoint.interval=1', *FEW_PROPOSALS)
    assert trained.returncode == 0, trained.stderr[-3000:]
    log = trained.stdout + trained.stderr
    assert 'loss_mask' in log
    assert 'coco/bbox_mAP' in log and 'coco/segm_mAP' in log
