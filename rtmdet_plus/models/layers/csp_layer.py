"""Cross Stage Partial layer built from CSPNeXt blocks (RTMDet paper, Fig. 3)."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor

from .channel_attention import ChannelAttention

DEFAULT_NORM = dict(type='BN', momentum=0.03, eps=0.001)


class CSPNeXtBlock(BaseModule):
    """3x3 conv then a 5x5 depthwise-separable conv, with an optional residual.

    Args:
        in_channels, out_channels: channels of the (B, C, H, W) input and output.
        expansion: hidden channels = ``int(out_channels * expansion)``.
        add_identity: add the input to the output (only when in == out channels).
        use_depthwise: make the first conv depthwise-separable too.
        kernel_size: kernel of the second (depthwise) conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: float = 0.5,
        add_identity: bool = True,
        use_depthwise: bool = False,
        kernel_size: int = 5,
        conv_cfg=None,
        norm_cfg=DEFAULT_NORM,
        act_cfg=dict(type='SiLU'),
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden_channels = int(out_channels * expansion)
        first_conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        # mmdet builds the first conv without conv_cfg; we keep that so the same config builds
        # the same layers.
        self.conv1 = first_conv(
            in_channels, hidden_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg
        )
        self.conv2 = DepthwiseSeparableConvModule(
            hidden_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(BaseModule):
    """Split into a main path (1x1 conv + blocks) and a short path (1x1 conv), concatenate,
    optionally apply channel attention, and fuse with a 1x1 conv.

    Args:
        in_channels, out_channels: channels of the (B, C, H, W) input and output.
        expand_ratio: channels of each path = ``int(out_channels * expand_ratio)``.
        num_blocks: CSPNeXt blocks on the main path.
        add_identity: residual connections inside the blocks.
        use_depthwise: depthwise-separable first conv in the blocks.
        channel_attention: gate the concatenated paths with :class:`ChannelAttention`.

    The ``use_cspnext_block`` argument of mmdet's CSPLayer is accepted for config compatibility;
    only CSPNeXt blocks are built (RTMDet uses no other).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float = 0.5,
        num_blocks: int = 1,
        add_identity: bool = True,
        use_depthwise: bool = False,
        use_cspnext_block: bool = True,
        channel_attention: bool = False,
        conv_cfg=None,
        norm_cfg=DEFAULT_NORM,
        act_cfg=dict(type='SiLU'),
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not use_cspnext_block:
            raise ValueError(
                'rtmdet_plus CSPLayer builds CSPNeXt blocks only '
                '(use_cspnext_block=False is a YOLOX/Darknet layout).'
            )
        mid_channels = int(out_channels * expand_ratio)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = ConvModule(in_channels, mid_channels, 1, **common)
        self.short_conv = ConvModule(in_channels, mid_channels, 1, **common)
        self.final_conv = ConvModule(2 * mid_channels, out_channels, 1, **common)
        self.blocks = nn.Sequential(
            *[
                CSPNeXtBlock(
                    mid_channels,
                    mid_channels,
                    expansion=1.0,
                    add_identity=add_identity,
                    use_depthwise=use_depthwise,
                    **common,
                )
                for _ in range(num_blocks)
            ]
        )
        self.channel_attention = channel_attention
        if channel_attention:
            self.attention = ChannelAttention(2 * mid_channels)

    def forward(self, x: Tensor) -> Tensor:
        main = self.blocks(self.main_conv(x))
        fused = torch.cat((main, self.short_conv(x)), dim=1)
        if self.channel_attention:
            fused = self.attention(fused)
        return self.final_conv(fused)
