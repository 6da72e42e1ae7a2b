from .channel_attention import (
    ECALayer,
    build_channel_attention,
    eca_adaptive_kernel_size,
    stage_attention_cfgs,
)
from .layer_context import LayerContext, resample_channels
from .lstm import LSTMCell
from .pooling import adaptive_avg_pool, avg_pool
from .rla_cell import RLA_CELLS, ConvGRUStageCell, ConvLSTMStageCell, RLAStageCell
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
    'stage_attention_cfgs',     'LayerContext', 'resample_channels', 'LSTMCell',
    'adaptive_avg_pool', 'avg_pool', 'RLAStageCell',
    'ConvLSTMStageCell', 'ConvGRUStageCell', 'RLA_CELLS', 'ConvLRNN',
    'FeatureFusion', 'LRNNModule', 'SpatialRecurrence', 'SpatialRNN',
    'insert_lrnn'
]
