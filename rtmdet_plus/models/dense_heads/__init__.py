from .rotated_rtmdet_head import RotatedRTMDetHead, RotatedRTMDetSepBNHead
from .rtmdet_head import RTMDetHead, RTMDetSepBNHead
from .rtmdet_ins_head import RTMDetInsHead, RTMDetInsSepBNHead

__all__ = [
    'RTMDetHead',
    'RTMDetSepBNHead',
    'RTMDetInsHead',
    'RTMDetInsSepBNHead',
    'RotatedRTMDetHead',
    'RotatedRTMDetSepBNHead',
]
