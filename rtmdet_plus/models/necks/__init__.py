from .cspnext_pafpn import CSPNeXtPAFPN
from .global_average_pooling import GlobalAveragePooling

__all__ = ['CSPNeXtPAFPN', 'GlobalAveragePooling']
