"""Models registered in the ``rtmdet_plus`` scope. The detector itself is mmdet's ``RTMDet``."""

from .backbones import ConvNeXt, CSPNeXt
from .classifiers import ClsDataPreprocessor, ImageClassifier, LinearClsHead
from .dense_heads import (
    RotatedRTMDetHead,
    RotatedRTMDetSepBNHead,
    RTMDetHead,
    RTMDetInsHead,
    RTMDetInsSepBNHead,
    RTMDetSepBNHead,
)
from .losses import LabelSmoothLoss, RotatedIoULoss
from .necks import CSPNeXtPAFPN, GlobalAveragePooling
from .task_modules import (
    DistanceAnglePointCoder,
    DynamicSoftLabelAssigner,
    PseudoAngleCoder,
    RBboxOverlaps2D,
)

__all__ = [
    'ConvNeXt',
    'CSPNeXt',
    'CSPNeXtPAFPN',
    'RTMDetHead',
    'RTMDetSepBNHead',
    'RTMDetInsHead',
    'RTMDetInsSepBNHead',
    'DynamicSoftLabelAssigner',
    'RBboxOverlaps2D',
    'RotatedIoULoss',
    'RotatedRTMDetHead',
    'RotatedRTMDetSepBNHead',
    'DistanceAnglePointCoder',
    'PseudoAngleCoder',
    'ClsDataPreprocessor',
    'ImageClassifier',
    'LinearClsHead',
    'LabelSmoothLoss',
    'GlobalAveragePooling',
]
