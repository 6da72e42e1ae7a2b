"""Official RLA-Net checkpoints -> mmrla checkpoints.

The authors (``joyfang1106/RLANet``) publish 18 checkpoints of three kinds; one
mechanism converts them all: each official architecture has a table of renaming rules
(:data:`ARCHITECTURES`), applied key by key, and every key must match a rule.

- ImageNet RLA-ResNet / ECA-RLA-ResNet (``models/resnet_rla.py``) and dsRLA-MobileNetV2
  k32 / its ECA variant (``models/mobilenetv2_dsrla.py``), saved by the official
  ``train.py`` (``module.`` keys in ``state_dict``), become mmpretrain
  ``ImageClassifier`` checkpoints.
- The mmdet-2.x Faster R-CNN, Mask R-CNN and RetinaNet (backbone
  ``mmdetection/resnet_rla.py``: the RLA-ResNet names prefixed ``backbone.``, without
  ``bn2``/``fc``) become mmdet-3.x checkpoints: the backbone is renamed, the FPN and the
  heads are kept as they are, since mmdet 3.x kept mmdet 2.x's module names for
  ``FPN``, ``RPNHead``, ``Shared2FCBBoxHead``, ``FCNMaskHead`` and ``RetinaHead``
  (compared with mmdet 2.16 and 3.3).

RLA-ResNet, official -> mmrla:

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

dsRLA-MobileNetV2, official -> mmrla (``{s}`` the row of the inverted-residual
settings, 0..6; ``L`` stands for ``backbone.layer{s+1}.{b}``):

======================================  ========================================
``conv1.{0,1}.*``, ``conv2.{0,1}.*``    ``backbone.conv{1,2}.{conv,bn}.*``
``stages.{s}.{b}.conv1x1.{0,1}.*``      ``L.expand.{conv,bn}.*``
``stages.{s}.{b}.conv.0.{0,1}.*``       ``L.depthwise.{conv,bn}.*``
``stages.{s}.{b}.conv.{1,2}.*``         ``L.project.{conv,bn}.*``
``stages.{s}.{b}.conv.3.conv.weight``   ``L.attn.conv.weight``
``conv_outs.{s}.weight``                ``backbone.rla{s+1}.update_conv.weight``
``stage_bns.{s}.{b}.*``                 ``backbone.rla{s+1}.norms.{b}.*``
``recurrent_dsconvs.{0..4}.weight``     ``backbone.rla{1..7}.recurrent_conv.weight``
``bn2.*``                               ``backbone.bn_rla.*``
``classifier.1.{weight,bias}``          ``head.fc.{weight,bias}``
======================================  ========================================

The official MobileNetV2 builds ``recurrent_dsconvs`` from one module, so its five
names hold one tensor, as the seven ``rla{i}.recurrent_conv`` of ``RLAMobileNetV2``
do; a checkpoint whose five copies differ is refused.
"""
import re
from collections import OrderedDict

import torch

from mmrla.utils.checkpoint import CheckpointError, state_dict_of

# dsRLA-MobileNetV2: the rows of the inverted-residual settings that use each
# recurrent_dsconvs index (the official model starts a new index at every strided
# row, ``newcell = [0, 1, 2, 3, 5]``)
_MOBILENET_RECURRENT_ROWS = ((0, ), (1, ), (2, ), (3, 4), (5, 6))
_MOBILENET_MODULES = {
    'conv1x1.0': 'expand.conv', 'conv1x1.1': 'expand.bn',
    'conv.0.0': 'depthwise.conv', 'conv.0.1': 'depthwise.bn',
    'conv.1': 'project.conv', 'conv.2': 'project.bn', 'conv.3.conv': 'attn.conv'
}


def _layer(m):
    """``backbone.layer{s+1}.{b}`` of a match whose groups 1, 2 are s, b."""
    return f'backbone.layer{int(m[1]) + 1}.{m[2]}'


def _cell(m):
    """``backbone.rla{s+1}`` of a match whose group 1 is s."""
    return f'backbone.rla{int(m[1]) + 1}'


# The RLA cell of both architectures: one 1x1 per stage (or row), one BN per block.
_RLA_CELL_RULES = [
    (r'conv_outs\.(\d+)\.weight', lambda m: f'{_cell(m)}.update_conv.weight'),
    (r'stage_bns\.(\d+)\.(\d+)\.(.+)',
     lambda m: f'{_cell(m)}.norms.{m[2]}.{m[3]}'),
    (r'bn2\.(.+)', r'backbone.bn_rla.\1'),
]

def _compile(rules):
    return [(re.compile(pattern), repl) for pattern, repl in rules]


# name -> rules (regex, replacement: a template, or a function of the match giving
# one key or a tuple of keys), the keys that identify the architecture, the official
# key of a stage's ECA conv and of the classifier weight
ARCHITECTURES = {
    'RLA-ResNet': dict(
        rules=_compile([
            (r'(conv1|bn1)\.(.+)', r'backbone.\1.\2'),
            (r'stages\.(\d+)\.(\d+)\.eca\.conv\.weight',
             lambda m: f'{_layer(m)}.attn.conv.weight'),
            (r'stages\.(\d+)\.(\d+)\.((?:conv|bn)[123]|downsample\.[01])\.(.+)',
             lambda m: f'{_layer(m)}.{m[3]}.{m[4]}'),
            (r'recurrent_convs\.(\d+)\.weight',
             lambda m: f'{_cell(m)}.recurrent_conv.weight'),
            *_RLA_CELL_RULES,
            (r'fc\.(weight|bias)', r'head.fc.\1'),
        ]),
        required=('conv1.weight', 'stages.0.0.conv1.weight',
                  'conv_outs.0.weight', 'recurrent_convs.0.weight',
                  'stage_bns.0.0.weight'),
        eca='stages.{}.0.eca.conv.weight',
        classifier='fc.weight'),
    'RLA-MobileNetV2': dict(
        rules=_compile([
            (r'(conv[12])\.([01])\.(.+)',
             lambda m: f'backbone.{m[1]}.{("conv", "bn")[int(m[2])]}.{m[3]}'),
            (r'stages\.(\d+)\.(\d+)\.(conv1x1\.[01]|conv\.0\.[01]|conv\.[12]'
             r'|conv\.3\.conv)\.(.+)',
             lambda m: f'{_layer(m)}.{_MOBILENET_MODULES[m[3]]}.{m[4]}'),
            (r'recurrent_dsconvs\.([0-4])\.weight',
             lambda m: tuple(f'backbone.rla{row + 1}.recurrent_conv.weight'
                             for row in _MOBILENET_RECURRENT_ROWS[int(m[1])])),
            *_RLA_CELL_RULES,
            (r'classifier\.1\.(weight|bias)', r'head.fc.\1'),
        ]),
        required=('conv1.0.weight', 'stages.0.0.conv.0.0.weight',
                  'conv_outs.0.weight', 'stage_bns.0.0.weight', 'conv2.0.weight',
                  'recurrent_dsconvs.0.weight'),
        eca='stages.{}.0.conv.3.conv.weight',
        classifier='classifier.1.weight'),
}

# The official detectors (``mmdetection/`` of the RLA-Net repository) and the
# top-level modules besides the backbone each one has.
DETECTORS = {
    'faster-rcnn': {'neck', 'rpn_head', 'roi_head.bbox_head'},
    'mask-rcnn': {'neck', 'rpn_head', 'roi_head.bbox_head', 'roi_head.mask_head'},
    'retinanet': {'neck', 'bbox_head'},
}


def _identify(state_dict, source):
    """The name of the architecture whose required keys ``state_dict`` has."""
    missing = {
        name: [k for k in arch['required'] if k not in state_dict]
        for name, arch in ARCHITECTURES.items()
    }
    for name, keys in missing.items():
        if not keys:
            return name
    found = list(state_dict)[:4]
    raise CheckpointError(
        f'{source}: not an official RLA-Net checkpoint (RLA-ResNet or '
        'dsRLA-MobileNetV2); missing keys: ' + '; '.join(
            f'{name} {keys}' for name, keys in missing.items()) +
        f' (its {len(state_dict)} keys start {found})')


def _rename(rules, key):
    """The new keys of ``key`` (a tuple; empty where no rule matches)."""
    for pattern, repl in rules:
        m = pattern.fullmatch(key)
        if m:
            new = m.expand(repl) if isinstance(repl, str) else repl(m)
            return new if isinstance(new, tuple) else (new, )
    return ()


def _check_shared_copies(state_dict, source):
    """dsRLA-MobileNetV2's ``recurrent_dsconvs.{0..4}`` are one tensor."""
    names = [f'recurrent_dsconvs.{i}.weight'
             for i in range(len(_MOBILENET_RECURRENT_ROWS))]
    missing = [name for name in names if name not in state_dict]
    if missing:
        raise CheckpointError(
            f'{source}: not an official dsRLA-MobileNetV2 checkpoint; missing '
            f'keys {missing} (it has one recurrent conv under the names '
            f'recurrent_dsconvs.0..{len(names) - 1})')
    first = state_dict[names[0]]
    for name in names[1:]:
        other = state_dict[name]
        if other.shape != first.shape or not torch.equal(other, first):
            raise CheckpointError(
                f'{source}: {names[0]} and {name} differ, but the official '
                'dsRLA-MobileNetV2 holds one recurrent conv under the five names '
                'recurrent_dsconvs.{0..4} (RLAMobileNetV2 shares it too); this is '
                'not an official checkpoint, or an edited one')


def _stage_blocks(state_dict, source):
    """Blocks per stage, read off the ``stages.{s}.{b}.*`` keys."""
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
    return [len(blocks[s]) for s in range(len(blocks))]


def convert_rlanet_state_dict(state_dict, source='checkpoint'):
    """Rename an official RLA-Net classification state dict.

    Args:
        state_dict (dict): official keys (a ``module.`` prefix is allowed) of an
            RLA-ResNet, ECA-RLA-ResNet or dsRLA-MobileNetV2 (either variant).
        source (str): the file, for messages.

    Returns:
        tuple(OrderedDict, dict): the renamed state dict and a description of the
        architecture read off the weights (``architecture``: ``'RLA-ResNet'`` or
        ``'RLA-MobileNetV2'``; ``stage_blocks``, ``rla_channels``,
        ``eca_kernel_sizes``, ``num_classes``, the latter None without a classifier).

    Raises:
        CheckpointError: (a ``ValueError``) if the state dict is not an official
            RLA-Net one (missing keys, unknown keys, blocks missing, differing
            copies of a shared tensor); the message names ``source`` and the keys.
    """
    state_dict = state_dict_of(state_dict, source)
    name = _identify(state_dict, source)
    arch = ARCHITECTURES[name]
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new_keys = _rename(arch['rules'], key)
        if not new_keys:
            unknown.append(key)
        for new_key in new_keys:
            converted[new_key] = value
    if unknown:
        raise CheckpointError(
            f'{source}: {len(unknown)} entries are not part of an official '
            f'{name} (first: {unknown[:5]}); SE variants and other models are '
            'not supported by this converter')
    stage_blocks = _stage_blocks(state_dict, source)
    if name == 'RLA-MobileNetV2':
        rows = sum(map(len, _MOBILENET_RECURRENT_ROWS))
        if len(stage_blocks) != rows:
            raise CheckpointError(
                f'{source}: a dsRLA-MobileNetV2 has {rows} rows of inverted '
                f'residuals (stages.0..{rows - 1}), this one '
                f'{len(stage_blocks)}')
        _check_shared_copies(state_dict, source)
    eca = [
        state_dict[arch['eca'].format(s)].shape[-1]
        for s in range(len(stage_blocks))
        if arch['eca'].format(s) in state_dict
    ]
    classifier = state_dict.get(arch['classifier'])
    description = dict(
        architecture=name,
        stage_blocks=stage_blocks,
        rla_channels=int(state_dict['conv_outs.0.weight'].shape[0]),
        eca_kernel_sizes=eca or None,
        num_classes=None if classifier is None else int(classifier.shape[0]))
    return converted, description


def _detector(state_dict, source):
    """Which official detector ``state_dict`` (backbone aside) is."""
    modules = set()
    for key in state_dict:
        parts = key.split('.')
        if parts[0] != 'backbone':
            modules.add('.'.join(parts[:2] if parts[0] == 'roi_head' else
                                 parts[:1]))
    for name, expected in DETECTORS.items():
        if modules == expected:
            return name
    raise CheckpointError(
        f'{source}: a detector with the modules {sorted(modules)} besides its '
        'backbone; the official RLA-Net detectors are ' + '; '.join(
            f'{name} {sorted(m)}' for name, m in DETECTORS.items()))


def convert_rlanet_detector_state_dict(state_dict, source='checkpoint'):
    """Rename the backbone of an official mmdet-2.x RLA-Net detector state dict.

    Returns:
        tuple(OrderedDict, dict): the mmdet-3.x state dict (FPN and heads as they
        were) and the backbone's description (see
        :func:`convert_rlanet_state_dict`) with ``detector`` added
        (``'faster-rcnn'``, ``'mask-rcnn'`` or ``'retinanet'``).
    """
    state_dict = state_dict_of(state_dict, source)
    detector = _detector(state_dict, source)
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }
    converted, arch = convert_rlanet_state_dict(backbone, source)
    if arch['architecture'] != 'RLA-ResNet':
        raise CheckpointError(
            f'{source}: the official detectors have an RLA-ResNet backbone, '
            f'this one an {arch["architecture"]}')
    if any(not k.startswith('backbone.') for k in converted):
        raise CheckpointError(f'{source}: a detector backbone has no '
                              'classifier (bn2/fc), but this one has')
    converted.update(
        (k, v) for k, v in state_dict.items() if not k.startswith('backbone.'))
    return converted, dict(arch, detector=detector)


def matching_config(arch):
    """The ``configs/rla`` config whose model the converted weights load into,
    or None (e.g. another k than the configs' 32)."""
    from mmrla.models.backbones.resnet_body import ResNetBody
    eca = 'eca-' if arch['eca_kernel_sizes'] else ''
    if arch['rla_channels'] != 32:
        return None
    if arch['architecture'] == 'RLA-MobileNetV2':
        return f'configs/rla/{eca}rla-mobilenetv2_2xb48_in1k.py'
    depth = next((d for d, (block, blocks) in ResNetBody.imagenet_arch.items()
                  if block == 'bottleneck'
                  and list(blocks) == arch['stage_blocks']), None)
    if depth is None:
        return None
    if 'detector' in arch:
        return (f'configs/rla/{arch["detector"]}_{eca}rla-r{depth}_1x_coco.py'
                if depth in (50, 101) else None)
    return f'configs/rla/{eca}rla-resnet{depth}_4xb64_in1k.py'


def convert_rlanet_checkpoint(checkpoint, source='checkpoint'):
    """Convert a loaded official checkpoint into an mmrla checkpoint dict.

    ``checkpoint`` is what the official code saves (a dict whose ``state_dict``
    holds the weights) or a bare state dict. A state dict with ``backbone.`` keys is
    a detector (mmdet 2.x; its ``meta['CLASSES']`` become mmdet 3.x's
    ``meta['dataset_meta']['classes']``), anything else a classifier. The result's
    ``meta`` names the ``config`` the weights load into (see
    :func:`matching_config`).
    """
    state_dict = state_dict_of(checkpoint, source)
    meta = dict(converted_from='RLA-Net official')
    if any(k.startswith('backbone.') for k in state_dict):
        converted, arch = convert_rlanet_detector_state_dict(
            state_dict, source)
        meta['task'] = 'detection'
        official = checkpoint.get('meta') if 'state_dict' in checkpoint else None
        classes = official.get('CLASSES') if isinstance(official, dict) else None
        if classes:
            meta['dataset_meta'] = dict(classes=tuple(classes))
    else:
        converted, arch = convert_rlanet_state_dict(state_dict, source)
        meta['task'] = 'classification'
    meta.update(architecture=arch, config=matching_config(arch))
    return dict(state_dict=converted, meta=meta)
