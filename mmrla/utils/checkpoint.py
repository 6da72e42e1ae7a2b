"""Checkpoint I/O that keeps torch's safe loader on.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine Runner
checkpoints (they hold a ``MessageHub`` with ``HistoryBuffer`` objects of numpy arrays),
so ``--resume`` and ``load_from`` break. Instead of turning the safe loader off, the few
benign types those checkpoints contain are allow-listed; any other global in a file is
still refused, so a crafted pickle cannot run code.
"""
import inspect
import os
import os.path as osp
import pickle
import tempfile

import numpy as np
import torch


def _numpy_globals():
    """The numpy callables/types that pickled arrays and scalars refer to."""
    core = getattr(np, '_core', None) or np.core  # numpy 2 renamed np.core
    found = [np.ndarray, np.dtype, core.multiarray._reconstruct,
             core.multiarray.scalar]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25: per-dtype classes
    if dtypes is not None:
        found += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return found


def _history_buffer_getattr(obj, name):
    """``getattr`` as Runner checkpoints use it, and for nothing else.

    ``HistoryBuffer.__getstate__`` stores its statistics methods (``min``, ``max``,
    ...); pickle protocol 2 writes each as ``getattr(HistoryBuffer, 'min')``. A general
    ``getattr`` would open the safe loader to attribute walks that reach code, so this
    one only returns public functions defined on ``HistoryBuffer``.
    """
    from mmengine.logging import HistoryBuffer
    value = vars(HistoryBuffer).get(name) if obj is HistoryBuffer else None
    if name.startswith('_') or not inspect.isfunction(value):
        raise pickle.UnpicklingError(
            f'refusing getattr({getattr(obj, "__name__", type(obj).__name__)}, '
            f'{name!r}) while loading with weights_only=True')
    return value


def allow_runner_checkpoints():
    """Allow-list the types that mmengine Runner checkpoints contain."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 has no safe loader to configure
        return
    from mmengine.logging import HistoryBuffer
    add_safe_globals([
        HistoryBuffer, *_numpy_globals(),
        (_history_buffer_getattr, 'builtins.getattr')
    ])


class CheckpointError(ValueError):
    """A file that is not the checkpoint it was expected to be."""


def load_checkpoint_file(path):
    """Load ``path`` with ``weights_only=True``; name the file in every error."""
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint file not found: {path}')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'checkpoint file is empty: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/unsafe files
        raise CheckpointError(
            f'cannot load {path} as a checkpoint (loaded with '
            f'weights_only=True): {type(exc).__name__}: '
            f'{str(exc).splitlines()[0] if str(exc) else ""}') from exc


def save_checkpoint_atomic(obj, path):
    """``torch.save`` to a temporary file beside ``path``, then rename.

    A failure or kill never leaves a partial ``path`` behind.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
