from .checkpoint import (
    CheckpointError,
    allow_runner_checkpoints,
    load_checkpoint_file,
    save_checkpoint_atomic,
)

__all__ = [
    'CheckpointError', 'allow_runner_checkpoints', 'load_checkpoint_file',
    'save_checkpoint_atomic'
]
