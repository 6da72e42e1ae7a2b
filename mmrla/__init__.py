"""mmrla: recurrence-along-depth backbones for mmpretrain and mmdet.

Importing mmrla registers every model into the registries of the installed
OpenMMLab codebases (see :mod:`mmrla.registry`) and allow-lists the types that
mmengine Runner checkpoints contain for torch's safe loader
(see :mod:`mmrla.utils.checkpoint`). It never touches the network.
"""
from .utils.checkpoint import allow_runner_checkpoints
from .version import __version__

allow_runner_checkpoints()

from . import datasets, engine, models  # noqa: E402,F401  (registers all)

__all__ = ['__version__', 'allow_runner_checkpoints']
