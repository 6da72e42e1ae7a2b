"""Reliability of real training runs (docs/reliability.md), with tools/train.py,
tools/dist_train.sh and tools/dist_test.sh as subprocesses on the offline digits set:

* interruption: SIGKILL mid-epoch, then SIGKILL while a checkpoint is being
  written, then a corrupt last checkpoint; ``--resume`` finishes every time, from the
  right epoch;
* scale-out parity: 2 gloo processes x batch 4 against 1 process x batch 8 (float64);
* distributed evaluation dumps every image exactly once (odd count: padded sampler);
* determinism: same seed, same config, identical losses over 20 iterations;
* missing data: one line naming the config field and the path, before the model.

Runs use one intra-op thread each (OMP_NUM_THREADS=1): the machine has 2 cores and the
runs of a test overlap.
"""
import importlib.util
import json
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest
import torch

from conftest import REPO
from mmrla.engine import checkpoint_problem, find_resumable_checkpoint
from mmrla.utils.checkpoint import load_checkpoint_file

CONFIG = REPO / 'configs/rla/rla-resnet18_1xb32_digits.py'
DF_CONFIG = REPO / 'configs/rla/faster-rcnn_rla-r18_100e_deepforest.py'
PY = sys.executable
TIMEOUT = 300  # s, for any one run; a hung run fails the test instead of the suite

# Test-only hooks and a file backend, imported by the runs through the config's
# custom_imports.
HELPERS = '''
import json
import os
import os.path as osp
import signal

from mmengine.dist import get_rank
from mmengine.fileio import register_backend
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from mmrla.engine import AtomicLocalBackend
from mmrla.utils.fileio import atomic_write


@register_backend('kill_while_saving')
class KillWhileSaving(AtomicLocalBackend):
    """Writes the file named ``kill_at`` half-way, as a kill in the middle of
    torch.save leaves it, and SIGKILLs its own process."""

    def __init__(self, kill_at=None):
        self.kill_at = kill_at

    def put(self, obj, filepath):
        if osp.basename(filepath) == self.kill_at:
            with atomic_write(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        super().put(obj, filepath)


@HOOKS.register_module()
class RankLossHook(Hook):
    """Writes this process's loss of every iteration to losses_rank<r>.json."""

    def before_train(self, runner):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        path = osp.join(runner.work_dir, f'losses_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(self.losses, f)
'''

# Spread over the class folders (the first images of the set are all '0's).
TRAIN_16 = list(range(0, 1437, 90))
TRAIN_24 = list(range(0, 1437, 60))
VAL_9 = list(range(0, 360, 40))


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    helpers = tmp_path_factory.mktemp('helpers')
    (helpers / 'reliability_helpers.py').write_text(HELPERS)
    # imported by a config (custom_imports) before its model is built: parameters
    # and data preprocessor buffers (hence the normalised inputs) are float64
    (helpers / 'float64_default.py').write_text(
        'import torch\n\ntorch.set_default_dtype(torch.float64)\n')
    return dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONUNBUFFERED='1',
        PYTHON=PY,
        PYTHONPATH=os.pathsep.join(
            [str(helpers), os.environ.get('PYTHONPATH', '')]))


def write_config(path, digits, train_indices, batch_size, extra=''):
    """The shipped digits config on a small, class-mixed subset; no validation
    while training; logs every iteration's own loss (window 1)."""
    root = repr(str(digits))
    path.write_text(f'''
_base_ = [{str(CONFIG)!r}]
custom_imports = dict(
    imports=['mmrla', 'reliability_helpers'], allow_failed_imports=False)
train_dataloader = dict(
    batch_size={batch_size},
    dataset=dict(data_root={root}, indices={train_indices!r}))
val_dataloader = dict(
    batch_size=2, dataset=dict(data_root={root}, indices={VAL_9!r}))
test_dataloader = val_dataloader
train_cfg = dict(val_begin=1000)
optim_wrapper = dict(optimizer=dict(lr=0.01))  # batch 4: 0.05 overshoots
log_processor = dict(window_size=1)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, max_keep_ckpts=2))
{extra}
''')
    return path


def popen(args, env):
    return subprocess.Popen([str(a) for a in args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def finish(proc, kill_on=None):
    """Wait for ``proc`` (killed after TIMEOUT); with ``kill_on``, SIGKILL it as
    soon as an output line matches that regex. Return (returncode, output)."""
    timer = threading.Timer(TIMEOUT, proc.kill)
    timer.start()
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if kill_on and re.search(kill_on, line):
                proc.send_signal(signal.SIGKILL)
                kill_on = None
        proc.wait()
    finally:
        timer.cancel()
    return proc.returncode, ''.join(lines)


def finish_all(procs):
    """``finish`` for processes that run together (their pipes are read at once)."""
    results = [None] * len(procs)

    def wait(i):
        results[i] = finish(procs[i])

    threads = [threading.Thread(target=wait, args=(i, ))
               for i in range(len(procs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def train(config, work, env, *options, kill_on=None):
    return finish(
        popen([PY, 'tools/train.py', config, '--work-dir', work, *options],
              env), kill_on)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_lines(log, epoch):
    return re.findall(rf'Epoch\(train\)\s*\[{epoch}\]\[\s*\d+/\d+\]', log)


def losses_of(log, epoch):
    return re.findall(rf'Epoch\(train\)\s*\[{epoch}\]\[\s*\d+/\d+\].*loss: (\S+)',
                      log)


def test_two_kills_and_a_corrupt_checkpoint_then_resume(digits, env, tmp_path):
    """16 images, batch 4: 4 iterations an epoch, a checkpoint every epoch,
    max_keep_ckpts=2 (upstream deletes the oldest before writing the new one)."""
    config = write_config(tmp_path / 'cfg.py', digits, TRAIN_16, 4)
    work = tmp_path / 'work'

    # 1. SIGKILL mid-epoch: after iteration 2 of epoch 2
    rc, log = train(config, work, env, kill_on=r'Epoch\(train\)\s*\[2\]\[2/4\]')
    assert rc == -signal.SIGKILL, log[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    assert not (work / 'epoch_2.pth').exists()

    # 2. resume; SIGKILL while epoch_3.pth is written (its temp file half full)
    rc, log = train(config, work, env, '--resume', '--cfg-options',
                    'default_hooks.checkpoint.backend_args.backend='
                    'kill_while_saving',
                    'default_hooks.checkpoint.backend_args.kill_at=epoch_3.pth')
    assert rc == -signal.SIGKILL, log[-3000:]
    assert 'resumed epoch: 1, iter: 4' in log
    half_written, = work.glob('.epoch_3.pth.*.tmp')
    assert not (work / 'epoch_3.pth').exists()
    # the complete epoch_2 is the last checkpoint; epoch_1, which upstream would
    # have deleted before writing epoch_3, is still there
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_2.pth')
    assert (work / 'epoch_1.pth').is_file()

    # 3. resume: finishes the 4 epochs from the end of epoch 2
    rc, log = train(config, work, env, '--resume')
    assert rc == 0, log[-3000:]
    assert 'resumed epoch: 2, iter: 8' in log
    assert (f'removing {half_written}: a checkpoint whose writing was '
            'interrupted') in log
    assert not train_lines(log, 2) and len(train_lines(log, 3)) == 4
    assert len(train_lines(log, 4)) == 4
    epoch_4_losses = losses_of(log, 4)
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'epoch_3.pth', 'epoch_4.pth']
    assert not list(work.glob('.*.tmp'))

    # 4. the last checkpoint corrupt (as a kill while upstream's CheckpointHook
    #    writes it in place, or a power cut, leaves it): resume falls back
    last = work / 'epoch_4.pth'
    os.truncate(last, last.stat().st_size // 2)
    rc, log = train(config, work, env, '--resume', '--cfg-options',
                    'train_cfg.max_epochs=5')
    assert rc == 0, log[-3000:]
    assert re.search(r'WARNING - --resume: \S*last_checkpoint names a checkpoint '
                     rf'that cannot be resumed: [^\n]*{re.escape(str(last))}',
                     log)
    assert f'resuming from {work / "epoch_3.pth"}' in log
    assert 'resumed epoch: 3, iter: 12' in log
    assert len(train_lines(log, 4)) == 4 and len(train_lines(log, 5)) == 4
    # epoch 4 again, from epoch_3.pth: the very losses of its first run
    assert losses_of(log, 4) == epoch_4_losses

    # every checkpoint left loads with the safe loader, as the Runner loads it
    for name, epoch in (('epoch_4.pth', 4), ('epoch_5.pth', 5)):
        ckpt = load_checkpoint_file(str(work / name))
        assert ckpt['meta']['epoch'] == epoch
        assert ckpt['meta']['iter'] == 4 * epoch
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_5.pth')


def fake_checkpoint(path, epoch):
    torch.save(dict(meta=dict(epoch=epoch, iter=epoch), state_dict={},
                    message_hub={}), path)


def test_resume_choice_skips_what_cannot_be_resumed(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) == (None, [])
    for epoch in (1, 2, 3):
        fake_checkpoint(tmp_path / f'epoch_{epoch}.pth', epoch)
    record = tmp_path / 'last_checkpoint'

    # no last_checkpoint (killed before upstream wrote it): newest complete one
    assert find_resumable_checkpoint(str(tmp_path)) == (
        str(tmp_path / 'epoch_3.pth'), [])
    record.write_text(str(tmp_path / 'epoch_2.pth'))
    assert find_resumable_checkpoint(str(tmp_path))[0] == str(
        tmp_path / 'epoch_2.pth')

    # named file deleted (upstream max_keep_ckpts), empty, truncated, not a
    # training checkpoint: fall back, naming each file
    record.write_text(str(tmp_path / 'epoch_9.pth'))
    path, notes = find_resumable_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_3.pth')
    assert 'not found: ' + str(tmp_path / 'epoch_9.pth') in notes[0]
    record.write_text('')
    assert 'is empty' in find_resumable_checkpoint(str(tmp_path))[1][0]

    (tmp_path / 'epoch_2.pth').write_bytes(b'')
    (tmp_path / 'epoch_3.pth').write_bytes(
        (tmp_path / 'epoch_1.pth').read_bytes()[:100])
    record.write_text(str(tmp_path / 'epoch_3.pth'))
    path, notes = find_resumable_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_1.pth')
    assert str(tmp_path / 'epoch_3.pth') in notes[0]
    assert notes[1].startswith('skipping: ') and 'empty' in notes[1]
    assert str(tmp_path / 'epoch_2.pth') in notes[1]
    torch.save({'weights': torch.zeros(1)}, tmp_path / 'epoch_1.pth')
    assert 'not a training checkpoint' in checkpoint_problem(
        str(tmp_path / 'epoch_1.pth'))
    path, notes = find_resumable_checkpoint(str(tmp_path))
    assert path is None and 'training starts from scratch' in notes[-1]


# GroupNorm: the parity holds exactly in exact arithmetic. With BatchNorm each process
# normalises by the statistics of its own 4 images, not of all 8 (SyncBatchNorm, which
# would match, has no CPU implementation in torch), and the losses drift apart by up
# to ~5 % within 6 iterations (docs/reliability.md).
GN = "model = dict(backbone=dict(norm_cfg=dict(type='GN', num_groups=8)))"
# float64: the two runs sum the same terms in other orders (4 + 4 images and gloo's
# all-reduce against 8 images, each CPU's kernels with their own blocking), and in
# float32 this training is too ill-conditioned to show the parity. Measured on an
# in-process replica of these 6 updates (Intel Xeon, 2026-12-03): float32 weights
# agree to 2.6e-6 of each tensor's largest value after 3 updates, then the stem's
# max-pool takes another element of a near-tie in one run than in the other, and
# the difference jumps to 5.9e-4 at update 4 and 2.3e-2 at update 6 (with the
# max-pool swapped for an average pool: 3.8e-6 after 6). Where such a flip comes
# depends on the CPU (an AMD EPYC: 1.7e-5 after 6 updates; the runs here: 2.1e-2).
# In float64 the replica agrees to 1e-14 at every update (u = 1.1e-16; a flip would
# need a near-tie 1e8 times closer). PARITY_RTOL, relative to each loss and to each
# tensor's largest value, leaves a factor 1e4 over that, and still catches a parity
# bug (unsynchronised gradients, other data, another learning rate) by orders of
# magnitude: one epoch of training moves every tensor by more than 5e-5 of its scale
# (asserted below), and the two-process run with its learning rate 1e-6 too high
# (measured) gives losses 4e-7 apart from update 2 on and weights 4e-2 apart.
PARITY_RTOL = 1e-10
FLOAT64 = ("custom_imports = dict(imports=['mmrla', 'reliability_helpers', "
           "'float64_default'], allow_failed_imports=False)")


def max_rel_diff(a, b):
    """max|a - b| relative to max|a|."""
    return ((a - b).abs().max() / a.abs().max()).item()


def test_two_processes_match_one_at_the_same_total_batch(digits, env, tmp_path):
    """24 images, 3 iterations an epoch, 2 epochs: 2 x 4 images against 1 x 8."""
    extra = f"{GN}\n{FLOAT64}\ncustom_hooks = [dict(type='RankLossHook')]"
    one_cfg = write_config(tmp_path / 'one.py', digits, TRAIN_24, 8, extra)
    two_cfg = write_config(tmp_path / 'two.py', digits, TRAIN_24, 4, extra)
    options = ['--cfg-options', 'train_cfg.max_epochs=2']
    one = popen([PY, 'tools/train.py', one_cfg, '--work-dir', tmp_path / 'one',
                 *options], env)
    two = popen(['bash', 'tools/dist_train.sh', two_cfg, 2, '--work-dir',
                 tmp_path / 'two', *options],
                dict(env, PORT=str(free_port())))
    (rc_one, log_one), (rc_two, log_two) = finish_all([one, two])
    assert rc_one == 0, log_one[-3000:]
    assert rc_two == 0, log_two[-3000:]
    assert 'Distributed training: True' in log_two
    assert 'Epoch(train) [2][3/3]' in log_two and 'Epoch(train) [2][3/3]' in log_one

    single = json.loads((tmp_path / 'one/losses_rank0.json').read_text())
    ranks = [json.loads((tmp_path / f'two/losses_rank{r}.json').read_text())
             for r in (0, 1)]
    assert len(single) == len(ranks[0]) == len(ranks[1]) == 6
    # each rank saw a different half of the batch...
    assert all(abs(a - b) > 1e-3 for a, b in zip(*ranks))
    # ...and the mean of the halves' losses is the loss of the whole batch
    for step, (loss, a, b) in enumerate(zip(single, *ranks)):
        assert abs((a + b) / 2 - loss) <= PARITY_RTOL * abs(loss), (step, loss, a, b)
    # the weights after 6 updates agree too, each tensor to its scale
    w_one, w_two, w_one_epoch_1 = (
        load_checkpoint_file(str(tmp_path / name))['state_dict']
        for name in ('one/epoch_2.pth', 'two/epoch_2.pth', 'one/epoch_1.pth'))
    assert w_one.keys() == w_two.keys()
    for key, value in w_one.items():
        assert value.dtype == torch.float64, key  # the run was float64
        assert max_rel_diff(value, w_two[key]) <= PARITY_RTOL, key
        # the tolerance is far below what one epoch of training changes
        assert max_rel_diff(value, w_one_epoch_1[key]) > 1e4 * PARITY_RTOL, key

    # distributed evaluation of 9 images on 2 processes: the sampler pads rank 1 to
    # 5 images; the gathered results hold each image exactly once
    preds = tmp_path / 'preds.pkl'
    rc, log = finish(popen(
        ['bash', 'tools/dist_test.sh', two_cfg, tmp_path / 'two/epoch_2.pth', 2,
         '--work-dir', tmp_path / 'test', '--out', preds],
        dict(env, PORT=str(free_port()))))
    assert rc == 0, log[-3000:]
    assert 'accuracy/top1' in log
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    assert sorted(r['sample_idx'] for r in results) == list(range(9))
    assert len({r['img_path'] for r in results}) == 9


def test_same_seed_same_losses_over_20_iterations(digits, env, tmp_path):
    """The shipped config (BatchNorm) with randomness.deterministic=True, twice."""
    config = write_config(tmp_path / 'cfg.py', digits, TRAIN_16, 4)
    options = ['--cfg-options', 'randomness.seed=0',
               'randomness.deterministic=True', 'train_cfg.max_epochs=5',
               'default_hooks.checkpoint.interval=100',
               'default_hooks.checkpoint.save_last=False']
    runs = [popen([PY, 'tools/train.py', config, '--work-dir', tmp_path / name,
                   *options], env) for name in ('a', 'b')]
    for rc, log in finish_all(runs):
        assert rc == 0, log[-3000:]
    losses = []
    for name in ('a', 'b'):
        scalars, = (tmp_path / name).glob('*/vis_data/scalars.json')
        losses.append([json.loads(line)['loss']
                       for line in scalars.read_text().splitlines()])
    assert len(losses[0]) == 20
    assert losses[0] == losses[1]  # bit for bit
    assert len(set(losses[0])) == 20 and losses[0][-1] < losses[0][0]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'mmrla_tool_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def start_up_error(monkeypatch):
    """The message tools/<tool>.py's config check exits with (in this process)."""
    monkeypatch.setenv('LOCAL_RANK', '0')  # what the tools' parse_args sets
    monkeypatch.syspath_prepend(str(REPO / 'tools'))  # as running a tool does
    return exit_message


def exit_message(tool, *argv):
    module = load_tool(tool)
    with pytest.raises(SystemExit) as exc:
        module.build_cfg(module.parse_args([str(a) for a in argv]))
    return str(exc.value.code)


def make_coco(root, splits=('train', 'val'), images=True):
    (root / 'annotations').mkdir(parents=True)
    for split in splits:
        (root / f'annotations/instances_{split}.json').write_text('{}')
        if images:
            (root / split).mkdir()


def test_missing_data_fails_at_start_up_naming_field_and_path(
        start_up_error, tmp_path):
    nowhere = tmp_path / 'nowhere'
    message = start_up_error(
        'train', CONFIG, '--cfg-options',
        f'train_dataloader.dataset.data_root={nowhere}')
    assert message == (
        f'error: train_dataloader.dataset.data_root: no such directory: '
        f'{nowhere} (make the data, or set the path with --cfg-options '
        'train_dataloader.dataset.data_root=...)')

    # classification: an image folder (data_prefix) missing under the root
    (tmp_path / 'digits/train').mkdir(parents=True)
    message = start_up_error(
        'train', CONFIG, '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "digits"}',
        f'val_dataloader.dataset.data_root={tmp_path / "digits"}')
    assert message.startswith('error: val_dataloader.dataset.data_prefix: '
                              f'no such directory: {tmp_path / "digits/val"} ')
    ckpt = tmp_path / 'some.pth'
    ckpt.write_bytes(b'')
    message = start_up_error(
        'test', CONFIG, ckpt, '--cfg-options',
        f'test_dataloader.dataset.data_root={nowhere}')
    assert f'test_dataloader.dataset.data_root: no such directory: {nowhere}' in message

    # COCO (mmdet's CocoDataset and CocoMetric): annotation file, image folder
    coco = tmp_path / 'coco'
    make_coco(coco, splits=('val', ))
    root = [f'{split}_dataloader.dataset.data_root={coco}'
            for split in ('train', 'val', 'test')]
    message = start_up_error('train', DF_CONFIG, '--cfg-options', *root)
    assert message.startswith(
        'error: train_dataloader.dataset.ann_file: no such file: '
        f'{coco / "annotations/instances_train.json"} ')
    make_coco(tmp_path / 'coco2', images=False)
    root = [f'{split}_dataloader.dataset.data_root={tmp_path / "coco2"}'
            for split in ('train', 'val', 'test')]
    message = start_up_error('train', DF_CONFIG, '--cfg-options', *root)
    assert message.startswith('error: train_dataloader.dataset.data_prefix.img: '
                              f'no such directory: {tmp_path / "coco2/train/"}')
    # the config's CocoMetric still reads data/deepforest's annotations
    make_coco(tmp_path / 'coco3')
    root = [f'{split}_dataloader.dataset.data_root={tmp_path / "coco3"}'
            for split in ('train', 'val', 'test')]
    message = start_up_error('train', DF_CONFIG, '--cfg-options', *root,
                             f'val_evaluator.ann_file={tmp_path / "a.json"}')
    assert message.startswith('error: val_evaluator.ann_file: no such file: '
                              f'{tmp_path / "a.json"} ')


def test_missing_coco_annotations_stop_training_before_the_model(tmp_path):
    coco = tmp_path / 'coco'
    make_coco(coco, splits=('val', ))
    result = subprocess.run(
        [PY, 'tools/train.py', str(DF_CONFIG), '--work-dir', str(tmp_path / 'w'),
         '--cfg-options', f'train_dataloader.dataset.data_root={coco}'],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(
        'error: train_dataloader.dataset.ann_file: no such file: '
        f'{coco / "annotations/instances_train.json"}')
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'w').exists()  # no Runner: no work_dir, no model


def test_resume_from_a_path_that_cannot_be_resumed(start_up_error, tmp_path):
    for split in ('train', 'val'):
        (tmp_path / 'digits' / split).mkdir(parents=True)
    ckpt = tmp_path / 'epoch_1.pth'
    fake_checkpoint(ckpt, 1)
    ckpt.write_bytes(ckpt.read_bytes()[:200])  # truncated
    message = start_up_error(
        'train', CONFIG, '--resume', ckpt, '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "digits"}',
        f'val_dataloader.dataset.data_root={tmp_path / "digits"}')
    assert message.startswith('error: --resume: ') and str(ckpt) in message
    assert '\n' not in message
