"""Box maths for horizontal boxes (x1, y1, x2, y2 in input pixels)."""

from typing import Optional, Sequence

import torch
from torch import Tensor


def distance_to_box(
    points: Tensor, distances: Tensor, max_shape: Optional[Sequence[int]] = None
) -> Tensor:
    """Decode distances from points to the four box sides.

    Args:
        points: (..., 2) x y of the prior points.
        distances: (..., 4) distances to the left, top, right and bottom sides, in pixels.
        max_shape: (H, W) to clip the boxes to, or None.

    Returns:
        (..., 4) boxes x1 y1 x2 y2.
    """
    x, y = points[..., 0], points[..., 1]
    boxes = torch.stack(
        [
            x - distances[..., 0],
            y - distances[..., 1],
            x + distances[..., 2],
            y + distances[..., 3],
        ],
        dim=-1,
    )
    if max_shape is not None:
        height, width = max_shape[0], max_shape[1]
        boxes = torch.stack(
            [
                boxes[..., 0].clamp(0, width),
                boxes[..., 1].clamp(0, height),
                boxes[..., 2].clamp(0, width),
                boxes[..., 3].clamp(0, height),
            ],
            dim=-1,
        )
    return boxes


def box_to_distance(points: Tensor, boxes: Tensor) -> Tensor:
    """Inverse of :func:`distance_to_box`: (..., 2) points, (..., 4) boxes -> (..., 4) distances."""
    return torch.cat([points - boxes[..., :2], boxes[..., 2:] - points], dim=-1)


def scale_boxes(boxes: Tensor, scale_factor: Sequence[float]) -> Tensor:
    """Map (..., 4) boxes back to the original image: x times ``1 / scale_factor[0]``, y times
    ``1 / scale_factor[1]`` (multiplying by the reciprocal rounds as mmdet does)."""
    inv_w, inv_h = 1 / scale_factor[0], 1 / scale_factor[1]
    return boxes * boxes.new_tensor([inv_w, inv_h, inv_w, inv_h])
