from .rlanet import (
    convert_rlanet_checkpoint,
    convert_rlanet_detector_state_dict,
    convert_rlanet_state_dict,
)

__all__ = [
    'convert_rlanet_checkpoint', 'convert_rlanet_detector_state_dict',
    'convert_rlanet_state_dict'
]
