"""IoU loss of rotated boxes on CPU and GPU (mmrotate's ``RotatedIoULoss``, same arguments)."""

import warnings
from typing import Optional

import torch
from mmdet.models.losses.utils import weighted_loss
from torch import Tensor, nn

from rtmdet_plus.registry import MODELS
from rtmdet_plus.structures.bbox import rotated_box_iou

IOU_LOSS_MODES = ('linear', 'square', 'log')


@weighted_loss
def rotated_iou_loss(pred: Tensor, target: Tensor, mode: str = 'log', eps: float = 1e-6) -> Tensor:
    """Per-pair loss of (N, 5) rotated boxes cx, cy, w, h, angle (radians), IoU clamped to
    ``eps``: 'linear' 1 - IoU, 'square' 1 - IoU^2, 'log' -log IoU. Returns (N,)."""
    ious = rotated_box_iou(pred, target).clamp(min=eps)
    if mode == 'linear':
        return 1 - ious
    if mode == 'square':
        return 1 - ious**2
    return -ious.log()


@MODELS.register_module()
class RotatedIoULoss(nn.Module):
    """IoU loss of rotated boxes, differentiable on any device (plain torch polygon clipping).

    Args:
        linear: deprecated, the same as ``mode='linear'``.
        eps: lower bound of the IoU (keeps the log finite).
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: factor on the loss.
        mode: 'linear', 'square' or 'log'.
    """

    def __init__(
        self,
        linear: bool = False,
        eps: float = 1e-6,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        mode: str = 'log',
    ) -> None:
        super().__init__()
        if linear:
            warnings.warn("RotatedIoULoss(linear=True) is deprecated: use mode='linear'")
            mode = 'linear'
        if mode not in IOU_LOSS_MODES:
            raise ValueError(f'RotatedIoULoss mode must be one of {IOU_LOSS_MODES}, got {mode!r}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(
                f"RotatedIoULoss reduction must be 'none', 'mean' or 'sum', got {reduction!r}"
            )
        self.mode = mode
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs,
    ) -> Tensor:
        """Loss of (N, 5) predicted against (N, 5) target rotated boxes.

        Args:
            pred: (N, 5) cx, cy, w, h, angle in radians.
            target: (N, 5) same format.
            weight: (N,) or (N, 5) (averaged over the last axis) per-pair weights.
            avg_factor: divisor of the summed loss for 'mean'.
            reduction_override: 'none', 'mean' or 'sum' instead of ``reduction``.

        Returns:
            Scalar loss, or (N,) for reduction 'none'.
        """
        if reduction_override not in (None, 'none', 'mean', 'sum'):
            raise ValueError(
                f"reduction_override must be None, 'none', 'mean' or 'sum', "
                f'got {reduction_override!r}'
            )
        reduction = reduction_override or self.reduction
        if weight is not None and not torch.any(weight > 0) and reduction != 'none':
            # Nothing to learn: a zero that keeps the graph connected.
            if pred.dim() == weight.dim() + 1:
                weight = weight.unsqueeze(1)
            return (pred * weight).sum()
        if weight is not None and weight.dim() > 1:
            if weight.shape != pred.shape:
                raise ValueError(
                    f'weight of shape {tuple(weight.shape)} must be (N,) or match '
                    f'pred {tuple(pred.shape)}'
                )
            weight = weight.mean(-1)
        loss = rotated_iou_loss(
            pred,
            target,
            weight,
            mode=self.mode,
            eps=self.eps,
            reduction=reduction,
            avg_factor=avg_factor,
            **kwargs,
        )
        return self.loss_weight * loss
