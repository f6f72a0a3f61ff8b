"""``RotatedBoxes``: mmdet box type of rotated rectangles (registered as 'rbox', see
:mod:`.box_types`)."""

import math
import warnings
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from torch import BoolTensor, Tensor

from .angles import check_angle_version, regularize_rboxes_in_range
from .box_converters import corners2rbox, mask_min_area_corners, rbox2corners
from .point_transforms import project_points, rotate_points
from .rotated_overlaps import rbox_overlaps

FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def check_flip_direction(direction: str) -> None:
    if direction not in FLIP_DIRECTIONS:
        raise ValueError(f'flip direction must be one of {FLIP_DIRECTIONS}, got {direction!r}')


class RotatedBoxes(BaseBoxes):
    """Rotated boxes: tensor (..., 5) of cx, cy, w, h, angle.

    Centre and sides are in pixels; the angle is in radians and turns the box clockwise on
    screen (image axes, x right, y down): the w side points along (cos angle, sin angle). The
    same convention as mmrotate 1.x and mmcv's rotated ops (``clockwise=True``).
    """

    box_dim = 5

    def regularize_boxes(
        self, pattern: Optional[str] = None, width_longer: bool = True, start_angle: float = -90
    ) -> Tensor:
        """Rewrite the boxes in one angle convention, in place; returns the new tensor.

        Args:
            pattern: 'oc', 'le90' or 'le135' (see :mod:`.angles`); overrides the other two.
            width_longer: make w the long side, angle in [start, start + 180) degrees; else keep
                w, h in order and bring the angle into [start, start + 90).
            start_angle: start of the angle range in degrees.
        """
        if pattern is not None:
            width_longer, start = check_angle_version(pattern)
        else:
            start = math.radians(start_angle)
        self.tensor = regularize_rboxes_in_range(self.tensor, width_longer, start)
        return self.tensor

    @property
    def centers(self) -> Tensor:
        """(..., 2) box centres."""
        return self.tensor[..., :2]

    @property
    def areas(self) -> Tensor:
        """(...,) areas w * h."""
        return self.tensor[..., 2] * self.tensor[..., 3]

    @property
    def widths(self) -> Tensor:
        """(...,) side w (along the angle)."""
        return self.tensor[..., 2]

    @property
    def heights(self) -> Tensor:
        """(...,) side h (across the angle)."""
        return self.tensor[..., 3]

    @property
    def corners(self) -> Tensor:
        """(..., 4, 2) corner points (order of :func:`rbox2corners`)."""
        return rbox2corners(self.tensor)

    def flip_(self, img_shape: Tuple[int, int], direction: str = 'horizontal') -> None:
        """Mirror the boxes in an image of ``img_shape`` (h, w), in place: 'horizontal' maps
        x to w - x, 'vertical' y to h - y, 'diagonal' both; a single mirror negates the angle."""
        check_flip_direction(direction)
        boxes = self.tensor
        if direction in ('horizontal', 'diagonal'):
            boxes[..., 0] = img_shape[1] - boxes[..., 0]
        if direction in ('vertical', 'diagonal'):
            boxes[..., 1] = img_shape[0] - boxes[..., 1]
        if direction != 'diagonal':
            boxes[..., 4] = -boxes[..., 4]

    def translate_(self, distances: Tuple[float, float]) -> None:
        """Shift the centres by (dx, dy) pixels, in place."""
        if len(distances) != 2:
            raise ValueError(f'translate_ needs (dx, dy), got {distances!r}')
        self.tensor = torch.cat(
            [self.tensor[..., :2] + self.tensor.new_tensor(distances), self.tensor[..., 2:]], dim=-1
        )

    def clip_(self, img_shape: Tuple[int, int]) -> None:
        """Leave the boxes unchanged: a rotated box cut by the image border is no rectangle.
        (mmrotate does the same; use ``clip_object_border=False`` in rotated pipelines.)"""
        warnings.warn(
            'RotatedBoxes.clip_ does nothing: rotated boxes are not clipped to the '
            'image (set clip_object_border=False in the pipeline)'
        )

    def rotate_(self, center: Tuple[float, float], angle: float) -> None:
        """Rotate the boxes about ``center`` by ``angle`` degrees clockwise on screen, in
        place (centres turn, the box angle grows by ``angle``)."""
        boxes = self.tensor
        centers = rotate_points(boxes[..., :2], center, angle)
        self.tensor = torch.cat(
            [centers, boxes[..., 2:4], boxes[..., 4:] + math.radians(angle)], dim=-1
        )

    def project_(self, homography_matrix: Union[Tensor, np.ndarray]) -> None:
        """Apply a (3, 3) homography to the corners, then fit minimum-area rectangles (le90)."""
        corners = project_points(rbox2corners(self.tensor), homography_matrix)
        self.tensor = corners2rbox(corners)

    def rescale_(self, scale_factor: Tuple[float, float]) -> None:
        """Scale x by ``scale_factor[0]`` and y by ``scale_factor[1]``, centres included, in
        place. The w side follows the scaled direction exactly; with unequal factors the image
        of a rectangle is a parallelogram, and h is the scaled length of the h side."""
        if len(scale_factor) != 2:
            raise ValueError(f'rescale_ needs (scale_x, scale_y), got {scale_factor!r}')
        scale_x, scale_y = scale_factor
        center, w, h, angle = self.tensor.split([2, 1, 1, 1], dim=-1)
        cos, sin = torch.cos(angle), torch.sin(angle)
        center = center * center.new_tensor([scale_x, scale_y])
        w = w * torch.sqrt((scale_x * cos) ** 2 + (scale_y * sin) ** 2)
        h = h * torch.sqrt((scale_x * sin) ** 2 + (scale_y * cos) ** 2)
        angle = torch.atan2(scale_y * sin, scale_x * cos)
        self.tensor = torch.cat([center, w, h, angle], dim=-1)

    def resize_(self, scale_factor: Tuple[float, float]) -> None:
        """Scale w by ``scale_factor[0]`` and h by ``scale_factor[1]``, centres fixed, in place."""
        if len(scale_factor) != 2:
            raise ValueError(f'resize_ needs (scale_w, scale_h), got {scale_factor!r}')
        boxes = self.tensor
        wh = boxes[..., 2:4] * boxes.new_tensor(scale_factor)
        self.tensor = torch.cat([boxes[..., :2], wh, boxes[..., 4:]], dim=-1)

    def is_inside(
        self, img_shape: Tuple[int, int], all_inside: bool = False, allowed_border: int = 0
    ) -> BoolTensor:
        """(...,) whether each box centre lies in the image (h, w), ``allowed_border`` pixels
        beyond its edges included (``all_inside`` is accepted for mmdet's signature and, as in
        mmrotate, not used)."""
        img_h, img_w = img_shape
        x, y = self.tensor[..., 0], self.tensor[..., 1]
        return (
            (x >= -allowed_border)
            & (x <= img_w + allowed_border)
            & (y >= -allowed_border)
            & (y <= img_h + allowed_border)
        )

    def find_inside_points(
        self, points: Tensor, is_aligned: bool = False, eps: float = 0.01
    ) -> BoolTensor:
        """Which points lie inside which boxes, at least ``eps`` pixels from the sides.

        Args:
            points: (M, 2) points x, y.
            is_aligned: test point i against box i only (M == number of boxes).
            eps: margin in pixels.

        Returns:
            (M, N) for N boxes, or (M,) when ``is_aligned``.
        """
        boxes = self.tensor
        if boxes.dim() != 2:
            raise ValueError(f'find_inside_points needs (N, 5) boxes, got {tuple(boxes.shape)}')
        if is_aligned:
            if len(points) != len(boxes):
                raise ValueError(
                    f'is_aligned needs as many points as boxes, got {len(points)} and {len(boxes)}'
                )
        else:
            boxes, points = boxes[None], points[:, None]
        offset = points - boxes[..., :2]
        cos, sin = torch.cos(boxes[..., 4]), torch.sin(boxes[..., 4])
        along = cos * offset[..., 0] + sin * offset[..., 1]
        across = -sin * offset[..., 0] + cos * offset[..., 1]
        return (along.abs() <= boxes[..., 2] / 2 - eps) & (across.abs() <= boxes[..., 3] / 2 - eps)

    @staticmethod
    def overlaps(
        boxes1: BaseBoxes,
        boxes2: BaseBoxes,
        mode: str = 'iou',
        is_aligned: bool = False,
        eps: float = 1e-6,
    ) -> Tensor:
        """Rotated IoU (mmcv op) of two box sets converted to rotated boxes: (M, N) or (M,).
        ``eps`` is accepted for mmdet's signature; the op guards its own division."""
        return rbox_overlaps(
            boxes1.convert_to(RotatedBoxes).tensor,
            boxes2.convert_to(RotatedBoxes).tensor,
            mode,
            is_aligned,
        )

    @staticmethod
    def from_instance_masks(masks: Union[BitmapMasks, PolygonMasks]) -> 'RotatedBoxes':
        """Minimum-area rectangles (le90) around each instance mask; empty masks give zeros."""
        corners = mask_min_area_corners(masks)
        return RotatedBoxes(corners2rbox(corners) if len(corners) else torch.zeros(0, 5))


def scale_rboxes(boxes: Tensor, scale_factor: Sequence[float]) -> Tensor:
    """Map (N, 5) rotated boxes of the network input back to the original image, given the
    resize's ``scale_factor`` (w, h): ``RotatedBoxes.rescale_`` by the reciprocals."""
    rboxes = RotatedBoxes(boxes, clone=True)
    rboxes.rescale_((1 / scale_factor[0], 1 / scale_factor[1]))
    return rboxes.tensor
