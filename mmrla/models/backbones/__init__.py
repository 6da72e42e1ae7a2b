from .crmn import CRMN
from .layer_attention_resnet import LayerAttentionHead, LayerAttentionResNet
from .resnet_body import (PreActBasicBlock, PreActBottleneck, ResNetBody,
                          SplitBasicBlock, SplitBottleneck)
from .ra_lstm import RAResNet, RAVGG, RecurrentAggregation, VGGBody
from .rla_mobilenet_v2 import RLAInvertedResidual, RLAMobileNetV2
from .rla_resnet import RLABasicBlock, RLABottleneck, RLAResNet

__all__ = [
    'CRMN', 'LayerAttentionHead', 'LayerAttentionResNet', 'PreActBasicBlock',
    'PreActBottleneck', 'RAResNet', 'RAVGG', 'RecurrentAggregation',
    'ResNetBody', 'RLABasicBlock', 'RLABottleneck', 'RLAInvertedResidual',
    'RLAMobileNetV2', 'RLAResNet', 'SplitBasicBlock', 'SplitBottleneck',
    'VGGBody'
]
