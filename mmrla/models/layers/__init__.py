from .channel_attention import (ECALayer, build_channel_attention,
                                eca_adaptive_kernel_size)
from .rla_cell import RLAStageCell

__all__ = [
    'ECALayer', 'build_channel_attention', 'eca_adaptive_kernel_size',
    'RLAStageCell'
]
