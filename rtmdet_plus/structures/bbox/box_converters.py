"""Conversions between box formats, in plain torch on any leading shape (and, through OpenCV, the
minimum-area rectangles of instance masks).

- hbox: (..., 4) x1, y1, x2, y2.
- rbox: (..., 5) cx, cy, w, h, angle in radians; the w side points along (cos a, sin a) in image
  axes (x right, y down), so a positive angle turns the box clockwise on screen.
- qbox: (..., 8) x1, y1, ..., x4, y4, the corners of a convex quadrilateral in order.
"""

import itertools

import cv2
import numpy as np
import torch
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from torch import Tensor

from .angles import regularize_rboxes

_PAIRS = list(itertools.combinations(range(4), 2))  # candidate side directions of a qbox


def rbox2corners(boxes: Tensor) -> Tensor:
    """(..., 5) rotated boxes -> (..., 4, 2) corners: centre + w/2 + h/2, + w/2 - h/2,
    - w/2 - h/2, - w/2 + h/2 (mmrotate's order)."""
    center, w, h, angle = boxes.split([2, 1, 1, 1], dim=-1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    along_w = torch.cat([w / 2 * cos, w / 2 * sin], dim=-1)
    along_h = torch.cat([-h / 2 * sin, h / 2 * cos], dim=-1)
    return torch.stack(
        [
            center + along_w + along_h,
            center + along_w - along_h,
            center - along_w - along_h,
            center - along_w + along_h,
        ],
        dim=-2,
    )


def rbox2qbox(boxes: Tensor) -> Tensor:
    """(..., 5) rotated boxes -> (..., 8) corner coordinates (order of :func:`rbox2corners`)."""
    return rbox2corners(boxes).flatten(-2)


def corners2rbox(corners: Tensor, angle_version: str = 'le90') -> Tensor:
    """Minimum-area rotated rectangle around each set of 4 points.

    The best rectangle has a side along an edge of the points' convex hull, and every hull edge
    joins two of the points, so the six point pairs give all candidate directions.

    Args:
        corners: (..., 4, 2) points (x, y).
        angle_version: convention of the result, 'oc', 'le90' or 'le135'.

    Returns:
        (..., 5) rotated boxes cx, cy, w, h, angle in radians.
    """
    first = corners[..., [i for i, _ in _PAIRS], :]
    second = corners[..., [j for _, j in _PAIRS], :]
    side = second - first  # (..., 6, 2)
    angle = torch.atan2(side[..., 1], side[..., 0])
    cos, sin = torch.cos(angle)[..., None], torch.sin(angle)[..., None]  # (..., 6, 1)
    points = corners[..., None, :, :]  # (..., 1, 4, 2)
    along = points[..., 0] * cos + points[..., 1] * sin  # (..., 6, 4)
    across = -points[..., 0] * sin + points[..., 1] * cos
    lo_a, hi_a = along.amin(-1), along.amax(-1)
    lo_c, hi_c = across.amin(-1), across.amax(-1)
    best = ((hi_a - lo_a) * (hi_c - lo_c)).argmin(-1, keepdim=True)  # (..., 1)

    def pick(values: Tensor) -> Tensor:
        return values.gather(-1, best).squeeze(-1)

    mid_a, mid_c = pick((hi_a + lo_a) / 2), pick((hi_c + lo_c) / 2)
    cos_b, sin_b = pick(cos.squeeze(-1)), pick(sin.squeeze(-1))
    boxes = torch.stack(
        [
            mid_a * cos_b - mid_c * sin_b,
            mid_a * sin_b + mid_c * cos_b,
            pick(hi_a - lo_a),
            pick(hi_c - lo_c),
            pick(angle),
        ],
        dim=-1,
    )
    return regularize_rboxes(boxes, angle_version)


def qbox2rbox(boxes: Tensor, angle_version: str = 'le90') -> Tensor:
    """(..., 8) quadrilaterals -> (..., 5) minimum-area rotated rectangles in ``angle_version``
    (a rectangle given by its corners comes back exactly)."""
    return corners2rbox(boxes.unflatten(-1, (4, 2)), angle_version)


def rbox2hbox(boxes: Tensor) -> Tensor:
    """(..., 5) rotated boxes -> (..., 4) enclosing horizontal boxes x1, y1, x2, y2."""
    center, w, h, angle = boxes.split([2, 1, 1, 1], dim=-1)
    cos, sin = torch.cos(angle).abs(), torch.sin(angle).abs()
    half = torch.cat([w / 2 * cos + h / 2 * sin, w / 2 * sin + h / 2 * cos], dim=-1)
    return torch.cat([center - half, center + half], dim=-1)


def hbox2rbox(boxes: Tensor) -> Tensor:
    """(..., 4) horizontal boxes -> (..., 5) rotated boxes with angle 0."""
    center = (boxes[..., :2] + boxes[..., 2:]) / 2
    size = boxes[..., 2:] - boxes[..., :2]
    return torch.cat([center, size, boxes.new_zeros(*boxes.shape[:-1], 1)], dim=-1)


def qbox2hbox(boxes: Tensor) -> Tensor:
    """(..., 8) quadrilaterals -> (..., 4) enclosing horizontal boxes."""
    corners = boxes.unflatten(-1, (4, 2))
    return torch.cat([corners.amin(-2), corners.amax(-2)], dim=-1)


def hbox2qbox(boxes: Tensor) -> Tensor:
    """(..., 4) horizontal boxes -> (..., 8) corners (x1,y1), (x2,y1), (x2,y2), (x1,y2)."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([x1, y1, x2, y1, x2, y2, x1, y2], dim=-1)


def mask_min_area_corners(masks) -> Tensor:
    """(N, 4, 2) corners x, y of the minimum-area rectangle around each instance mask of
    ``BitmapMasks`` or ``PolygonMasks`` (OpenCV's ``minAreaRect``); zeros for an empty mask."""
    if not isinstance(masks, (BitmapMasks, PolygonMasks)):
        raise TypeError(f'masks must be BitmapMasks or PolygonMasks, got {type(masks)}')
    corners = np.zeros((len(masks), 4, 2), dtype=np.float32)
    for index in range(len(masks)):
        if isinstance(masks, BitmapMasks):
            ys, xs = np.nonzero(masks.masks[index])
            points = np.stack([xs, ys], axis=-1)
        else:
            points = np.concatenate([np.asarray(p).reshape(-1, 2) for p in masks.masks[index]])
        if len(points):
            corners[index] = cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32)))
    return torch.from_numpy(corners)
