from .channel_attention import ChannelAttention
from .csp_layer import CSPLayer, CSPNeXtBlock
from .dynamic_conv import DynamicMaskConvs
from .mask_feat import MaskFeatModule
from .spp import SPPBottleneck

__all__ = [
    'ChannelAttention',
    'CSPLayer',
    'CSPNeXtBlock',
    'DynamicMaskConvs',
    'MaskFeatModule',
    'SPPBottleneck',
]
