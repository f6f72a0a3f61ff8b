from .assigners import DynamicSoftLabelAssigner
from .coders import DistanceAnglePointCoder, PseudoAngleCoder
from .iou_calculators import RBboxOverlaps2D

__all__ = [
    'DistanceAnglePointCoder',
    'DynamicSoftLabelAssigner',
    'PseudoAngleCoder',
    'RBboxOverlaps2D',
]
