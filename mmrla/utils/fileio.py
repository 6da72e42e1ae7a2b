"""Files that tools read and write: clear errors for bad inputs, atomic outputs.

Reading: :func:`require_file` (exists, is a file, not empty) and
:func:`load_config_file` / :func:`build_model_from_config` raise :class:`BadFileError`
(a ``ValueError``; a missing file raises :class:`MissingFileError`, also a
``FileNotFoundError``) whose message names the file and what was expected.

Writing: :func:`atomic_write` (one file) and :func:`atomic_dir` (a folder) build the
output beside its destination and rename it into place only when complete, so an error
or a kill never leaves a partial output, and an error leaves no temporary file (a kill
leaves one: :func:`leftover_temp_files` finds them).

Command-line tools catch :class:`BadFileError` at their top level with
:func:`cli_errors` (``main`` returns 1) or :func:`exit_on_bad_file` (``SystemExit``):
one ``error: ...`` line on stderr, no traceback. Other exceptions still raise.
"""
import contextlib
import copy
import functools
import glob
import importlib
import os
import os.path as osp
import shutil
import sys
import tempfile


class BadFileError(ValueError):
    """An input file that is not what a tool expected, or an output it cannot write.

    The message names the file and what was expected.
    """


class MissingFileError(BadFileError, FileNotFoundError):
    """An input file that does not exist."""


def first_line(exc):
    """``Type: first line of the message`` of an exception, for one-line errors."""
    text = str(exc).strip()
    return f'{type(exc).__name__}: {text.splitlines()[0]}' if text else \
        type(exc).__name__


def require_file(path, what='file', nonempty=True):
    """Check that ``path`` is an existing, readable (and non-empty) regular file."""
    path = os.fspath(path)
    if not osp.exists(path):
        raise MissingFileError(f'{what} not found: {path}')
    if not osp.isfile(path):
        raise BadFileError(f'{what} {path} is a directory, expected a file'
                           if osp.isdir(path) else
                           f'{what} {path} is not a regular file')
    if not os.access(path, os.R_OK):
        raise BadFileError(f'{what} {path} is not readable (permission denied)')
    if nonempty and osp.getsize(path) == 0:
        raise BadFileError(f'{what} {path} is empty (0 bytes)')
    return path


# --------------------------------------------------------------------- configs

CONFIG_SUFFIXES = ('.py', '.json', '.yml', '.yaml')


def load_config_file(path, what='config'):
    """``mmengine.Config.fromfile(path)``, checked to be a model config.

    Raises:
        BadFileError: the file is missing, empty, of an unsupported type, cannot be
            parsed (syntax error, not text, ...) or defines no ``model`` dict with a
            ``type``; the message names ``path``.
    """
    from mmengine.config import Config
    path = require_file(path, f'{what} file')
    if not path.endswith(CONFIG_SUFFIXES):
        raise BadFileError(f'{what} {path}: expected a {"/".join(CONFIG_SUFFIXES)}'
                           ' config file')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as exc:
        raise BadFileError(
            f'{what} {path} (or one of its _base_ files) is not a valid config: '
            f'SyntaxError: {exc.msg} (line {exc.lineno})') from exc
    except Exception as exc:  # mmengine raises many types for unreadable configs
        raise BadFileError(f'{what} {path} is not a valid config: '
                           f'{first_line(exc)}') from exc
    model = cfg.get('model')
    if not isinstance(model, dict) or 'type' not in model:
        raise BadFileError(
            f'{what} {path}: not a model config; expected a `model` dict with a '
            f'`type`, got ' + (f'model={model!r}'[:80] if 'model' in cfg else
                               f'no `model` (keys: {sorted(cfg.keys())[:10]})'))
    return cfg


def build_model_from_config(cfg, path='config'):
    """Build ``cfg.model`` in the registry of ``cfg.default_scope`` (mmpretrain),
    from a copy: ``cfg`` stays as read (mmdet's two-stage detectors write their
    ``train_cfg``/``test_cfg`` into the ``roi_head`` config they are given).

    Returns:
        tuple(nn.Module, str): the model and the scope.

    Raises:
        BadFileError: unknown scope or model type, or an invalid argument
            (mmrla's constructors raise ``ValueError`` naming it); names ``path``.
    """
    from mmengine.registry import init_default_scope
    scope = cfg.get('default_scope', 'mmpretrain')
    try:
        registry = importlib.import_module(f'{scope}.registry')
    except ImportError as exc:
        raise BadFileError(f'{path}: default_scope={scope!r} is not an '
                           'installed OpenMMLab codebase (expected mmpretrain '
                           'or mmdet)') from exc
    init_default_scope(scope)
    try:
        return registry.MODELS.build(copy.deepcopy(cfg.model)), scope
    except (KeyError, ValueError) as exc:  # unregistered type / invalid argument
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise BadFileError(f'{path}: cannot build `model`: '
                           f'{str(message).splitlines()[0]}') from exc


# ------------------------------------------------------------------- writing

def _read_umask():
    """The process umask, read once at import (setting it to read it is not
    thread-safe, so outputs made later in threads do not race on it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()

def _missing_parents(directory):
    """The ancestors of ``directory`` (itself included) that do not exist yet."""
    missing = []
    while directory and not osp.exists(directory):
        missing.append(directory)
        parent = osp.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return missing


def _fsync_dir(directory):
    try:  # make the rename durable; not every platform/filesystem allows it
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def require_writable(path, what='output'):
    """Check early, before long work, that :func:`atomic_write` can write ``path``:
    it is not a directory, and its nearest existing ancestor is a writable folder
    (missing folders below it will be created)."""
    path = os.fspath(path)
    if osp.isdir(path):
        raise BadFileError(f'{what} {path} is a directory, expected a file path')
    directory = osp.dirname(osp.abspath(path))
    missing = _missing_parents(directory)
    existing = osp.dirname(missing[-1]) if missing else directory
    if not osp.isdir(existing):
        raise BadFileError(f'cannot write {what} {path}: {existing} is not a '
                           'folder')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadFileError(f'cannot write {what} {path}: folder {existing} is '
                           'not writable')
    return path


@contextlib.contextmanager
def _created_parents(path):
    """Create the missing parent folders of ``path``; remove them on failure."""
    directory = osp.dirname(osp.abspath(path))
    created = _missing_parents(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise BadFileError(f'cannot write {path}: cannot create its folder '
                           f'{directory}: {exc.strerror or exc}') from exc
    try:
        yield directory
    except BaseException:
        for folder in created:  # innermost first; only if still empty
            try:
                os.rmdir(folder)
            except OSError:
                break
        raise


@contextlib.contextmanager
def _written(path, undo=None):
    """On any exception in the block: ``undo()`` (remove a partial output), and an
    ``OSError`` (no permission, disk full, ...) becomes a :class:`BadFileError`
    naming ``path``."""
    try:
        yield
    except BaseException as exc:
        if undo is not None:
            with contextlib.suppress(OSError):
                undo()
        if isinstance(exc, OSError):
            raise BadFileError(
                f'cannot write {path}: {exc.strerror or exc}') from exc
        raise


@contextlib.contextmanager
def atomic_write(path, mode='w', **open_kwargs):
    """Open a temporary file beside ``path``; rename it to ``path`` when complete.

    ``with atomic_write('table.md') as f: f.write(...)``. On leaving the block
    normally the file is flushed, fsynced and renamed over ``path`` (``os.replace``,
    atomic on POSIX); on an exception the temporary file (and any parent folder made
    for it) is removed and the exception re-raised, so ``path`` is either untouched
    or complete. ``OSError`` (no permission, disk full, ...) becomes a
    :class:`BadFileError` naming ``path``. Missing parent folders are created.
    """
    path = os.fspath(path)
    if 'w' not in mode:
        raise ValueError(f'atomic_write needs a write mode, got {mode!r}')
    if osp.isdir(path):
        raise BadFileError(f'cannot write {path}: it is a directory, expected '
                           'a file path')
    with _created_parents(path) as directory:
        with _written(path):
            fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                                       suffix='.tmp', dir=directory)
        with _written(path, undo=lambda: os.remove(tmp)):
            with os.fdopen(fd, mode, **open_kwargs) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0o600 is not wanted
            os.replace(tmp, path)
    _fsync_dir(directory)


def leftover_temp_files(directory, names='*'):
    """The temporary files that :func:`atomic_write` left in ``directory`` for
    targets whose names match the glob ``names``: a kill while it wrote (its own
    errors remove them)."""
    return sorted(glob.glob(osp.join(glob.escape(directory), f'.{names}.*.tmp')))


@contextlib.contextmanager
def atomic_dir(out_dir, marker='.complete'):
    """Build a folder beside ``out_dir`` and rename it to ``out_dir`` when complete.

    ``with atomic_dir('data/digits') as tmp: <write into tmp>``. On success the
    ``marker`` file is written into the folder, which is then renamed to
    ``out_dir``; on an exception the temporary folder is removed and the exception
    re-raised. An existing ``out_dir`` is never overwritten: check
    :func:`is_complete_dir` first to keep a complete one.

    Raises:
        BadFileError: ``out_dir`` exists (a complete folder of this tool, a file, or
            a folder of something else), or its parent cannot be written.
    """
    out_dir = os.fspath(out_dir)
    if osp.lexists(out_dir):
        raise BadFileError(
            f'{out_dir} exists and is not a complete output of this tool (no '
            f'{marker} file); remove it or choose another output folder')
    with _created_parents(out_dir) as parent:
        with _written(out_dir):
            tmp = tempfile.mkdtemp(
                prefix=f'.{osp.basename(osp.normpath(out_dir))}.', suffix='.tmp',
                dir=parent)
        with _written(out_dir, undo=lambda: shutil.rmtree(tmp, ignore_errors=True)):
            yield tmp
            open(osp.join(tmp, marker), 'w').close()
            os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp's 0o700 is not wanted
            os.rename(tmp, out_dir)  # fails rather than replace a new out_dir
    _fsync_dir(parent)


def is_complete_dir(out_dir, marker='.complete'):
    """Whether ``out_dir`` is a folder that :func:`atomic_dir` completed."""
    return osp.isfile(osp.join(out_dir, marker))


# ------------------------------------------------------------ command lines

def cli_errors(main):
    """Decorate a tool's ``main(argv)``: a :class:`BadFileError` prints one line,
    ``error: <message>``, to stderr and makes ``main`` return 1."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except BadFileError as exc:
            print(f'error: {exc}', file=sys.stderr)
            return 1

    return wrapper


@contextlib.contextmanager
def exit_on_bad_file():
    """Turn a :class:`BadFileError` into ``SystemExit('error: <message>')``
    (exit code 1, the message on stderr, no traceback), for tools whose ``main``
    does not return an exit code."""
    try:
        yield
    except BadFileError as exc:
        raise SystemExit(f'error: {exc}') from None
