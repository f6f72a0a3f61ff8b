"""ConvNeXt backbone (Liu et al., "A ConvNet for the 2020s"), for RTMDet-l-ConvNeXt-B.

Stem: 4x4 stride-4 conv + LayerNorm. Then four stages; before stages 1-3 a LayerNorm + 2x2
stride-2 conv halves the resolution. A block is a 7x7 depthwise conv, LayerNorm over channels,
Linear (4x wider), GELU, Linear back, a learnable per-channel layer scale and stochastic depth,
added to its input. Each output stage gets its own LayerNorm (``norm{i}``).

Parameter names, the architecture table and the arguments equal mmpretrain 1.2.0's ``ConvNeXt``,
so its ImageNet checkpoints and mmdet's RTMDet-l-ConvNeXt-B checkpoint load with ``strict=True``;
mmpretrain itself is not needed. mmdet's ``LearningRateDecayOptimizerConstructor`` recognises
the class by its name and the ``downsample_layers`` / ``stages`` parameter names.
"""

from itertools import chain
from typing import Dict, List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as checkpoint
from mmcv.cnn import build_activation_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from torch import Tensor

from rtmdet_plus.registry import MODELS

# depths (blocks per stage) and channels of each stage, as mmpretrain's table
ARCH_SETTINGS: Dict[str, Dict[str, List[int]]] = {
    'tiny': dict(depths=[3, 3, 9, 3], channels=[96, 192, 384, 768]),
    'small': dict(depths=[3, 3, 27, 3], channels=[96, 192, 384, 768]),
    'base': dict(depths=[3, 3, 27, 3], channels=[128, 256, 512, 1024]),
    'large': dict(depths=[3, 3, 27, 3], channels=[192, 384, 768, 1536]),
    'xlarge': dict(depths=[3, 3, 27, 3], channels=[256, 512, 1024, 2048]),
}


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of (N, C, H, W) maps, or of (N, H, W, C) with
    ``channels_last=True``."""

    def forward(self, x: Tensor, channels_last: bool = False) -> Tensor:
        if channels_last:
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = F.layer_norm(
            x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps
        )
        return x.permute(0, 3, 1, 2).contiguous()


def layer_norm_2d(norm_cfg: dict, channels: int) -> LayerNorm2d:
    """The only norm ConvNeXt takes: ``dict(type='LN2d', eps=...)``."""
    norm_cfg = dict(norm_cfg)
    norm_type = norm_cfg.pop('type', 'LN2d')
    if norm_type not in ('LN2d', 'mmpretrain.LN2d'):
        raise ValueError(
            f"ConvNeXt supports norm_cfg=dict(type='LN2d', eps=...) only, got type {norm_type!r}"
        )
    return LayerNorm2d(channels, **norm_cfg)


class ConvNeXtBlock(BaseModule):
    """(N, C, H, W) -> (N, C, H, W): x + drop_path(gamma * MLP(LN(dwconv7x7(x)))).

    Args:
        channels: channels C of the block.
        mlp_ratio: hidden width of the MLP, in multiples of C.
        drop_path_rate: probability of dropping the residual branch in training.
        layer_scale_init_value: initial ``gamma``; 0 or less: no layer scale.
        with_cp: recompute the block in the backward pass (activation checkpointing) to save
            memory when the input requires grad.
    """

    def __init__(
        self,
        channels: int,
        norm_cfg: dict,
        act_cfg: dict,
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        hidden = int(mlp_ratio * channels)
        self.depthwise_conv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = layer_norm_2d(norm_cfg, channels)
        self.pointwise_conv1 = nn.Linear(channels, hidden)
        self.act = build_activation_layer(act_cfg)
        self.pointwise_conv2 = nn.Linear(hidden, channels)
        self.gamma = (
            nn.Parameter(torch.full((channels,), float(layer_scale_init_value)))
            if layer_scale_init_value > 0
            else None
        )
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def _residual(self, x: Tensor) -> Tensor:
        y = self.depthwise_conv(x).permute(0, 2, 3, 1)  # (N, H, W, C)
        y = self.pointwise_conv2(self.act(self.pointwise_conv1(self.norm(y, channels_last=True))))
        y = y.permute(0, 3, 1, 2)
        if self.gamma is not None:
            y = y * self.gamma.view(1, -1, 1, 1)
        return x + self.drop_path(y)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return checkpoint.checkpoint(self._residual, x, use_reentrant=False)
        return self._residual(x)


@MODELS.register_module()
class ConvNeXt(BaseModule):
    """ConvNeXt: (N, 3, H, W) images -> the outputs of ``out_indices`` stages, stage i at
    stride 4 * 2**i with ``channels[i]`` channels, each through its own LayerNorm.

    Args:
        arch: 'tiny', 'small', 'base', 'large', 'xlarge', or a dict of ``depths`` and ``channels``.
        in_channels: image channels.
        stem_patch_size: kernel and stride of the stem conv.
        norm_cfg: ``dict(type='LN2d', eps=1e-6)``.
        act_cfg: activation of the blocks' MLP.
        drop_path_rate: stochastic-depth rate of the last block; block k of K gets
            ``drop_path_rate * k / (K - 1)``.
        layer_scale_init_value: initial layer scale of every block.
        out_indices: stages to return (negative counts from the end).
        frozen_stages: the first this many stages (with their downsampling) are frozen: no grad,
            kept in eval mode.
        gap_before_final_norm: average each output over space first, returning (N, C) vectors
            (classification); False returns (N, C, H, W) maps (detection).
        with_cp: activation checkpointing in every block.
    """

    arch_settings = ARCH_SETTINGS

    def __init__(
        self,
        arch: Union[str, dict] = 'tiny',
        in_channels: int = 3,
        stem_patch_size: int = 4,
        norm_cfg=dict(type='LN2d', eps=1e-6),
        act_cfg=dict(type='GELU'),
        linear_pw_conv: bool = True,
        use_grn: bool = False,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        out_indices: Union[int, Sequence[int]] = -1,
        frozen_stages: int = 0,
        gap_before_final_norm: bool = True,
        with_cp: bool = False,
        init_cfg=[
            dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
            dict(type='Constant', layer=['LayerNorm'], val=1.0, bias=0.0),
        ],
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if not linear_pw_conv or use_grn:
            raise ValueError(
                'ConvNeXt here is v1 with linear pointwise convs: '
                'linear_pw_conv must be True and use_grn False'
            )
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(
                    f'unknown ConvNeXt arch {arch!r}: choose one of '
                    f'{sorted(ARCH_SETTINGS)} or give dict(depths=..., channels=...)'
                )
            arch = ARCH_SETTINGS[arch]
        if set(arch) != {'depths', 'channels'} or len(arch['depths']) != len(arch['channels']):
            raise ValueError(
                f'ConvNeXt arch must hold depths and channels of equal length, got {arch}'
            )
        self.depths, self.channels = list(arch['depths']), list(arch['channels'])
        num_stages = len(self.depths)
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        self.out_indices = [i + num_stages if i < 0 else i for i in out_indices]
        if not all(0 <= i < num_stages for i in self.out_indices):
            raise ValueError(f'out_indices {out_indices} outside the {num_stages} stages')
        self.frozen_stages = frozen_stages
        self.gap_before_final_norm = gap_before_final_norm

        channels = self.channels
        self.downsample_layers = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv2d(in_channels, channels[0], stem_patch_size, stride=stem_patch_size),
                    layer_norm_2d(norm_cfg, channels[0]),
                )
            ]
        )
        self.downsample_layers.extend(
            nn.Sequential(
                layer_norm_2d(norm_cfg, channels[i - 1]),
                nn.Conv2d(channels[i - 1], channels[i], 2, stride=2),
            )
            for i in range(1, num_stages)
        )
        rates = torch.linspace(0, drop_path_rate, sum(self.depths)).tolist()
        self.stages = nn.ModuleList()
        for i, depth in enumerate(self.depths):
            first = sum(self.depths[:i])
            self.stages.append(
                nn.Sequential(
                    *(
                        ConvNeXtBlock(
                            channels[i],
                            norm_cfg,
                            act_cfg,
                            drop_path_rate=rates[first + j],
                            layer_scale_init_value=layer_scale_init_value,
                            with_cp=with_cp,
                        )
                        for j in range(depth)
                    )
                )
            )
            if i in self.out_indices:
                self.add_module(f'norm{i}', layer_norm_2d(norm_cfg, channels[i]))
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for i, (downsample, stage) in enumerate(zip(self.downsample_layers, self.stages)):
            x = stage(downsample(x))
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}')
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean((-2, -1), keepdim=True)).flatten(1))
                else:
                    outs.append(norm(x))
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages):
            frozen = (self.downsample_layers[i], self.stages[i])
            for module in frozen:
                module.eval()
            for param in chain(*(module.parameters() for module in frozen)):
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ConvNeXt':
        super().train(mode)
        self._freeze_stages()
        return self
