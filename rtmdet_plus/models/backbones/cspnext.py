"""CSPNeXt backbone of RTMDet (P5: strides 8-32, P6: strides 8-64)."""

import math
from typing import Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from rtmdet_plus.registry import MODELS

from ..layers import CSPLayer, SPPBottleneck

# Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp (before widen/deepen).
ARCH_SETTINGS = {
    'P5': [
        (64, 128, 3, True, False),
        (128, 256, 6, True, False),
        (256, 512, 6, True, False),
        (512, 1024, 3, False, True),
    ],
    'P6': [
        (64, 128, 3, True, False),
        (128, 256, 6, True, False),
        (256, 512, 6, True, False),
        (512, 768, 3, True, False),
        (768, 1024, 3, False, True),
    ],
}

KAIMING_INIT = dict(
    type='Kaiming',
    layer='Conv2d',
    a=math.sqrt(5),
    distribution='uniform',
    mode='fan_in',
    nonlinearity='leaky_relu',
)


@MODELS.register_module()
class CSPNeXt(BaseModule):
    """A stem of three 3x3 convs (stride 2) then stages of [3x3 stride-2 conv, (SPP), CSPLayer].

    Args:
        arch: ``'P5'`` (4 stages) or ``'P6'`` (5 stages).
        deepen_factor: blocks per stage = ``max(round(num_blocks * deepen_factor), 1)``.
        widen_factor: channels = ``int(channels * widen_factor)``.
        out_indices: which of [stem, stage1, ...] to return; (2, 3, 4) gives strides 8, 16, 32.
        frozen_stages: freeze the stem and stages up to this index (-1: none).
        use_depthwise: depthwise-separable downsampling convs and block convs.
        expand_ratio: ratio of the CSP layers' hidden channels.
        arch_ovewrite: replace the arch table (mmdet's spelling, kept for config compatibility).
        spp_kernel_sizes: pool sizes of the SPP block of the last stage.
        channel_attention: channel attention in every CSP layer.
        norm_eval: keep BatchNorm layers in eval mode while training.

    Input (B, 3, H, W); output a tuple of (B, C_i, H / s_i, W / s_i) maps.
    Parameter names equal mmdet's ``CSPNeXt`` (``stem.*``, ``stage{i}.*``).
    """

    def __init__(
        self,
        arch: str = 'P5',
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        arch_ovewrite: list = None,
        spp_kernel_sizes: Sequence[int] = (5, 9, 13),
        channel_attention: bool = True,
        conv_cfg=None,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU'),
        norm_eval: bool = False,
        init_cfg=KAIMING_INIT,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS and not arch_ovewrite:
            raise ValueError(f'CSPNeXt arch must be one of {sorted(ARCH_SETTINGS)}, got {arch!r}')
        stages = arch_ovewrite or ARCH_SETTINGS[arch]
        if not set(out_indices) <= set(range(len(stages) + 1)):
            raise ValueError(f'out_indices {tuple(out_indices)} must lie in 0..{len(stages)}')
        if frozen_stages not in range(-1, len(stages) + 1):
            raise ValueError(f'frozen_stages must be in -1..{len(stages)}, got {frozen_stages}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stem_out = int(stages[0][0] * widen_factor)
        stem_mid = int(stages[0][0] * widen_factor // 2)
        self.stem = nn.Sequential(
            ConvModule(3, stem_mid, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(stem_mid, stem_mid, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(stem_mid, stem_out, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
        )
        self.layers = ['stem']
        downsample_conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        for index, (in_ch, out_ch, num_blocks, add_identity, use_spp) in enumerate(stages, 1):
            in_ch, out_ch = int(in_ch * widen_factor), int(out_ch * widen_factor)
            num_blocks = max(round(num_blocks * deepen_factor), 1)
            stage = [downsample_conv(in_ch, out_ch, 3, stride=2, padding=1, **common)]
            if use_spp:
                stage.append(SPPBottleneck(out_ch, out_ch, kernel_sizes=spp_kernel_sizes, **common))
            stage.append(
                CSPLayer(
                    out_ch,
                    out_ch,
                    num_blocks=num_blocks,
                    add_identity=add_identity,
                    use_depthwise=use_depthwise,
                    expand_ratio=expand_ratio,
                    channel_attention=channel_attention,
                    **common,
                )
            )
            self.add_module(f'stage{index}', nn.Sequential(*stage))
            self.layers.append(f'stage{index}')

    def _freeze_stages(self) -> None:
        for name in self.layers[: self.frozen_stages + 1]:
            layer = getattr(self, name)
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'CSPNeXt':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for index, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
