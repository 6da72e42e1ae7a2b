"""mmrla: recurrence-along-depth backbones for mmpretrain and mmdet.

Importing mmrla has three effects, each so that upstream tools work unchanged:

* it registers every model into the registries of the installed OpenMMLab
  codebases (see :mod:`mmrla.registry`), so configs use plain type names;
* it allow-lists the types that mmengine Runner checkpoints contain for torch's
  safe loader (see :mod:`mmrla.utils.checkpoint`), so ``--resume`` works;
* it registers ``model-index.yml`` with mmpretrain's ModelHub (see
  :mod:`mmrla.model_index`), so ``get_model``, ``list_models`` and the Inferencers
  know the config names (parsing the metafiles: about 0.07 s of CPU).

It never touches the network.
"""
from .model_index import register_model_index
from .utils.checkpoint import allow_runner_checkpoints
from .version import __version__

allow_runner_checkpoints()

from . import datasets, engine, models  # noqa: E402,F401  (registers all)

register_model_index()

__all__ = ['__version__', 'allow_runner_checkpoints', 'register_model_index']
