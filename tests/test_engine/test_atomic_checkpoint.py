"""AtomicCheckpointHook and the 'atomic_local' file backend on tiny in-process runs:
checkpoints are complete or absent, the old ones go only after the new one is written,
and a resumed run keeps counting them. A SIGKILL while saving, in a real training
process, is in tests/test_reliability_runs.py."""
import os.path as osp

import pytest
import torch
import torch.nn as nn

from mmengine.fileio import get_file_backend, register_backend
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmrla  # noqa: F401  (registers the hook and the backend)
from mmrla.engine import AtomicCheckpointHook, AtomicLocalBackend
from mmrla.utils.fileio import BadFileError, atomic_write


class Mean(BaseModel):
    """One weight, fitted to the mean of its inputs."""

    def __init__(self):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        loss = (torch.stack(inputs) - self.mean).square().mean()
        return dict(loss=loss) if mode == 'loss' else self.mean


class FailingPut(AtomicLocalBackend):
    """Fails half-way through writing the file named ``fail_on``, as a full disk
    would."""

    def __init__(self, fail_on=None):
        self.fail_on = fail_on

    def put(self, obj, filepath):
        if osp.basename(filepath) != self.fail_on:
            return super().put(obj, filepath)
        with atomic_write(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            raise OSError(28, 'No space left on device')


register_backend('failing_put', FailingPut, force=True)


def run(work_dir, name, max_epochs, resume=False, load_from=None, **checkpoint):
    loader = dict(dataset=[dict(inputs=torch.randn(1)) for _ in range(4)],
                  batch_size=2, collate_fn=dict(type='pseudo_collate'),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    runner = Runner(
        model=Mean(), work_dir=str(work_dir), train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook',
                                           interval=1, **checkpoint)),
        resume=resume, load_from=load_from,
        experiment_name=name)  # a message hub of its own
    runner.train()
    return runner


def names(folder):
    return sorted(p.name for p in folder.iterdir() if p.suffix == '.pth'
                  or p.name.endswith('.tmp'))


def test_backend_leaves_the_old_file_when_a_write_fails(tmp_path):
    backend = get_file_backend(backend_args=dict(backend='atomic_local'))
    assert type(backend) is AtomicLocalBackend
    path = tmp_path / 'sub' / 'a.pth'
    backend.put(b'first', path)  # makes the folder, as LocalBackend does
    backend.put_text('second', tmp_path / 'b.txt')
    assert path.read_bytes() == b'first'
    assert (tmp_path / 'b.txt').read_text() == 'second'
    with pytest.raises(TypeError):
        backend.put('not bytes', path)  # fails inside the write
    assert path.read_bytes() == b'first'
    assert sorted(p.name for p in tmp_path.rglob('*')) == ['a.pth', 'b.txt', 'sub']


def test_the_previous_checkpoint_stays_until_the_next_is_written(tmp_path):
    with pytest.raises(BadFileError, match='No space left'):
        run(tmp_path, 'fail', 3, max_keep_ckpts=1,
            backend_args=dict(backend='failing_put', fail_on='epoch_3.pth'))
    # upstream deletes epoch_2.pth before it writes epoch_3.pth
    assert names(tmp_path) == ['epoch_2.pth']
    last = (tmp_path / 'last_checkpoint').read_text()
    assert last == str(tmp_path / 'epoch_2.pth')


def test_resumed_runs_keep_counting_and_clear_leftovers(tmp_path):
    run(tmp_path, 'first', 3, max_keep_ckpts=2)
    assert names(tmp_path) == ['epoch_2.pth', 'epoch_3.pth']
    leftover = tmp_path / '.epoch_4.pth.k3j2h1.tmp'  # a kill while writing
    leftover.write_bytes(b'half a checkpoint')

    runner = run(tmp_path, 'resumed', 5, resume=True, max_keep_ckpts=2)
    # epoch_3.pth, written before the first run listed it, went too
    assert names(tmp_path) == ['epoch_4.pth', 'epoch_5.pth']
    assert runner.message_hub.get_info('atomic_checkpoint_kept') == [
        'epoch_4.pth', 'epoch_5.pth']
    assert torch.load(tmp_path / 'epoch_5.pth')['meta']['epoch'] == 5

    # resumed from that folder's last checkpoint, a new folder deletes only its own
    other = tmp_path / 'other'
    run(other, 'elsewhere', 7, load_from=str(tmp_path / 'epoch_5.pth'),
        resume=True, max_keep_ckpts=1)
    assert names(other) == ['epoch_7.pth']
    assert names(tmp_path) == ['epoch_4.pth', 'epoch_5.pth']


@pytest.mark.parametrize('value', ['2', 1.5, True])
def test_bad_max_keep_ckpts(value):
    with pytest.raises(ValueError, match=r'max_keep_ckpts=.*expected an int'):
        AtomicCheckpointHook(interval=1, max_keep_ckpts=value)
