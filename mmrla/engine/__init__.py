"""Training-engine pieces for mmengine's Runner: checkpoints whose files survive a kill
while they are written, the choice of checkpoint ``--resume`` resumes from, and CRMN's
plateau schedule (reload the best model at each plateau; rates from a list).

Importing this package registers :class:`AtomicCheckpointHook` and
:class:`PlateauReloadHook` in mmengine's ``HOOKS`` registry,
:class:`ReduceOnPlateauStepsLR` in its ``PARAM_SCHEDULERS`` (the parents of
mmpretrain's and mmdet's, so ``type='...'`` builds them under either
``default_scope``), and :class:`AtomicLocalBackend` as mmengine's file backend
``'atomic_local'``.
"""
from .atomic_checkpoint import AtomicCheckpointHook, AtomicLocalBackend
from .hooks import PlateauReloadHook, ReduceOnPlateauStepsLR
from .resume import checkpoint_problem, find_resumable_checkpoint

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'PlateauReloadHook',
    'ReduceOnPlateauStepsLR', 'checkpoint_problem', 'find_resumable_checkpoint'
]
