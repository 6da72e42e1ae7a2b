"""Training-engine pieces for mmengine's Runner: a checkpoint hook whose files survive
a kill while they are written, and the choice of checkpoint ``--resume`` resumes from.

Importing this package registers :class:`AtomicCheckpointHook` in mmengine's ``HOOKS``
registry, the parent of mmpretrain's and mmdet's, so ``type='AtomicCheckpointHook'``
builds under either ``default_scope``.
"""
from .hooks import AtomicCheckpointHook, use_atomic_checkpoints
from .resume import checkpoint_problem, find_resumable_checkpoint

__all__ = [
    'AtomicCheckpointHook', 'checkpoint_problem', 'find_resumable_checkpoint',
    'use_atomic_checkpoints'
]
