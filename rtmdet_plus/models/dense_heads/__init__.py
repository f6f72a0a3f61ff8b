from .rtmdet_head import RTMDetHead, RTMDetSepBNHead
from .rtmdet_ins_head import RTMDetInsHead, RTMDetInsSepBNHead

__all__ = ['RTMDetHead', 'RTMDetSepBNHead', 'RTMDetInsHead', 'RTMDetInsSepBNHead']
