"""Rotated-box IoU for assignment, evaluation and NMS through mmcv's compiled op (CPU and GPU,
not differentiable; the loss uses :func:`rotated_box_iou` instead)."""
import torch
from mmcv.ops import box_iou_rotated
from torch import Tensor

# As mmrotate does before calling the op: it misbehaves for tiny sides and huge coordinates.
MIN_SIDE = 1e-3
MAX_COORD = 1e7


def rbox_overlaps(boxes1: Tensor, boxes2: Tensor, mode: str = 'iou',
                  is_aligned: bool = False) -> Tensor:
    """IoU (or intersection over the area of ``boxes1``) of rotated boxes.

    Args:
        boxes1: (M, 5) rotated boxes cx, cy, w, h, angle in radians (clockwise in image axes).
        boxes2: (N, 5) rotated boxes, N == M when ``is_aligned``.
        mode: 'iou' or 'iof'.
        is_aligned: pairwise for aligned rows instead of all pairs.

    Returns:
        (M, N) overlaps, or (M,) when ``is_aligned``, in the dtype of ``boxes1`` (the op runs
        in float32); detached from autograd.
    """
    if mode not in ('iou', 'iof'):
        raise ValueError(f"rbox_overlaps mode must be 'iou' or 'iof', got {mode!r}")
    for name, boxes in (('boxes1', boxes1), ('boxes2', boxes2)):
        if boxes.dim() != 2 or (boxes.size(-1) != 5 and boxes.numel() > 0):
            raise ValueError(f'rbox_overlaps: {name} must be (N, 5) rotated boxes '
                             f'(cx, cy, w, h, angle), got shape {tuple(boxes.shape)}')
    rows, cols = boxes1.size(0), boxes2.size(0)
    if is_aligned and rows != cols:
        raise ValueError(f'rbox_overlaps: is_aligned needs as many boxes1 as boxes2, '
                         f'got {rows} and {cols}')
    if rows * cols == 0:
        return boxes1.new_zeros((rows, ) if is_aligned else (rows, cols))
    clamped1 = boxes1.detach().to(torch.float32, copy=True)
    clamped2 = boxes2.detach().to(torch.float32, copy=True)
    for clamped in (clamped1, clamped2):
        clamped[:, 2:4].clamp_(min=MIN_SIDE)
        clamped[:, :2].clamp_(min=-MAX_COORD, max=MAX_COORD)
    overlaps = box_iou_rotated(clamped1, clamped2, mode=mode, aligned=is_aligned)
    return overlaps.to(boxes1.dtype)
