"""Which checkpoint ``tools/train.py --resume`` (no path) resumes from.

mmengine's auto-resume reads ``<work_dir>/last_checkpoint`` and resumes from the file it
names, whatever that file is: a checkpoint truncated by a kill during an in-place save,
an empty file after a power cut, or one already deleted by ``max_keep_ckpts``, and the
run dies with a traceback. :func:`find_resumable_checkpoint` checks the named file first
(it must load with torch's safe loader, as the Runner will load it, and hold what
``Runner.resume`` reads), and otherwise falls back to the newest complete
``epoch_N.pth``/``iter_N.pth`` beside it, saying which files it skipped and why.
"""
import os
import os.path as osp
import re

from mmrla.utils.checkpoint import CheckpointError, load_checkpoint_file

NUMBERED = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')
RESUME_KEYS = ('meta', 'state_dict', 'message_hub')


def checkpoint_problem(path):
    """None if ``Runner.resume`` can resume from ``path``; else why not (naming it)."""
    try:
        ckpt = load_checkpoint_file(path)
    except CheckpointError as exc:
        return str(exc)
    missing = [k for k in RESUME_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        return f'{path} is not a training checkpoint (no {", ".join(missing)})'
    return None


def numbered_checkpoints(folder):
    """``epoch_N.pth`` and ``iter_N.pth`` in ``folder``, newest (largest N) first."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = NUMBERED.match(name)
        path = osp.join(folder, name)
        if match and osp.isfile(path):
            found.append((int(match.group(1)), osp.getmtime(path), path))
    return [path for *_, path in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir):
    """Return ``(path, notes)``: the checkpoint to resume from (None: there is none,
    start from scratch) and one warning line per file that could not be used."""
    notes = []
    record = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(record):
        with open(record, encoding='utf-8') as f:
            named = f.read().strip()
        if not named:
            notes.append(f'{record} is empty')
    if named:
        problem = checkpoint_problem(named)
        if problem is None:
            return named, notes
        notes.append(f'{record} names a checkpoint that cannot be resumed: '
                     f'{problem}')
    folder = osp.dirname(named) if named else work_dir
    for path in numbered_checkpoints(folder):
        if named and osp.abspath(path) == osp.abspath(named):
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            if notes:
                notes.append(f'resuming from {path}, the newest complete '
                             'checkpoint, instead')
            return path, notes
        notes.append(f'skipping: {problem}')
    if notes:
        notes.append(f'no complete checkpoint in {folder}: training starts '
                     'from scratch')
    return None, notes
