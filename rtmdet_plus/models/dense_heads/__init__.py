from .rtmdet_head import RTMDetHead, RTMDetSepBNHead

__all__ = ['RTMDetHead', 'RTMDetSepBNHead']
