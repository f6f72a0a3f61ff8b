"""Rotated boxes as distances from a point to the four sides plus an angle (RTMDet-R).

A prior point p and a rotated box (cx, cy, w, h, angle) are related by the box frame: the w side
runs along (cos angle, sin angle), the h side along (-sin angle, cos angle) (image axes, x right,
y down). In that frame p sits at (u, v) from the centre, and the encoding is

    left = w / 2 + u,  right = w / 2 - u,  top = h / 2 + v,  bottom = h / 2 - v,  angle.
"""

from typing import Optional, Sequence

import torch
from mmdet.models.task_modules.coders.base_bbox_coder import BaseBBoxCoder
from torch import Tensor

from rtmdet_plus.registry import TASK_UTILS
from rtmdet_plus.structures.bbox import norm_angle
from rtmdet_plus.structures.bbox.angles import check_angle_version


def distance_angle_to_rbox(points: Tensor, distances: Tensor, angle_version: str = 'oc') -> Tensor:
    """Decode (left, top, right, bottom, angle) around points into rotated boxes.

    Args:
        points: (..., 2+) x y of the prior points in pixels (extra columns ignored).
        distances: (..., 5) distances to the sides in pixels and the angle in radians.
        angle_version: convention the decoded angle is wrapped into (``norm_angle``: the angle
            only, w and h are not swapped).

    Returns:
        (..., 5) rotated boxes cx, cy, w, h, angle.
    """
    sides, angle = distances[..., :4], distances[..., 4:5]
    cos, sin = torch.cos(angle), torch.sin(angle)
    # centre offset in the box frame, then turned into image axes
    u = (sides[..., 2:3] - sides[..., 0:1]) / 2
    v = (sides[..., 3:4] - sides[..., 1:2]) / 2
    centers = points[..., :2] + torch.cat([cos * u - sin * v, sin * u + cos * v], dim=-1)
    sizes = sides[..., :2] + sides[..., 2:]
    return torch.cat([centers, sizes, norm_angle(angle, angle_version)], dim=-1)


def rbox_to_distance_angle(
    points: Tensor, rboxes: Tensor, max_dis: Optional[float] = None, eps: float = 0.1
) -> Tensor:
    """Inverse of :func:`distance_angle_to_rbox`.

    Args:
        points: (..., 2) x y in pixels.
        rboxes: (..., 5) cx, cy, w, h, angle.
        max_dis: clamp the distances into [0, max_dis - eps] when given.

    Returns:
        (..., 5) left, top, right, bottom (pixels) and the box angle.
    """
    offset = points[..., :2] - rboxes[..., :2]
    angle = rboxes[..., 4]
    cos, sin = torch.cos(angle), torch.sin(angle)
    u = cos * offset[..., 0] + sin * offset[..., 1]
    v = -sin * offset[..., 0] + cos * offset[..., 1]
    half_w, half_h = rboxes[..., 2] / 2, rboxes[..., 3] / 2
    sides = torch.stack([half_w + u, half_h + v, half_w - u, half_h - v], dim=-1)
    if max_dis is not None:
        sides = sides.clamp(min=0, max=max_dis - eps)
    return torch.cat([sides, angle[..., None]], dim=-1)


@TASK_UTILS.register_module()
class DistanceAnglePointCoder(BaseBBoxCoder):
    """Box coder of RTMDet-R (mmrotate's name and arguments).

    Args:
        clip_border: accepted for config compatibility; rotated boxes are never clipped.
        angle_version: 'oc', 'le90' or 'le135', the range decoded angles are wrapped into.
    """

    encode_size = 5

    def __init__(self, clip_border: bool = True, angle_version: str = 'oc', **kwargs) -> None:
        super().__init__(**kwargs)
        check_angle_version(angle_version)
        self.clip_border = clip_border
        self.angle_version = angle_version

    def encode(
        self, points: Tensor, gt_bboxes: Tensor, max_dis: Optional[float] = None, eps: float = 0.1
    ) -> Tensor:
        """(N, 2) points, (N, 5) rotated boxes -> (N, 5) left, top, right, bottom, angle."""
        if points.shape[:-1] != gt_bboxes.shape[:-1] or gt_bboxes.size(-1) != 5:
            raise ValueError(
                f'DistanceAnglePointCoder.encode needs (N, 2) points and (N, 5) '
                f'boxes, got {tuple(points.shape)} and {tuple(gt_bboxes.shape)}'
            )
        return rbox_to_distance_angle(points, gt_bboxes, max_dis, eps)

    def decode(
        self, points: Tensor, pred_bboxes: Tensor, max_shape: Optional[Sequence[int]] = None
    ) -> Tensor:
        """(N, 2+) or (..., N, 2+) points, (..., N, 5) distances and angles -> (..., N, 5)
        rotated boxes. ``max_shape`` is ignored (a rotated box cut at the border is no
        rectangle)."""
        if (
            pred_bboxes.size(-1) != 5
            or points.dim() < 2
            or pred_bboxes.dim() < 2
            or points.size(-2) != pred_bboxes.size(-2)
        ):
            raise ValueError(
                f'DistanceAnglePointCoder.decode needs (N, 2) or (..., N, 2) points '
                f'and (..., N, 5) predictions, got {tuple(points.shape)} and '
                f'{tuple(pred_bboxes.shape)}'
            )
        return distance_angle_to_rbox(points, pred_bboxes, self.angle_version)
