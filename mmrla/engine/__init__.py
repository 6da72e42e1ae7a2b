"""Training-engine pieces for mmengine's Runner: a checkpoint hook whose files survive
a kill while they are written, the choice of checkpoint ``--resume`` resumes from, and
CRMN's plateau schedule (reload the best model at each plateau; rates from a list).

Importing this package registers :class:`AtomicCheckpointHook` and
:class:`PlateauReloadHook` in mmengine's ``HOOKS`` registry and
:class:`ReduceOnPlateauStepsLR` in its ``PARAM_SCHEDULERS``, the parents of mmpretrain's
and mmdet's, so ``type='...'`` builds them under either ``default_scope``.
"""
from .hooks import (
    AtomicCheckpointHook,
    PlateauReloadHook,
    ReduceOnPlateauStepsLR,
    use_atomic_checkpoints,
)
from .resume import checkpoint_problem, find_resumable_checkpoint

__all__ = [
    'AtomicCheckpointHook', 'PlateauReloadHook', 'ReduceOnPlateauStepsLR',
    'checkpoint_problem', 'find_resumable_checkpoint', 'use_atomic_checkpoints'
]
