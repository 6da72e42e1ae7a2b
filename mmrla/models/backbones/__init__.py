from .crmn import CRMN
from .layer_attention_resnet import LayerAttentionHead, LayerAttentionResNet
from .lrnn import CNNModule, LRNNNet, LRNNResNet
from .ra_lstm import RAVGG, RAResNet, RecurrentAggregation
from .resnet_body import (
    PreActBasicBlock,
    PreActBottleneck,
    ResNetBody,
    SplitBasicBlock,
    SplitBottleneck,
)
from .rla_mobilenet_v2 import RLAInvertedResidual, RLAMobileNetV2
from .rla_resnet import RLABasicBlock, RLABottleneck, RLAResNet
from .vgg_body import VGGBody

__all__ = [
    'CNNModule', 'CRMN', 'LayerAttentionHead', 'LayerAttentionResNet',
    'LRNNNet', 'LRNNResNet', 'PreActBasicBlock', 'PreActBottleneck',
    'RAResNet', 'RAVGG', 'RecurrentAggregation', 'ResNetBody',
    'RLABasicBlock', 'RLABottleneck', 'RLAInvertedResidual', 'RLAMobileNetV2',
    'RLAResNet', 'SplitBasicBlock', 'SplitBottleneck', 'VGGBody'
]
