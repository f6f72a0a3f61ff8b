"""Geometric transforms of (..., 2) points in image axes (x right, y down, pixels)."""

import math
from typing import Tuple, Union

import numpy as np
import torch
from torch import Tensor


def rotate_points(points: Tensor, center: Tuple[float, float], angle: float) -> Tensor:
    """Rotate (..., 2) points about ``center`` by ``angle`` degrees, clockwise on screen
    (mmdet's ``rotate_`` convention; the same matrix as ``cv2.getRotationMatrix2D(center,
    -angle, 1)``)."""
    radians = math.radians(angle)
    cos, sin = math.cos(radians), math.sin(radians)
    origin = points.new_tensor(center)
    offset = points - origin
    return (
        torch.stack(
            [
                cos * offset[..., 0] - sin * offset[..., 1],
                sin * offset[..., 0] + cos * offset[..., 1],
            ],
            dim=-1,
        )
        + origin
    )


def project_points(points: Tensor, homography: Union[Tensor, np.ndarray]) -> Tensor:
    """Apply a (3, 3) homography to (..., 2) points."""
    matrix = (
        points.new_tensor(homography)
        if isinstance(homography, np.ndarray)
        else homography.to(points)
    )
    if matrix.shape != (3, 3):
        raise ValueError(f'homography must be a 3x3 matrix, got shape {tuple(matrix.shape)}')
    projected = points @ matrix[:2, :2].T + matrix[:2, 2]
    scale = points @ matrix[2, :2] + matrix[2, 2]
    return projected / scale[..., None]
