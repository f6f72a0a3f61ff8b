"""Spatial pyramid pooling block of the last CSPNeXt stage."""

from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor


class SPPBottleneck(BaseModule):
    """1x1 conv to C/2, max pools of several sizes concatenated with the input, 1x1 conv out.

    Args:
        in_channels: C of the (B, C, H, W) input.
        out_channels: channels of the (B, out_channels, H, W) output.
        kernel_sizes: max-pool kernel sizes (stride 1, same padding).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int] = (5, 9, 13),
        conv_cfg=None,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU'),
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        mid_channels = in_channels // 2
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, mid_channels, 1, **common)
        self.poolings = nn.ModuleList(
            nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2) for k in kernel_sizes
        )
        self.conv2 = ConvModule(mid_channels * (len(kernel_sizes) + 1), out_channels, 1, **common)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        x = torch.cat([x] + [pool(x) for pool in self.poolings], dim=1)
        return self.conv2(x)
