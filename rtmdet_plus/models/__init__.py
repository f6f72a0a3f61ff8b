"""Models registered in the ``rtmdet_plus`` scope. The detector itself is mmdet's ``RTMDet``."""
from .backbones import CSPNeXt
from .dense_heads import RTMDetHead, RTMDetSepBNHead
from .necks import CSPNeXtPAFPN
from .task_modules import DynamicSoftLabelAssigner

__all__ = ['CSPNeXt', 'CSPNeXtPAFPN', 'RTMDetHead', 'RTMDetSepBNHead', 'DynamicSoftLabelAssigner']
