"""Helpers shared by every mmrla module: argument checks (one error format for
config mistakes) and freezing."""
from collections.abc import Sequence

import torch.nn as nn


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_int_seq(value, length=None):
    return (isinstance(value, Sequence) and not isinstance(value, str)
            and all(is_int(v) for v in value)
            and (length is None or len(value) == length))


def invalid_arg(owner, arg, value, allowed):
    """Raise the ValueError every mmrla constructor uses for a bad argument.

    The message names the class (``owner``: a class, an instance or a name), the
    argument, the value given and what is allowed, e.g.
    ``RLAResNet: invalid depth=51; expected one of (18, 34, 50, 101, 152)``.
    """
    if not isinstance(owner, str):
        owner = (owner if isinstance(owner, type) else type(owner)).__name__
    raise ValueError(f'{owner}: invalid {arg}={value!r}; expected {allowed}')


def check_positive_ints(owner, **values):
    """:func:`invalid_arg` for the first of ``values`` that is not an int >= 1."""
    for arg, value in values.items():
        if not is_int(value) or value < 1:
            invalid_arg(owner, arg, value, 'a positive int')


def check_flags(owner, **values):
    """:func:`invalid_arg` for the first of ``values`` that is not a bool (a
    string such as ``'False'`` would silently act as True)."""
    for arg, value in values.items():
        if not isinstance(value, bool):
            invalid_arg(owner, arg, value, 'True or False')


def check_stage_args(owner, num_stages, out_indices, frozen_stages,
                     **per_stage):
    """The stage arguments of a staged backbone: ``out_indices`` a non-empty
    sequence of stage indices, ``frozen_stages`` in -1..num_stages, and every
    ``per_stage`` value (strides, blocks, ...) one positive int per stage."""
    for arg, value in per_stage.items():
        if not (is_int_seq(value, num_stages) and min(value) > 0):
            invalid_arg(owner, arg, value,
                        f'{num_stages} positive ints (one per stage)')
    if not (is_int_seq(out_indices) and len(out_indices) > 0
            and all(0 <= i < num_stages for i in out_indices)):
        invalid_arg(owner, 'out_indices', out_indices,
                    'a non-empty sequence of stage indices in '
                    f'0..{num_stages - 1}')
    if not is_int(frozen_stages) or not -1 <= frozen_stages <= num_stages:
        invalid_arg(owner, 'frozen_stages', frozen_stages,
                    f'an int in -1..{num_stages} (-1 freezes nothing)')


def _registered(layer_type):
    from mmengine.registry import MODELS
    return isinstance(layer_type, str) and MODELS.get(layer_type) is not None or (
        isinstance(layer_type, type))


def check_common_args(owner, **kwargs):
    """Check the OpenMMLab arguments every backbone passes on to upstream code.

    Upstream checks these late (deep in a builder, with a bare assertion or a
    registry ``KeyError``) or not at all (a flag given as a string silently acts
    as True). Known names: ``conv_cfg``, ``norm_cfg``, ``act_cfg`` (layer
    configs), ``init_cfg``, the flags ``norm_eval``, ``with_cp``,
    ``zero_init_residual``, ``avg_down``, ``deep_stem``, and ``in_channels``,
    ``drop_path_rate``; others raise ``TypeError`` (a bug in the caller).
    """
    for arg, value in kwargs.items():
        if arg in ('norm_eval', 'with_cp', 'zero_init_residual', 'avg_down',
                   'deep_stem'):
            check_flags(owner, **{arg: value})
        elif arg in ('conv_cfg', 'norm_cfg', 'act_cfg'):
            if value is None and arg != 'norm_cfg':
                continue
            if not isinstance(value, dict) or not _registered(
                    value.get('type')):
                invalid_arg(
                    owner, arg, value,
                    ('None or ' if arg != 'norm_cfg' else '') +
                    "a dict whose 'type' is a registered layer, e.g. "
                    + {'conv_cfg': "dict(type='Conv2d')",
                       'norm_cfg': "dict(type='BN')",
                       'act_cfg': "dict(type='ReLU')"}[arg])
        elif arg == 'init_cfg':
            items = value if isinstance(value, list) else [value]
            if value is not None and not all(
                    isinstance(item, dict) and 'type' in item
                    for item in items):
                invalid_arg(owner, arg, value,
                            "None, a dict with a 'type' or a list of them")
        elif arg == 'in_channels':
            check_positive_ints(owner, in_channels=value)
        elif arg == 'drop_path_rate':
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not 0 <= value < 1:
                invalid_arg(owner, arg, value, 'a number in [0, 1)')
        else:
            raise TypeError(f'check_common_args: unknown argument {arg!r}')


def freeze(items):
    """Freeze modules and parameters: no gradient, and modules in eval mode
    (their norms stop updating statistics)."""
    for item in items:
        if isinstance(item, nn.Parameter):
            item.requires_grad = False
        else:
            item.eval()
            for param in item.parameters():
                param.requires_grad = False
