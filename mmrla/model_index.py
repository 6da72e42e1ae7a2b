"""mmrla's models in mmpretrain's ModelHub, so ``mmpretrain.get_model``,
``list_models`` and ``ImageClassificationInferencer`` find them by their config
names, as they find mmpretrain's own.

``ModelHub.register_model_index`` is mmpretrain's mechanism for packages outside it.
mmdet's ``DetInferencer`` resolves names differently (mmengine reads the metafiles of
the scope's own package, ``mmdet``): it takes our config paths, or the ``Config`` that
``ModelHub.get(name).config`` gives.
"""
import warnings
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent

_registered = False


def model_index_path():
    """``mmrla/.mim/model-index.yml``, which setup.py makes in every install (a copy,
    or in an editable one a symlink); in a clone used without installing (only on
    ``PYTHONPATH``), the clone's own. None if neither exists."""
    for path in (PACKAGE_ROOT / '.mim' / 'model-index.yml',
                 PACKAGE_ROOT.parent / 'model-index.yml'):
        if path.is_file():
            return path
    return None


def register_model_index():
    """Register every model of ``model-index.yml`` with mmpretrain's ModelHub, once.

    Config paths resolve against the index's folder, as mmpretrain's own do against
    ``mmpretrain/.mim``. Returns whether mmrla's models are registered (False without
    mmpretrain, or without an index, with a warning saying why).
    """
    global _registered
    if _registered:
        return True
    try:
        from mmpretrain.apis import ModelHub
    except ImportError:  # an mmdet-only environment: nothing to register with
        return False
    path = model_index_path()
    if path is None:
        warnings.warn(
            'mmrla: no model-index.yml under '
            f'{PACKAGE_ROOT / ".mim"} or {PACKAGE_ROOT.parent}; mmpretrain\'s '
            'get_model/list_models will not know mmrla\'s models (reinstall mmrla '
            'with pip, which makes mmrla/.mim)')
        return False
    ModelHub.register_model_index(path, config_prefix=path.parent)
    _registered = True
    return True
