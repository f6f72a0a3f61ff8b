from .distance_angle_point_coder import (
    DistanceAnglePointCoder,
    distance_angle_to_rbox,
    rbox_to_distance_angle,
)
from .pseudo_angle_coder import PseudoAngleCoder

__all__ = [
    'DistanceAnglePointCoder',
    'PseudoAngleCoder',
    'distance_angle_to_rbox',
    'rbox_to_distance_angle',
]
