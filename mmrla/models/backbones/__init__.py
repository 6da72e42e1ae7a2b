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
from .rla_resnet import (
    RLA_CELLS,
    ConvGRUStageCell,
    ConvLSTMStageCell,
    RLABasicBlock,
    RLABottleneck,
    RLAResNet,
    RLAStageCell,
)
from .vgg_body import VGGBody

__all__ = [
    'CNNModule', 'ConvGRUStageCell', 'ConvLSTMStageCell', 'CRMN',
    'LayerAttentionHead', 'LayerAttentionResNet', 'LRNNNet', 'LRNNResNet',
    'PreActBasicBlock', 'PreActBottleneck', 'RAResNet', 'RAVGG',
    'RecurrentAggregation', 'ResNetBody', 'RLABasicBlock', 'RLABottleneck',
    'RLA_CELLS', 'RLAInvertedResidual', 'RLAMobileNetV2', 'RLAResNet',
    'RLAStageCell', 'SplitBasicBlock', 'SplitBottleneck', 'VGGBody'
]
