"""Official RLA-Net checkpoints -> mmrla checkpoints.

Classification checkpoints become mmpretrain ``ImageClassifier`` checkpoints. The
official mmdet-2.x detector checkpoints (backbone keys are the classification names
prefixed ``backbone.``, without ``bn2``/``fc``) become mmdet-3.x checkpoints: the
backbone is renamed, every other key (FPN, RPN, RoI and dense heads) is kept, since
mmdet 3.x kept mmdet 2.x's names for these detectors.

Official names (``joyfang1106/RLANet``, layout in ``shared/reference``) and ours:

=================================  =============================================
official                           mmrla
=================================  =============================================
``conv1.*``, ``bn1.*``             ``backbone.conv1.*``, ``backbone.bn1.*``
``stages.{s}.{b}.<conv|bn>*``      ``backbone.layer{s+1}.{b}.<same>``
``stages.{s}.{b}.eca.conv.weight`` ``backbone.layer{s+1}.{b}.attn.conv.weight``
``conv_outs.{s}.weight``           ``backbone.rla{s+1}.update_conv.weight``
``recurrent_convs.{s}.weight``     ``backbone.rla{s+1}.recurrent_conv.weight``
``stage_bns.{s}.{b}.*``            ``backbone.rla{s+1}.norms.{b}.*``
``bn2.*``                          ``backbone.bn_rla.*``
``fc.weight``, ``fc.bias``         ``head.fc.weight``, ``head.fc.bias``
=================================  =============================================
"""
import re
from collections import OrderedDict

import torch

from mmrla.utils.checkpoint import CheckpointError

_RULES = [
    (r'(conv1|bn1)\.(.+)', r'backbone.\1.\2'),
    (r'stages\.(\d+)\.(\d+)\.eca\.conv\.weight',
     lambda m: f'backbone.layer{int(m[1]) + 1}.{m[2]}.attn.conv.weight'),
    (r'stages\.(\d+)\.(\d+)\.((?:conv|bn)[123]|downsample\.[01])\.(.+)',
     lambda m: f'backbone.layer{int(m[1]) + 1}.{m[2]}.{m[3]}.{m[4]}'),
    (r'conv_outs\.(\d+)\.weight',
     lambda m: f'backbone.rla{int(m[1]) + 1}.update_conv.weight'),
    (r'recurrent_convs\.(\d+)\.weight',
     lambda m: f'backbone.rla{int(m[1]) + 1}.recurrent_conv.weight'),
    (r'stage_bns\.(\d+)\.(\d+)\.(.+)',
     lambda m: f'backbone.rla{int(m[1]) + 1}.norms.{m[2]}.{m[3]}'),
    (r'bn2\.(.+)', r'backbone.bn_rla.\1'),
    (r'fc\.(weight|bias)', r'head.fc.\1'),
]
_RULES = [(re.compile(p), r) for p, r in _RULES]
_REQUIRED = ('conv1.weight', 'stages.0.0.conv1.weight', 'conv_outs.0.weight',
             'recurrent_convs.0.weight', 'stage_bns.0.0.weight')


def _rename(key):
    for pattern, repl in _RULES:
        m = pattern.fullmatch(key)
        if m:
            return m.expand(repl) if isinstance(repl, str) else repl(m)
    return None


def convert_rlanet_state_dict(state_dict, source='checkpoint'):
    """Rename an official RLA-Net state dict (``module.`` prefix allowed).

    Returns:
        tuple(OrderedDict, dict): the renamed state dict and a description of the
        architecture read off the weights (``stage_blocks``, ``rla_channels``,
        ``eca_kernel_sizes``, ``num_classes``; the latter None without ``fc``).

    Raises:
        CheckpointError: (a ``ValueError``) if the state dict is not an official
            RLA-ResNet one; the message names ``source`` and the offending keys.
    """
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f'{source}: expected a non-empty state dict, '
                              f'got {type(state_dict).__name__}')
    keys = list(state_dict)
    if all(isinstance(k, str) and k.startswith('module.') for k in keys):
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
    missing = [k for k in _REQUIRED if k not in state_dict]
    if missing:
        found = [k for k in keys if isinstance(k, str)][:4]
        raise CheckpointError(
            f'{source}: not an official RLA-ResNet checkpoint; missing keys '
            f'{missing} (its {len(keys)} keys start {found})')
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = _rename(key) if isinstance(key, str) else None
        if new_key is None or not isinstance(value, torch.Tensor):
            unknown.append(key)
        else:
            converted[new_key] = value
    if unknown:
        raise CheckpointError(
            f'{source}: {len(unknown)} entries are not part of an official '
            f'RLA-ResNet (first: {unknown[:5]}); SE variants and other '
            'models are not supported by this converter')

    blocks = {}
    for k in state_dict:
        if k.startswith('stages.'):
            s, b = map(int, k.split('.')[1:3])
            blocks.setdefault(s, set()).add(b)
    for s in range(max(blocks) + 1):
        if s not in blocks or blocks[s] != set(range(max(blocks[s]) + 1)):
            raise CheckpointError(
                f'{source}: blocks of stages.{s} are missing '
                f'(found blocks {sorted(blocks.get(s, []))})')
    num_stages = len(blocks)
    stage_blocks = [len(blocks[s]) for s in range(num_stages)]
    eca = [
        state_dict[f'stages.{s}.0.eca.conv.weight'].shape[-1]
        for s in range(num_stages)
        if f'stages.{s}.0.eca.conv.weight' in state_dict
    ]
    arch = dict(
        stage_blocks=stage_blocks,
        rla_channels=int(state_dict['conv_outs.0.weight'].shape[0]),
        eca_kernel_sizes=eca or None,
        num_classes=(int(state_dict['fc.weight'].shape[0])
                     if 'fc.weight' in state_dict else None))
    return converted, arch


def convert_rlanet_detector_state_dict(state_dict, source='checkpoint'):
    """Rename the backbone of an official mmdet-2.x RLA detector state dict."""
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }
    converted, arch = convert_rlanet_state_dict(backbone, source)
    if any(not k.startswith('backbone.') for k in converted):
        raise CheckpointError(f'{source}: a detector backbone has no '
                              'classifier (bn2/fc), but this one has')
    converted.update(
        (k, v) for k, v in state_dict.items() if not k.startswith('backbone.'))
    return converted, arch


def convert_rlanet_checkpoint(checkpoint, source='checkpoint'):
    """Convert a loaded official checkpoint into an mmrla checkpoint dict.

    ``checkpoint`` is what the official code saves (a dict whose ``state_dict``
    holds the weights) or a bare state dict. A state dict with ``backbone.`` keys is
    a detector (mmdet 2.x), anything else a classifier.
    """
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
    else:
        state_dict = checkpoint
    if isinstance(state_dict, dict) and any(
            isinstance(k, str) and k.startswith('backbone.')
            for k in state_dict):
        converted, arch = convert_rlanet_detector_state_dict(
            state_dict, source)
        task = 'detection'
    else:
        converted, arch = convert_rlanet_state_dict(state_dict, source)
        task = 'classification'
    return dict(
        state_dict=converted,
        meta=dict(
            converted_from='RLA-Net official', task=task, architecture=arch))
