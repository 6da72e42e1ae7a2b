"""mmrla: recurrence-along-depth backbones for mmpretrain and mmdet.

Importing mmrla has three effects, each so that upstream tools work unchanged:

* it registers every model into the registries of the installed OpenMMLab
  codebases (see :mod:`mmrla.registry`), so configs use plain type names, and
  mmrla's hooks, scheduler and the ``'atomic_local'`` file backend into
  mmengine's (see :mod:`mmrla.engine`);
* it adds the types that mmengine Runner checkpoints contain to torch's
  process-wide list of safe globals (see :mod:`mmrla.utils.checkpoint`). mmengine
  loads checkpoints with ``torch.load``'s default, ``weights_only=True`` since
  torch 2.6, which refuses them; upstream tools (``--resume``, ``load_from``,
  ``mim test``, the Inferencers) offer no way to pass the types per call, and
  the config's ``custom_imports`` of mmrla is the one place every such tool runs.
  Only benign types are added; the safe loader stays on;
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
