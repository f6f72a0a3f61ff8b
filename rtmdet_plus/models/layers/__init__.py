from .channel_attention import ChannelAttention
from .csp_layer import CSPLayer, CSPNeXtBlock
from .spp import SPPBottleneck

__all__ = ['ChannelAttention', 'CSPLayer', 'CSPNeXtBlock', 'SPPBottleneck']
