"""The ``--cfg-options`` argument of the tools."""
from mmengine.config import DictAction


class CfgOptions(DictAction):
    """mmengine's ``DictAction``, with a usage error for an item without ``=``
    (upstream fails with a ValueError traceback)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if '=' not in item:
                parser.error(f'{option_string}: expected KEY=VALUE items, '
                             f'got {item!r}')
        super().__call__(parser, namespace, values, option_string)
