"""Path aggregation neck of RTMDet with CSPNeXt blocks."""

from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor

from rtmdet_plus.registry import MODELS

from ..backbones.cspnext import KAIMING_INIT
from ..layers import CSPLayer


@MODELS.register_module()
class CSPNeXtPAFPN(BaseModule):
    """Top-down then bottom-up feature fusion, then a 3x3 conv per level.

    Args:
        in_channels: channels of the backbone maps, finest first, e.g. [96, 192, 384].
        out_channels: channels of every output map.
        num_csp_blocks: CSPNeXt blocks in each fusion CSP layer.
        use_depthwise: depthwise-separable downsampling and output convs.
        expand_ratio: hidden-channel ratio of the CSP layers.
        upsample_cfg: arguments of ``nn.Upsample`` for the top-down path.

    Input: tuple of (B, in_channels[i], H_i, W_i); output: tuple of (B, out_channels, H_i, W_i).
    Parameter names equal mmdet's (``reduce_layers``, ``top_down_blocks``, ``downsamples``,
    ``bottom_up_blocks``, ``out_convs``).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_csp_blocks: int = 3,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        upsample_cfg=dict(scale_factor=2, mode='nearest'),
        conv_cfg=None,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='Swish'),
        init_cfg=KAIMING_INIT,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        csp = dict(
            num_blocks=num_csp_blocks,
            add_identity=False,
            use_depthwise=use_depthwise,
            expand_ratio=expand_ratio,
            **common,
        )
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        num_levels = len(self.in_channels)
        self.upsample = nn.Upsample(**upsample_cfg)
        # Top-down: index k fuses level (num_levels - 1 - k) into level (num_levels - 2 - k).
        self.reduce_layers = nn.ModuleList()
        self.top_down_blocks = nn.ModuleList()
        for level in range(num_levels - 1, 0, -1):
            finer = self.in_channels[level - 1]
            self.reduce_layers.append(ConvModule(self.in_channels[level], finer, 1, **common))
            self.top_down_blocks.append(CSPLayer(finer * 2, finer, **csp))
        # Bottom-up: index k fuses level k into level k + 1.
        self.downsamples = nn.ModuleList()
        self.bottom_up_blocks = nn.ModuleList()
        for level in range(num_levels - 1):
            channels = self.in_channels[level]
            self.downsamples.append(conv(channels, channels, 3, stride=2, padding=1, **common))
            self.bottom_up_blocks.append(CSPLayer(channels * 2, self.in_channels[level + 1], **csp))
        self.out_convs = nn.ModuleList(
            conv(channels, out_channels, 3, padding=1, **common) for channels in self.in_channels
        )

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        num_levels = len(self.in_channels)
        if len(inputs) != num_levels:
            raise ValueError(f'CSPNeXtPAFPN expects {num_levels} feature maps, got {len(inputs)}')
        # Top-down path, coarsest to finest; `top_down[0]` is always the finest so far.
        top_down = [inputs[-1]]
        for k, level in enumerate(range(num_levels - 1, 0, -1)):
            coarse = self.reduce_layers[k](top_down[0])
            top_down[0] = coarse
            fused = self.top_down_blocks[k](
                torch.cat([self.upsample(coarse), inputs[level - 1]], dim=1)
            )
            top_down.insert(0, fused)
        # Bottom-up path, finest to coarsest.
        outs = [top_down[0]]
        for level in range(num_levels - 1):
            down = self.downsamples[level](outs[-1])
            outs.append(self.bottom_up_blocks[level](torch.cat([down, top_down[level + 1]], dim=1)))
        return tuple(conv(out) for conv, out in zip(self.out_convs, outs))
