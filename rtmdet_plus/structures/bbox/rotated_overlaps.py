"""Rotated-box IoU for assignment, evaluation and NMS through mmcv's compiled op (CPU and GPU,
not differentiable; the loss uses :func:`rotated_box_iou` instead).

mmcv 2.1.0's ``box_iou_rotated`` is wrong for pairs with nearly collinear edges (parallel edges
less than ~1e-3 px apart, e.g. a prediction that almost equals its ground truth): it can return
anything from 0 to 1 there. Such pairs are found cheaply and recomputed with our polygon-clipping
IoU, which is exact for them.

For all pairs (``is_aligned=False``) only the pairs whose axis-aligned extents overlap go
through the op; the others cannot intersect and get 0. Crowded images (1000 small objects
against 20k priors) then cost what their few touching pairs cost, not M x N polygon clippings.
"""

import math
from typing import Tuple

import torch
from mmcv.ops import box_iou_rotated
from torch import Tensor

from .box_converters import rbox2hbox
from .rotated_iou import rotated_box_intersection

# As mmrotate does before calling the op: it misbehaves for tiny sides and huge coordinates.
MIN_SIDE = 1e-3
MAX_COORD = 1e7
# Pairs whose edges are this close to parallel (radians) and to collinear (fraction of the
# larger side, at least 1e-2 px) bypass mmcv's op.
PARALLEL_TOL = 1e-3
COLLINEAR_TOL = 1e-3


def near_collinear_edges(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """(..., 5) and (..., 5) broadcastable rotated boxes -> (...) bool: some edge of one box is
    nearly parallel and nearly collinear with an edge of the other."""
    delta = torch.remainder(boxes2[..., 4] - boxes1[..., 4], math.pi / 2)
    parallel = torch.minimum(delta, math.pi / 2 - delta) < PARALLEL_TOL
    cos, sin = torch.cos(boxes1[..., 4]), torch.sin(boxes1[..., 4])
    turn = boxes2[..., 4] - boxes1[..., 4]
    scale = torch.maximum(boxes1[..., 2:4].amax(-1), boxes2[..., 2:4].amax(-1))
    tol = torch.clamp(COLLINEAR_TOL * scale, min=1e-2)
    offset_x = boxes2[..., 0] - boxes1[..., 0]
    offset_y = boxes2[..., 1] - boxes1[..., 1]
    collinear = torch.zeros_like(parallel)
    # Along each axis of box 1: its two edges at +-half side, box 2's at its centre offset
    # +-half its extent along that axis.
    for along, side1 in (((cos, sin), boxes1[..., 2]), ((-sin, cos), boxes1[..., 3])):
        centre = offset_x * along[0] + offset_y * along[1]
        angle_cos = torch.cos(turn).abs() if along[0] is cos else torch.sin(turn).abs()
        angle_sin = torch.sin(turn).abs() if along[0] is cos else torch.cos(turn).abs()
        extent2 = boxes2[..., 2] * angle_cos + boxes2[..., 3] * angle_sin
        for edge1 in (side1 / 2, -side1 / 2):
            for edge2 in (centre + extent2 / 2, centre - extent2 / 2):
                collinear |= (edge1 - edge2).abs() < tol
    return parallel & collinear


def touching_pairs(boxes1: Tensor, boxes2: Tensor) -> Tuple[Tensor, Tensor]:
    """(M, 5) and (N, 5) rotated boxes -> row and column indices of the pairs whose horizontal
    extents overlap (widened by 1e-3 of the largest extent and coordinate, so no intersecting
    pair is lost to rounding); every other pair has zero intersection. A box with a non-finite
    value touches every box (the op decides what it gives)."""
    extents1, extents2 = rbox2hbox(boxes1), rbox2hbox(boxes2)
    finite1, finite2 = torch.isfinite(extents1).all(1), torch.isfinite(extents2).all(1)
    finite_extents = torch.cat([extents1[finite1], extents2[finite2]])
    scale = finite_extents.abs().amax() if finite_extents.numel() else extents1.new_tensor(0.0)
    pad = 1e-3 * scale + 1e-3
    overlap = (extents1[:, None, 0] <= extents2[None, :, 2] + pad) & (
        extents2[None, :, 0] <= extents1[:, None, 2] + pad
    )
    overlap &= extents1[:, None, 1] <= extents2[None, :, 3] + pad
    overlap &= extents2[None, :, 1] <= extents1[:, None, 3] + pad
    overlap |= ~finite1[:, None] | ~finite2[None]
    return overlap.nonzero(as_tuple=True)


def rbox_overlaps(
    boxes1: Tensor, boxes2: Tensor, mode: str = 'iou', is_aligned: bool = False
) -> Tensor:
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
            raise ValueError(
                f'rbox_overlaps: {name} must be (N, 5) rotated boxes '
                f'(cx, cy, w, h, angle), got shape {tuple(boxes.shape)}'
            )
    rows, cols = boxes1.size(0), boxes2.size(0)
    if is_aligned and rows != cols:
        raise ValueError(
            f'rbox_overlaps: is_aligned needs as many boxes1 as boxes2, got {rows} and {cols}'
        )
    if rows * cols == 0:
        return boxes1.new_zeros((rows,) if is_aligned else (rows, cols))
    clamped1 = boxes1.detach().to(torch.float32, copy=True)
    clamped2 = boxes2.detach().to(torch.float32, copy=True)
    for clamped in (clamped1, clamped2):
        clamped[:, 2:4].clamp_(min=MIN_SIDE)
        clamped[:, :2].clamp_(min=-MAX_COORD, max=MAX_COORD)
    if is_aligned:
        return aligned_overlaps(clamped1, clamped2, mode).to(boxes1.dtype)
    rows_index, cols_index = touching_pairs(clamped1, clamped2)
    overlaps = clamped1.new_zeros((rows, cols))
    if rows_index.numel():
        overlaps[rows_index, cols_index] = aligned_overlaps(
            clamped1[rows_index], clamped2[cols_index], mode
        )
    return overlaps.to(boxes1.dtype)


def aligned_overlaps(boxes1: Tensor, boxes2: Tensor, mode: str) -> Tensor:
    """(K, 5) and (K, 5) float32 rotated boxes -> (K,) IoU or IoF of aligned rows: mmcv's op,
    with the nearly collinear pairs recomputed exactly."""
    overlaps = box_iou_rotated(boxes1, boxes2, mode=mode, aligned=True)
    suspect = near_collinear_edges(boxes1, boxes2).nonzero(as_tuple=True)[0]
    if suspect.numel():
        first, second = boxes1[suspect].double(), boxes2[suspect].double()
        inter = rotated_box_intersection(first, second)
        area1 = first[:, 2] * first[:, 3]
        denominator = area1 if mode == 'iof' else area1 + second[:, 2] * second[:, 3] - inter
        overlaps[suspect] = (inter / denominator.clamp(min=1e-6)).to(overlaps.dtype)
    return overlaps
