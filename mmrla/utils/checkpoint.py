"""Checkpoint I/O that keeps torch's safe loader on.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses mmengine Runner
checkpoints (they hold a ``MessageHub`` with ``HistoryBuffer`` objects of numpy arrays),
so ``--resume`` and ``load_from`` break. Instead of turning the safe loader off, the few
benign types those checkpoints contain are allow-listed; any other global in a file is
still refused, so a crafted pickle cannot run code.

Every tool loads checkpoints through :func:`load_checkpoint_file` (safe loader, one
clear :class:`CheckpointError` naming the file for a missing, empty, truncated, foreign
or code-running file), checks them against a model with :func:`check_state_dict` /
:func:`check_checkpoint_file`, and writes them with :func:`save_checkpoint_atomic`.
"""
import inspect
import os
import pickle
import re
import warnings
import zipfile

import numpy as np
import torch

from .fileio import (
    BadFileError,
    MissingFileError,
    atomic_write,
    first_line,
    require_file,
)


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


class CheckpointError(BadFileError):
    """A file that is not the checkpoint it was expected to be (a ``ValueError``).

    A missing file raises :class:`CheckpointNotFoundError`, also a
    ``FileNotFoundError``. The message names the file and what was expected.
    """


class CheckpointNotFoundError(CheckpointError, MissingFileError):
    """A checkpoint file that does not exist."""


_ZIP_MAGIC = b'PK\x03\x04'  # torch.save's default (zip) format starts so


_TORCH_ADVICE = ('Weights only load failed', 'Please file an issue',
                 'Check the documentation', '(1)', '(2)')


def _unpickler_reason(exc):
    """(the refused global or None, the informative line) of torch's long
    weights_only error (its boilerplate advises ``weights_only=False``: dropped)."""
    text = str(exc)
    m = re.search(r'GLOBAL ([\w.]+)', text)
    if m:
        return m[1].rstrip('.'), None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(_TORCH_ADVICE):
            return None, line.replace('WeightsUnpickler error:', '').strip()
    return None, type(exc).__name__


def load_checkpoint_file(path, what='checkpoint'):
    """``torch.load(path, map_location='cpu', weights_only=True)`` with clear errors.

    torch's safe unpickler builds tensors and plain containers only (plus the
    allow-listed types of :func:`allow_runner_checkpoints`); a pickle that would
    call anything else (e.g. a ``__reduce__`` that opens a file) is refused before
    that call runs.

    Args:
        path (str | PathLike): the file.
        what (str): what the file should be, for messages ("checkpoint", ...).

    Returns:
        The loaded object, tensors on the CPU.

    Raises:
        CheckpointNotFoundError: no such file.
        CheckpointError: a directory, an empty, truncated or corrupt file, a file
            that is not a torch checkpoint, or one that refers to code or objects
            the safe loader refuses; the message names ``path``.
    """
    path = os.fspath(path)
    try:
        require_file(path, f'{what} file')
    except MissingFileError as exc:
        raise CheckpointNotFoundError(str(exc)) from None
    except BadFileError as exc:
        raise CheckpointError(str(exc)) from None
    with open(path, 'rb') as f:
        head = f.read(4)
    if head == _ZIP_MAGIC and not zipfile.is_zipfile(path):
        raise CheckpointError(
            f'cannot load {what} {path}: truncated or corrupt (a torch zip '
            'checkpoint whose end, the zip directory, is missing); copy or '
            'download it again')
    try:
        with warnings.catch_warnings(record=True) as caught:
            # torch warns about e.g. the pickle protocol of a file it then refuses:
            # noise beside the one-line error; shown only for a file that loads
            warnings.simplefilter('always')
            checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/unsafe files
        unsafe, reason = (_unpickler_reason(exc) if isinstance(
            exc, pickle.UnpicklingError) else (None, first_line(exc)))
        if unsafe:
            message = (
                f'refusing to load {what} {path}: it refers to `{unsafe}`, '
                'which the safe loader (torch.load with weights_only=True) does '
                'not allow; a checkpoint holds tensors and plain containers, so '
                'this file is corrupt or crafted to run code (nothing in it was '
                'run)')
        else:
            message = (
                f'cannot load {what} {path}: not a torch checkpoint, or '
                'truncated/corrupt (torch.load with weights_only=True: '
                f'{reason})')
        raise CheckpointError(message) from exc
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return checkpoint


def state_dict_of(checkpoint, source='checkpoint'):
    """The state dict of a loaded checkpoint, ``module.`` prefixes removed.

    ``checkpoint`` is a dict with a ``state_dict`` (what mmengine's Runner and most
    training code save) or a bare state dict (name -> tensor).

    Raises:
        CheckpointError: anything else; the message names ``source``.
    """
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state_dict, where = checkpoint['state_dict'], "its 'state_dict'"
    else:
        state_dict, where = checkpoint, 'it'
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(
            f'{source}: expected a checkpoint dict with a non-empty '
            f"'state_dict' (name -> tensor) or a bare state dict, but {where} "
            f'is ' + (f'an empty {type(state_dict).__name__}' if isinstance(
                state_dict, (dict, list, tuple)) else
                      f'a {type(state_dict).__name__}'))
    bad = [k for k, v in state_dict.items()
           if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f'{source}: expected a state dict of name -> tensor, but {len(bad)} '
            f'entries are not (first: {bad[:5]})')
    if all(k.startswith('module.') for k in state_dict):  # DataParallel's
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
    return state_dict


def _unwrap(model):
    """The model inside DDP-like wrappers and test-time-augmentation models."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def check_state_dict(model, state_dict, source='checkpoint'):
    """Check that ``state_dict`` loads into ``model`` with ``strict=True``.

    Raises:
        CheckpointError: naming ``source`` and the keys the model expects but the
            state dict lacks, the keys the model does not have, and the tensors
            whose shapes differ (e.g. the checkpoint of another model).
    """
    expected = _unwrap(model).state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f'{k} {tuple(state_dict[k].shape)} (expected {tuple(v.shape)})'
        for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    for label, keys in (('missing keys', missing),
                        ('unexpected keys', unexpected),
                        ('shape mismatches', shapes)):
        if keys:
            parts.append(f'{len(keys)} {label} (first: {keys[:3]})')
    raise CheckpointError(
        f'{source} does not match the model {type(_unwrap(model)).__name__} '
        f'({len(expected)} entries): ' + '; '.join(parts) +
        '; is it the checkpoint of another model or config?')


def check_checkpoint_file(path, model=None, what='checkpoint'):
    """Load ``path`` safely, take its state dict and, given ``model``, check that
    it matches the model exactly (see :func:`check_state_dict`).

    For tools that hand the path on to mmengine (whose Runner loads checkpoints with
    ``strict=False``, so another model's checkpoint would only log warnings): call it
    first to fail early with one clear message.

    Returns:
        dict: the state dict (``module.`` prefixes removed).

    Raises:
        CheckpointError: see :func:`load_checkpoint_file`, :func:`state_dict_of`
            and :func:`check_state_dict`.
    """
    path = os.fspath(path)
    state_dict = state_dict_of(load_checkpoint_file(path, what), path)
    if model is not None:
        check_state_dict(model, state_dict, path)
    return state_dict


def save_checkpoint_atomic(obj, path):
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename.

    A failure or kill never leaves a partial ``path`` behind (see
    :func:`mmrla.utils.fileio.atomic_write`).
    """
    with atomic_write(path, 'wb') as f:
        torch.save(obj, f)
