"""Differentiable IoU of aligned pairs of rotated boxes, in plain torch (CPU and GPU).

mmcv's differentiable rotated IoU is CUDA-only, so the rotated IoU loss uses this instead.

Method: both boxes are expressed in the frame of the second box (its centre at the origin, its
sides on the axes), where it is the intersection of four axis-aligned half-planes. The first box's
outline is clipped against each half-plane in turn (Sutherland-Hodgman), with a fixed number of
points per pair so that N pairs run as one batch: every outline edge emits two points, the
mapped start point (kept if inside, else projected onto the clipping line) and the crossing point
if the edge crosses the line (else the mapped start point again). Outside runs collapse onto the
clipping line, where they enclose no area, so the shoelace area of the final 64-point outline is
the area of the intersection, for any configuration (identical, nested, disjoint, touching).

Points within ``tol`` of a clipping line count as on it and are kept: crossings are only taken
between points clearly on either side, so no intersection divides by a near-zero depth
difference and gradients stay finite on identical or degenerate pairs. The area this moves is at
most perimeter x tol (tol = 1e-10 of the box size in float64, 1e-5 in float32).
"""

from typing import Tuple

import torch
from torch import Tensor

# Tolerance relative to the largest side of the pair, per dtype (half precision runs in float32).
_RELATIVE_TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _first_box_corners_in_second_frame(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """(N, 4, 2) corners of ``boxes1`` in the frame of ``boxes2``, counter-clockwise in x-right,
    y-up axes (positive shoelace area for w, h >= 0)."""
    cos2, sin2 = torch.cos(boxes2[:, 4]), torch.sin(boxes2[:, 4])
    dx, dy = boxes1[:, 0] - boxes2[:, 0], boxes1[:, 1] - boxes2[:, 1]
    center = torch.stack([cos2 * dx + sin2 * dy, -sin2 * dx + cos2 * dy], dim=-1)
    relative = boxes1[:, 4] - boxes2[:, 4]
    cos_rel, sin_rel = torch.cos(relative), torch.sin(relative)
    half_w, half_h = boxes1[:, 2] / 2, boxes1[:, 3] / 2
    along_w = torch.stack([half_w * cos_rel, half_w * sin_rel], dim=-1)
    along_h = torch.stack([-half_h * sin_rel, half_h * cos_rel], dim=-1)
    signs = boxes1.new_tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])  # (4, [w, h])
    return (
        center[:, None]
        + signs[None, :, :1] * along_w[:, None]
        + signs[None, :, 1:] * along_h[:, None]
    )


def _clip_to_half_plane(
    outline: Tensor, axis: int, sign: float, bound: Tensor, tol: Tensor
) -> Tensor:
    """Clip closed outlines to ``sign * p[axis] <= bound``.

    Args:
        outline: (N, K, 2) closed outlines (the last point joins the first).
        axis: 0 for x, 1 for y.
        sign: +1 or -1.
        bound: (N,) distance of the clipping line from the origin.
        tol: (N,) points closer than this to the line count as on it.

    Returns:
        (N, 2K, 2) clipped outlines.
    """
    coord, other = outline[..., axis], outline[..., 1 - axis]
    depth = bound[:, None] - sign * coord  # > 0 inside
    line = (sign * bound)[:, None].expand_as(coord)
    kept_coord = torch.where(depth >= -tol[:, None], coord, line)

    next_depth, next_other = depth.roll(-1, dims=1), other.roll(-1, dims=1)
    clear = tol[:, None]
    crossing = ((depth > clear) & (next_depth < -clear)) | ((depth < -clear) & (next_depth > clear))
    safe_gap = torch.where(crossing, depth - next_depth, torch.ones_like(depth))
    fraction = torch.where(crossing, depth / safe_gap, torch.zeros_like(depth))
    cross_other = other + fraction * (next_other - other)
    second_coord = torch.where(crossing, line, kept_coord)
    second_other = torch.where(crossing, cross_other, other)

    def as_points(c: Tensor, o: Tensor) -> Tensor:
        return torch.stack([c, o] if axis == 0 else [o, c], dim=-1)

    pairs = torch.stack([as_points(kept_coord, other), as_points(second_coord, second_other)], 2)
    return pairs.flatten(1, 2)


def _shoelace(outline: Tensor) -> Tensor:
    """(N,) signed area of (N, K, 2) closed outlines (positive counter-clockwise, y up)."""
    x, y = outline[..., 0], outline[..., 1]
    return 0.5 * (x * y.roll(-1, dims=1) - x.roll(-1, dims=1) * y).sum(dim=1)


def _as_compute_dtype(boxes1: Tensor, boxes2: Tensor) -> Tuple[Tensor, Tensor]:
    dtype = torch.promote_types(boxes1.dtype, boxes2.dtype)
    if dtype not in _RELATIVE_TOL:
        dtype = torch.float32
    return boxes1.to(dtype), boxes2.to(dtype)


def rotated_box_intersection(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Differentiable intersection area of aligned pairs of rotated boxes.

    Args:
        boxes1: (N, 5) rotated boxes cx, cy, w, h, angle in radians (any angle convention),
            w, h >= 0.
        boxes2: (N, 5) rotated boxes in the same format.

    Returns:
        (N,) intersection areas in squared box units, in the promoted dtype of the inputs
        (float32 for half precision).
    """
    if boxes1.shape != boxes2.shape or boxes1.dim() != 2 or boxes1.size(-1) != 5:
        raise ValueError(
            'rotated_box_intersection needs two (N, 5) tensors of rotated boxes '
            f'(cx, cy, w, h, angle), got shapes {tuple(boxes1.shape)} and '
            f'{tuple(boxes2.shape)}'
        )
    boxes1, boxes2 = _as_compute_dtype(boxes1, boxes2)
    if boxes1.numel() == 0:
        return boxes1.new_zeros(0)
    scale = torch.maximum(boxes1[:, 2:4].abs().amax(1), boxes2[:, 2:4].abs().amax(1)).detach()
    tol = _RELATIVE_TOL[boxes1.dtype] * scale
    half_w, half_h = boxes2[:, 2] / 2, boxes2[:, 3] / 2
    outline = _first_box_corners_in_second_frame(boxes1, boxes2)
    for axis, sign, bound in (
        (0, 1.0, half_w),
        (0, -1.0, half_w),
        (1, 1.0, half_h),
        (1, -1.0, half_h),
    ):
        outline = _clip_to_half_plane(outline, axis, sign, bound, tol)
    return _shoelace(outline).clamp(min=0)


def rotated_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-6) -> Tensor:
    """Differentiable IoU of aligned pairs of rotated boxes.

    Args:
        boxes1: (N, 5) rotated boxes cx, cy, w, h, angle in radians, w, h >= 0.
        boxes2: (N, 5) rotated boxes in the same format.
        eps: lower bound of the union area (squared box units), so empty boxes give IoU 0.

    Returns:
        (N,) IoU in [0, 1].
    """
    inter = rotated_box_intersection(boxes1, boxes2)
    boxes1, boxes2 = _as_compute_dtype(boxes1, boxes2)
    area1 = boxes1[:, 2] * boxes1[:, 3]
    area2 = boxes2[:, 2] * boxes2[:, 3]
    union = (area1 + area2 - inter).clamp(min=eps)
    return inter / union
