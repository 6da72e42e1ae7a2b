"""How mmrla's models reach the upstream registries (the one place that knows).

Configs use plain type names (``type='RLAResNet'``) under ``default_scope='mmpretrain'``
or ``default_scope='mmdet'``. mmengine looks a name up in the scope's registry and its
parents only, never in sibling scopes, so every model is registered directly into the
``MODELS`` registry of each OpenMMLab codebase that is installed.
"""
import importlib

_CODEBASES = ('mmpretrain', 'mmdet')


def _target_registries():
    registries = []
    for codebase in _CODEBASES:
        try:
            module = importlib.import_module(f'{codebase}.registry')
        except ImportError:
            continue
        registries.append(module.MODELS)
    if not registries:
        raise ImportError('mmrla needs mmpretrain or mmdet installed; '
                          f'neither of {_CODEBASES} could be imported')
    return registries


def register_model(cls):
    """Class decorator: register ``cls`` under its own name in every scope."""
    for registry in _target_registries():
        registry.register_module(module=cls)
    return cls
