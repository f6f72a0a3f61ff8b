"""``QuadriBoxes``: mmdet box type of convex quadrilaterals, the raw form of DOTA labels
(registered as 'qbox', see :mod:`.box_types`)."""

import warnings
from typing import Tuple, Union

import numpy as np
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from torch import BoolTensor, Tensor

from .box_converters import mask_min_area_corners
from .point_transforms import project_points, rotate_points
from .rotated_boxes import check_flip_direction


class QuadriBoxes(BaseBoxes):
    """Quadrilaterals: tensor (..., 8) of x1, y1, x2, y2, x3, y3, x4, y4 in pixels, the corners
    of a convex quadrilateral in order (clockwise or counter-clockwise)."""

    box_dim = 8

    @property
    def vertices(self) -> Tensor:
        """(..., 4, 2) corner points."""
        return self.tensor.unflatten(-1, (4, 2))

    @property
    def centers(self) -> Tensor:
        """(..., 2) mean of the corners."""
        return self.vertices.mean(dim=-2)

    @property
    def areas(self) -> Tensor:
        """(...,) shoelace areas."""
        x, y = self.vertices.unbind(-1)
        return 0.5 * (x * y.roll(-1, dims=-1) - x.roll(-1, dims=-1) * y).sum(-1).abs()

    @property
    def widths(self) -> Tensor:
        """(...,) sqrt(area): a quadrilateral has no width, so a square of equal area stands in."""
        return self.areas.sqrt()

    @property
    def heights(self) -> Tensor:
        """(...,) sqrt(area), as :attr:`widths`."""
        return self.areas.sqrt()

    def flip_(self, img_shape: Tuple[int, int], direction: str = 'horizontal') -> None:
        """Mirror the corners in an image of ``img_shape`` (h, w), in place."""
        check_flip_direction(direction)
        boxes = self.tensor
        if direction in ('horizontal', 'diagonal'):
            boxes[..., 0::2] = img_shape[1] - boxes[..., 0::2]
        if direction in ('vertical', 'diagonal'):
            boxes[..., 1::2] = img_shape[0] - boxes[..., 1::2]

    def translate_(self, distances: Tuple[float, float]) -> None:
        """Shift every corner by (dx, dy) pixels, in place."""
        if len(distances) != 2:
            raise ValueError(f'translate_ needs (dx, dy), got {distances!r}')
        self.tensor = self.tensor + self.tensor.new_tensor(distances).repeat(4)

    def clip_(self, img_shape: Tuple[int, int]) -> None:
        """Leave the boxes unchanged (a clipped quadrilateral may need more corners)."""
        warnings.warn(
            'QuadriBoxes.clip_ does nothing: quadrilaterals are not clipped to the '
            'image (set clip_object_border=False in the pipeline)'
        )

    def rotate_(self, center: Tuple[float, float], angle: float) -> None:
        """Rotate the corners about ``center`` by ``angle`` degrees clockwise on screen."""
        self.tensor = rotate_points(self.vertices, center, angle).flatten(-2)

    def project_(self, homography_matrix: Union[Tensor, np.ndarray]) -> None:
        """Apply a (3, 3) homography to the corners, in place."""
        self.tensor = project_points(self.vertices, homography_matrix).flatten(-2)

    def rescale_(self, scale_factor: Tuple[float, float]) -> None:
        """Scale x by ``scale_factor[0]`` and y by ``scale_factor[1]``, in place."""
        if len(scale_factor) != 2:
            raise ValueError(f'rescale_ needs (scale_x, scale_y), got {scale_factor!r}')
        self.tensor = self.tensor * self.tensor.new_tensor(scale_factor).repeat(4)

    def resize_(self, scale_factor: Tuple[float, float]) -> None:
        """Scale each quadrilateral about its centre by one factor (both entries must match, or
        the shape would change), in place."""
        if len(scale_factor) != 2 or scale_factor[0] != scale_factor[1]:
            raise ValueError(
                'QuadriBoxes.resize_ needs equal factors (s, s) to keep the shape, '
                f'got {scale_factor!r}'
            )
        vertices = self.vertices
        centers = vertices.mean(dim=-2, keepdim=True)
        self.tensor = ((vertices - centers) * scale_factor[0] + centers).flatten(-2)

    def is_inside(
        self, img_shape: Tuple[int, int], all_inside: bool = False, allowed_border: int = 0
    ) -> BoolTensor:
        """(...,) whether each centre lies in the image (h, w), ``allowed_border`` pixels beyond
        its edges included (``all_inside`` is accepted for mmdet's signature, not used)."""
        img_h, img_w = img_shape
        x, y = self.centers.unbind(-1)
        return (
            (x >= -allowed_border)
            & (x <= img_w + allowed_border)
            & (y >= -allowed_border)
            & (y <= img_h + allowed_border)
        )

    def find_inside_points(
        self, points: Tensor, is_aligned: bool = False, eps: float = 0.01
    ) -> BoolTensor:
        """Which points lie inside which quadrilaterals: every edge cross product has the same
        sign and magnitude at least ``eps``.

        Args:
            points: (M, 2) points x, y.
            is_aligned: test point i against box i only (M == number of boxes).
            eps: margin on the edge cross products (pixels squared).

        Returns:
            (M, N) for N boxes, or (M,) when ``is_aligned``.
        """
        if self.tensor.dim() != 2:
            raise ValueError(
                f'find_inside_points needs (N, 8) boxes, got {tuple(self.tensor.shape)}'
            )
        start = self.vertices  # (N, 4, 2)
        end = start.roll(-1, dims=1)
        if is_aligned:
            if len(points) != len(start):
                raise ValueError(
                    f'is_aligned needs as many points as boxes, got {len(points)} and {len(start)}'
                )
            point = points[:, None, :]  # (M, 1, 2)
        else:
            start, end, point = start[None], end[None], points[:, None, None, :]
        to_start, to_end = start - point, end - point
        cross = to_start[..., 0] * to_end[..., 1] - to_start[..., 1] * to_end[..., 0]
        return (cross >= eps).all(dim=-1) | (cross <= -eps).all(dim=-1)

    @staticmethod
    def overlaps(
        boxes1: BaseBoxes,
        boxes2: BaseBoxes,
        mode: str = 'iou',
        is_aligned: bool = False,
        eps: float = 1e-6,
    ) -> Tensor:
        """Not defined for general quadrilaterals: convert to 'rbox' first."""
        raise NotImplementedError(
            'QuadriBoxes.overlaps is not defined: convert the boxes with '
            ".convert_to('rbox') and use RotatedBoxes.overlaps"
        )

    @staticmethod
    def from_instance_masks(masks: Union[BitmapMasks, PolygonMasks]) -> 'QuadriBoxes':
        """Corners of the minimum-area rectangle around each instance mask (zeros if empty)."""
        return QuadriBoxes(mask_min_area_corners(masks).reshape(-1, 8))
