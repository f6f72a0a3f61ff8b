"""Channel attention of CSPNeXt stages (an SE-style gate with a hard sigmoid)."""

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor


class ChannelAttention(BaseModule):
    """Scales each channel by ``hardsigmoid(fc(global_avg_pool(x)))``.

    Args:
        channels: input and output channels C; the input is (B, C, H, W).

    State dict: ``fc.weight`` (C, C, 1, 1), ``fc.bias`` (C,), as in mmdet.
    """

    def __init__(self, channels: int, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, kernel_size=1, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.act(self.fc(self.global_avgpool(x)))
