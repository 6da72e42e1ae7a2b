from .channel_attention import (
    ECALayer,
    build_channel_attention,
    eca_adaptive_kernel_size,
    stage_attention_cfgs,
)
from .layer_context import LayerContext, resample_channels
from .lstm import LSTMCell
from .pooling import adaptive_avg_pool, avg_pool
from .spatial_rnn import (
    ConvLRNN,
    FeatureFusion,
    LRNNModule,
    SpatialRecurrence,
    SpatialRNN,
    insert_lrnn,
)

__all__ = [
    'ECALayer', 'build_channel_attention', 'eca_adaptive_kernel_size',
    'stage_attention_cfgs', 'LayerContext', 'resample_channels', 'LSTMCell',
    'adaptive_avg_pool', 'avg_pool', 'ConvLRNN',
    'FeatureFusion', 'LRNNModule', 'SpatialRecurrence', 'SpatialRNN',
    'insert_lrnn'
]
