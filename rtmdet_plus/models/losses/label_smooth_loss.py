"""Cross entropy against label-smoothed targets (mmpretrain's ``LabelSmoothLoss``, 'original')."""

from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from rtmdet_plus.registry import MODELS


def smooth_targets(targets: Tensor, num_classes: int, smooth: float) -> Tensor:
    """(N,) class indices or (N, C) soft targets -> (N, C): ``(1 - smooth) * t + smooth / C``."""
    if targets.dim() == 1:
        targets = F.one_hot(targets.long(), num_classes).float()
    return targets * (1 - smooth) + smooth / num_classes


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """(N, C) logits and (N, C) target distributions -> (N,) cross entropies."""
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1)


@MODELS.register_module()
class LabelSmoothLoss(nn.Module):
    """Mean soft cross entropy of (N, C) logits against smoothed targets.

    Args:
        label_smooth_val: the smoothing epsilon, in [0, 1).
        num_classes: C; None takes it from the logits.
        mode: 'original' (the only one here): ``(1 - eps) * one_hot + eps / C``.
        loss_weight: factor of the loss.
    """

    def __init__(
        self,
        label_smooth_val: float,
        num_classes: Optional[int] = None,
        mode: str = 'original',
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0 <= label_smooth_val < 1:
            raise ValueError(f'label_smooth_val must be in [0, 1), got {label_smooth_val}')
        if mode != 'original' or reduction != 'mean':
            raise ValueError(
                f"LabelSmoothLoss supports mode='original', reduction='mean' only, "
                f'got mode={mode!r}, reduction={reduction!r}'
            )
        self.label_smooth_val = label_smooth_val
        self.num_classes = num_classes
        self.loss_weight = loss_weight

    def forward(
        self, logits: Tensor, targets: Tensor, avg_factor: Optional[float] = None, **kwargs
    ) -> Tensor:
        """``targets``: (N,) class indices or (N, C) soft targets. Returns the scalar loss:
        the sum over images divided by ``avg_factor`` (default N)."""
        num_classes = logits.shape[1]
        if self.num_classes is not None and self.num_classes != num_classes:
            raise ValueError(
                f'LabelSmoothLoss num_classes={self.num_classes} but the logits '
                f'have {num_classes} classes'
            )
        targets = smooth_targets(targets, num_classes, self.label_smooth_val)
        losses = soft_cross_entropy(logits, targets.to(logits.dtype))
        return self.loss_weight * losses.sum() / (avg_factor or logits.shape[0])
