"""Global average pooling neck of image classifiers."""

from typing import Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from rtmdet_plus.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(BaseModule):
    """Per input, (N, C, H, W) maps -> (N, C) spatial means (mmpretrain's neck, 2-D only)."""

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        if dim != 2:
            raise ValueError(f'GlobalAveragePooling pools (N, C, H, W) maps only: dim=2, got {dim}')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if isinstance(inputs, Tensor):
            inputs = (inputs,)
        return tuple(x.mean((2, 3)) for x in inputs)
