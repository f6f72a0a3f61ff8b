from .convnext import ConvNeXt
from .cspnext import CSPNeXt

__all__ = ['ConvNeXt', 'CSPNeXt']
