from .cspnext import CSPNeXt

__all__ = ['CSPNeXt']
