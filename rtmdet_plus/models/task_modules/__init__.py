from .assigners import DynamicSoftLabelAssigner
from .iou_calculators import RBboxOverlaps2D

__all__ = ['DynamicSoftLabelAssigner', 'RBboxOverlaps2D']
