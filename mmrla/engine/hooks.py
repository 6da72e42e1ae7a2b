"""A CheckpointHook whose checkpoints survive being killed while they are written.

mmengine's ``CheckpointHook`` has ``Runner.save_checkpoint`` write ``epoch_N.pth`` in
place (``open(path, 'wb')``), deletes the oldest kept checkpoint *before* that, and then
rewrites ``last_checkpoint`` in place. A SIGKILL (OOM killer, preemption, Ctrl-\\) or a
power cut in the middle leaves a truncated ``epoch_N.pth``, a ``last_checkpoint`` naming
a truncated, empty or already deleted file, and with ``max_keep_ckpts=1`` no complete
checkpoint at all.

:class:`AtomicCheckpointHook` takes the same arguments and changes only the order and
the way files are written (local paths; other storage backends keep the upstream path):

1. ``Runner.save_checkpoint`` writes ``.epoch_N.pth.tmp`` beside the final file (so the
   checkpoint's content, the ``before_save_checkpoint`` hooks and every runner option
   stay upstream's);
2. the temporary file is fsynced and renamed over ``epoch_N.pth`` (``os.replace`` is
   atomic on POSIX and Windows), and the directory is fsynced;
3. only then is ``last_checkpoint`` rewritten, the same way
   (:func:`mmrla.utils.fileio.atomic_write`: temporary file, fsync, rename);
4. only then are checkpoints beyond ``max_keep_ckpts`` deleted.

At every instant ``last_checkpoint`` names a complete checkpoint, and a complete previous
checkpoint exists until the new one is complete. Best checkpoints (``save_best``) are
written the same way. Stale temporary files of a killed run are removed at the next
``before_train``.
"""
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from mmrla.utils.fileio import atomic_write

TMP_SUFFIX = '.tmp'


def fsync_path(path):
    """Flush ``path`` (a file or a directory) to disk; a no-op where the OS refuses
    to open directories (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def commit_file(tmp, path):
    """Make the complete file ``tmp`` appear as ``path`` in one step, durably."""
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(osp.dirname(osp.abspath(path)))


def temp_name(filename):
    """The hidden name a checkpoint is written under until it is complete."""
    return f'.{filename}{TMP_SUFFIX}'


class _AtomicSaves:
    """The runner as the upstream hook sees it, except that ``save_checkpoint``
    writes through :meth:`AtomicCheckpointHook._save_atomically`."""

    def __init__(self, hook, runner):
        self._hook = hook
        self._runner = runner

    def __getattr__(self, name):
        return getattr(self._runner, name)

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        self._hook._save_atomically(self._runner, out_dir, filename, *args,
                                    **kwargs)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) that never leaves a partial checkpoint
    or a ``last_checkpoint`` naming one; see the module docstring."""

    def before_train(self, runner):
        super().before_train(runner)
        if self._local() and is_main_process():
            stale_files = glob.glob(
                osp.join(glob.escape(self.out_dir), '.*.pth' + TMP_SUFFIX))
            stale_files += glob.glob(
                osp.join(glob.escape(runner.work_dir),
                         '.last_checkpoint.*' + TMP_SUFFIX))
            for stale in stale_files:
                runner.logger.warning(
                    f'removing {stale}: a checkpoint whose writing was '
                    'interrupted (the run was killed while saving)')
                os.remove(stale)

    def _local(self):
        return (self.file_client_args is None
                and isinstance(self.file_backend, LocalBackend))

    def _save_atomically(self, runner, out_dir, filename, *args, **kwargs):
        """``runner.save_checkpoint(out_dir, filename, ...)``, written under a
        temporary name and renamed once complete. ``Runner.save_checkpoint`` writes
        on the main process only (``master_only``), so only it renames."""
        runner.save_checkpoint(out_dir, temp_name(filename), *args, **kwargs)
        if is_main_process():
            self._commit(
                osp.join(out_dir, temp_name(filename)),
                osp.join(out_dir, filename))

    def _commit(self, tmp, path):
        """Rename the complete temporary checkpoint ``tmp`` to ``path``."""
        commit_file(tmp, path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if isinstance(runner, _AtomicSaves):  # reached from _save_best_checkpoint
            runner = runner._runner
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)

        # the upstream bookkeeping of kept checkpoints, but the file that falls out
        # is deleted after the new checkpoint is complete, not before
        expired = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                expired = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        self._save_atomically(
            runner,
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        if not is_main_process():
            return
        with atomic_write(osp.join(runner.work_dir, 'last_checkpoint')) as f:
            f.write(self.last_ckpt)
        if expired is not None and expired != step:
            path = osp.join(self.out_dir, self.filename_tmpl.format(expired))
            if osp.isfile(path):
                os.remove(path)

    def _save_best_checkpoint(self, runner, metrics):
        if not self._local():
            return super()._save_best_checkpoint(runner, metrics)
        return super()._save_best_checkpoint(_AtomicSaves(self, runner),
                                             metrics)


def use_atomic_checkpoints(cfg):
    """Swap a plain ``CheckpointHook`` in ``cfg.default_hooks`` for the drop-in
    :class:`AtomicCheckpointHook`; return whether it did. A scoped name such as
    ``'mmengine.CheckpointHook'`` is left alone: that is how a config opts out."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook is None or hook.get('type') not in ('CheckpointHook',
                                                CheckpointHook):
        return False
    hook['type'] = 'AtomicCheckpointHook'
    return True
