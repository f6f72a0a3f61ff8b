"""Prototype branch of RTMDet-Ins: a few mask-prototype maps at the finest level's resolution."""

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor


class MaskFeatModule(BaseModule):
    """Fuses all pyramid levels at the finest one and projects them to ``num_prototypes`` maps.

    Levels 1.. are resized bilinearly to level 0, concatenated, reduced by a 1x1 conv to
    ``in_channels``, passed through ``stacked_convs`` 3x3 conv-norm-act layers and projected by
    a 1x1 conv.

    Args:
        in_channels: channels of every pyramid level.
        feat_channels: channels of the 3x3 convs.
        stacked_convs: number of 3x3 convs.
        num_levels: pyramid levels fused.
        num_prototypes: output channels (prototypes).

    Input: ``num_levels`` maps (B, in_channels, H_l, W_l), finest first.
    Output: (B, num_prototypes, H_0, W_0).
    State dict as mmdet's ``MaskFeatModule``: ``fusion_conv``, ``stacked_convs.<i>``,
    ``projection``.
    """

    def __init__(
        self,
        in_channels: int,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        num_levels: int = 3,
        num_prototypes: int = 8,
        act_cfg=dict(type='ReLU', inplace=True),
        norm_cfg=dict(type='BN'),
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_levels = num_levels
        self.fusion_conv = nn.Conv2d(num_levels * in_channels, in_channels, 1)
        self.stacked_convs = nn.Sequential(
            *(
                ConvModule(
                    in_channels if i == 0 else feat_channels,
                    feat_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
                for i in range(stacked_convs)
            )
        )
        self.projection = nn.Conv2d(feat_channels, num_prototypes, kernel_size=1)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        size = feats[0].shape[-2:]
        fused = [feats[0]] + [
            F.interpolate(feats[level], size=size, mode='bilinear')
            for level in range(1, self.num_levels)
        ]
        fused = self.fusion_conv(torch.cat(fused, dim=1))
        return self.projection(self.stacked_convs(fused))
