"""Bad configuration: every public constructor argument of every backbone.

Each wrong type, out-of-range value, inconsistent list or unknown variant raises one
``ValueError`` of the form ``<Class>: invalid <arg>=<value>; expected <what>``: no
bare assertion, no registry ``KeyError``, no error from deep inside torch.
"""
import inspect

import pytest

from mmpretrain.models.backbones import MobileNetV2, ResNet
from mmpretrain.registry import MODELS

import mmrla.models.backbones as mmrla_backbones

# Bad values of the arguments every ResNetBody-based backbone accepts.
RESNET_ARGS = {
    'depth': [51, '50', None],
    'stem_type': ['tiny'],
    'preact': [1],
    'widen_factor': [0, 2.5],
    # the first value of each list is wrong for the CIFAR body (3 stages) too
    'stage_blocks': [(1, 0, 1, 1), (1, 1, 1), 'abc'],
    'groups': [0, 1.5],
    'width_per_group': [0],
    'attention': ['eca', dict(type='CBAM'), dict(type='ECA', kernel_size=4),
                  dict(type='ECA', kernel_size=[3, 3])],
    'num_stages': [0, 5],
    'strides': [(1, 2, 0, 2), (1, 2, 2)],
    'dilations': [(1, 1), (1, 1, 0, 1)],
    'stem_channels': [0, -8],
    'base_channels': [0],
    'out_indices': [(4, ), 3, (-5, )],
    'frozen_stages': [5, -2],
    'style': ['tf'],
    'deep_stem': ['yes'],
    'in_channels': [0, 'rgb'],
    'expansion': [0],
    'avg_down': ['no'],
    'conv_cfg': [dict(type='Nope'), 'conv'],
    'norm_cfg': [dict(type='Nope'), 'BN', dict(typ='BN'), None],
    'norm_eval': ['x'],
    'with_cp': ['x'],
    'zero_init_residual': ['x'],
    'init_cfg': [5, [dict(layer='Conv2d')]],
    'drop_path_rate': [-0.1, 1.5],
}

# backbone -> (valid base arguments, {argument: [bad values]})
TABLE = {
    'ResNetBody': (dict(depth=18), RESNET_ARGS),
    'RLAResNet': (dict(depth=18), dict(
        rla_channels=[0, 2.5],
        update_source=['input'],
        h_readout=['yes'],
        cell=['transformer'],
        update_order=['sideways'],
        shared=[1],
        exchange=['no'])),
    'LayerAttentionResNet': (dict(depth=18), dict(
        lstm_channels=[0],
        reduction=[0, 'x'],
        context=['median'],
        context_channels=[0],
        context_mlp_ratio=[0],
        vector=['yes'])),
    'CRMN': (dict(depth=20, stem_type='cifar'), dict(
        lstm_channels=[0],
        pool=['3x3'],
        input_size=[(32, ), (0, 32)],
        pool_grid=[(2, 2, 2), (0, 1)],
        gate_bias=['x'],
        h_readout=['yes'])),
    'LRNNResNet': (dict(depth=18), dict(
        lrnn_stages=[(True, ), 'yes', (1, 0, 1, 1)],
        lrnn_position=['input'])),
    'RAResNet': (dict(depth=20, stem_type='cifar'), dict(
        selected=[[(5, 0)], 'last'],
        lstm_channels=[0],
        readout=['RA-D'],
        fc_channels=[0],
        shallow_grid=[0])),
    'RAVGG': (dict(), dict(
        stage_channels=[(), (8, 0)],
        stage_blocks=[(1, 1), 0],
        convs_per_block=[0],
        selected=[[(9, 0)]],
        lstm_channels=[0],
        readout=['RA-D'],
        fc_channels=[0],
        shallow_grid=[0])),
    'VGGBody': (dict(), dict(
        stage_channels=[(), (8, 0)],
        stage_blocks=[(1, 1), 0],
        convs_per_block=[0],
        in_channels=[0],
        out_indices=[(3, ), 'last'],
        frozen_stages=[4, -2],
        conv_cfg=[dict(type='Nope')],
        norm_cfg=[dict(type='Nope')],
        act_cfg=[dict(type='Nope')],
        norm_eval=['x'],
        init_cfg=[5])),
    'LRNNNet': (dict(), dict(
        arch=['G', [['cnn', 0, 'concat']], [['rnn', 8, 'forward']]],
        cell=['lstm'],
        layer_norm=['yes'],
        global_pool=['median'],
        dropout=[1.0, -0.1],
        stem_channels=[0],
        in_channels=[0],
        recurrent_init=['ones'],
        conv_cfg=[dict(type='Nope')],
        norm_cfg=[dict(type='Nope')],
        init_cfg=[5])),
    'RLAMobileNetV2': (dict(), dict(
        rla_channels=[0],
        recurrent_conv=['separable'],
        attention=[dict(type='CBAM'), dict(type='ECA', kernel_size=[3])],
        h_readout=['yes'],
        widen_factor=[0, 'x'],
        out_indices=[(8, ), 7],
        frozen_stages=[8, -2],
        conv_cfg=[dict(type='Nope')],
        norm_cfg=[dict(type='Nope')],
        act_cfg=[dict(type='Nope')],
        norm_eval=['x'],
        with_cp=['x'],
        init_cfg=[5])),
}
RESNET_BASED = {'ResNetBody', 'RLAResNet', 'LayerAttentionResNet', 'CRMN',
                'LRNNResNet', 'RAResNet'}
# arguments a backbone inherits from another one in the table
INHERITED = {name: 'ResNetBody' for name in RESNET_BASED - {'ResNetBody'}}
INHERITED['RAVGG'] = 'VGGBody'


def registered_backbones():
    return {
        name for name in mmrla_backbones.__all__
        if MODELS.get(name) is getattr(mmrla_backbones, name)
    }


def public_args(cls):
    """The constructor arguments a config can set, inherited ones included."""
    names = set()
    for klass in cls.__mro__:
        if klass in (ResNet, MobileNetV2) or klass.__module__.startswith(
                'mmrla'):
            names |= {
                p.name for p in inspect.signature(
                    klass.__init__).parameters.values()
                if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != 'self'
            }
        if klass in (ResNet, MobileNetV2):
            break
    return names


def test_every_argument_of_every_backbone_is_covered():
    assert registered_backbones() == set(TABLE)
    for name, (_, bad) in TABLE.items():
        covered = set(bad)
        if name in INHERITED:
            covered |= set(TABLE[INHERITED[name]][1])
        assert public_args(getattr(mmrla_backbones, name)) <= covered, name


CASES = [(name, arg, value) for name, (_, bad) in TABLE.items()
         for arg, values in bad.items() for value in values]
# inherited arguments reach the subclass's checks and carry its name
CASES += [(name, arg, values[0]) for name, parent in sorted(INHERITED.items())
          for arg, values in TABLE[parent][1].items()
          if arg not in TABLE[name][1] and arg != 'depth']


@pytest.mark.parametrize('name,arg,value', CASES,
                         ids=[f'{n}-{a}-{v!r}' for n, a, v in CASES])
def test_bad_argument_is_named(name, arg, value):
    base = dict(TABLE[name][0])
    base[arg] = value
    with pytest.raises(ValueError) as info:
        MODELS.build(dict(type=name, **base))
    message = str(info.value)
    assert message.startswith(f'{name}: invalid {arg}'), message
    assert 'expected' in message, message
