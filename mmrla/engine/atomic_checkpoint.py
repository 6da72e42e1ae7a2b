"""Checkpoints that survive being killed while they are written, on mmengine's public
API: a storage backend, and a ``CheckpointHook`` that uses it.

mmengine's ``CheckpointHook`` deletes the oldest kept checkpoint (``max_keep_ckpts``)
*before* it writes the new one, and ``Runner.save_checkpoint`` writes the file in place
(``LocalBackend.put``: ``open(path, 'wb')``). A SIGKILL (OOM killer, preemption) or a
power cut in the middle leaves a truncated ``epoch_N.pth``, a ``last_checkpoint`` naming
a deleted file, and with ``max_keep_ckpts=1`` no complete checkpoint at all.

* :class:`AtomicLocalBackend`, registered in mmengine's file backends as
  ``'atomic_local'``: ``LocalBackend`` whose ``put`` and ``put_text`` write a temporary
  file beside the target and rename it into place once complete
  (:func:`mmrla.utils.fileio.atomic_write`). ``Runner.save_checkpoint`` writes every
  checkpoint through ``put`` of the hook's ``backend_args``, so
  ``CheckpointHook(backend_args=dict(backend='atomic_local'))`` never leaves a partial
  checkpoint under its final name.
* :class:`AtomicCheckpointHook`: ``CheckpointHook`` (the same keyword arguments) that
  writes through that backend (unless ``backend_args`` or ``file_client_args`` name
  another), deletes the checkpoints beyond ``max_keep_ckpts`` only after the new one is
  complete and ``last_checkpoint`` names it, and at ``before_train`` removes the
  temporary files a killed run left.

So ``last_checkpoint`` names a complete checkpoint, or is empty for the instant upstream
rewrites it in place (``tools/train.py --resume`` then takes the newest complete
checkpoint), and the previous checkpoint stays until the next one is complete.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from mmrla.utils.fileio import atomic_write, leftover_temp_files

ATOMIC_BACKEND = 'atomic_local'


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose writes leave a complete file or none."""

    def put(self, obj, filepath):
        with atomic_write(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        with atomic_write(filepath, 'w', encoding=encoding) as f:
            f.write(obj)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a partial checkpoint, and keeps the
    previous one until the next is complete; see the module docstring.

    Args:
        max_keep_ckpts (int): how many of the newest checkpoints to keep; < 1 keeps
            all. Deleted after the new checkpoint is written, not before.
        backend_args (dict | None): as ``CheckpointHook``'s; None writes local
            files through ``AtomicLocalBackend``.
        **kwargs: ``CheckpointHook``'s other arguments.
    """

    # message hub: the kept checkpoints' file names, oldest first (names: a run
    # resumed from another folder's checkpoint deletes only in its own, as upstream)
    kept_info = 'atomic_checkpoint_kept'

    def __init__(self, interval=-1, *, max_keep_ckpts=-1, backend_args=None,
                 **kwargs):
        if not isinstance(max_keep_ckpts, int) or isinstance(max_keep_ckpts, bool):
            raise ValueError(
                f'{type(self).__name__}: invalid max_keep_ckpts='
                f'{max_keep_ckpts!r}; expected an int (< 1: keep all)')
        if backend_args is None and kwargs.get('file_client_args') is None:
            backend_args = dict(backend=ATOMIC_BACKEND)
        # upstream would delete before writing: it keeps every checkpoint, and
        # this hook deletes after
        super().__init__(interval, max_keep_ckpts=-1, backend_args=backend_args,
                         **kwargs)
        self.keep_newest = max_keep_ckpts
        self.kept = []

    def before_train(self, runner):
        super().before_train(runner)
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            for stale in leftover_temp_files(self.out_dir, '*.pth'):
                runner.logger.warning(
                    f'removing {stale}: a checkpoint whose writing was '
                    'interrupted (the run was killed while saving)')
                self.file_backend.remove(stale)
        hub = runner.message_hub
        self.kept = list(hub.get_info(self.kept_info, []))
        # a resumed checkpoint was written before it was listed
        self.add_kept(runner, hub.get_info('last_ckpt'))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self.add_kept(runner, self.last_ckpt)

    def after_train_epoch(self, runner):
        super().after_train_epoch(runner)
        self.add_kept(runner, self.last_ckpt)

    def after_val_epoch(self, runner, metrics):
        super().after_val_epoch(runner, metrics)  # may save a checkpoint too
        self.add_kept(runner, self.last_ckpt)

    def add_kept(self, runner, path):
        """List the complete checkpoint ``path``, then delete the oldest beyond
        ``max_keep_ckpts`` (as upstream: on the main process only)."""
        if path is None or osp.basename(path) in self.kept:
            return
        self.kept.append(osp.basename(path))
        expired = self.kept[:-self.keep_newest] if self.keep_newest > 0 else []
        del self.kept[:len(expired)]
        runner.message_hub.update_info(self.kept_info, list(self.kept))
        if not is_main_process():
            return
        for name in expired:
            old = self.file_backend.join_path(self.out_dir, name)
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
            elif self.file_backend.isdir(old):  # deepspeed's checkpoints
                self.file_backend.rmtree(old)
