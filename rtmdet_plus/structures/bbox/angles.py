"""Angle conventions of rotated boxes (cx, cy, w, h, angle in radians, clockwise in image axes).

One rectangle has many (w, h, angle) spellings: the angle is periodic in pi, and (w, h, a) equals
(h, w, a + pi/2). A convention picks one spelling:

- ``oc`` (OpenCV): angle in [-pi/2, 0); w and h keep their order.
- ``le90`` (long edge 90): w >= h, angle in [-pi/2, pi/2).
- ``le135`` (long edge 135): w >= h, angle in [-pi/4, 3pi/4).
"""

import math
from typing import Dict, Tuple

import torch
from torch import Tensor

# convention -> (width is the long edge, start of the angle range in radians)
ANGLE_VERSIONS: Dict[str, Tuple[bool, float]] = {
    'oc': (False, -math.pi / 2),
    'le90': (True, -math.pi / 2),
    'le135': (True, -math.pi / 4),
}


def check_angle_version(angle_version: str) -> Tuple[bool, float]:
    """(width is long edge, range start in radians) of ``angle_version``; ValueError if unknown."""
    if angle_version not in ANGLE_VERSIONS:
        raise ValueError(
            f'unknown angle_version {angle_version!r}: use one of '
            f'{sorted(ANGLE_VERSIONS)} (le90 is the RTMDet-R default)'
        )
    return ANGLE_VERSIONS[angle_version]


def _wrap(offset: Tensor) -> Tensor:
    """``offset`` modulo pi in [0, pi) (``remainder`` rounds tiny negatives up to exactly pi)."""
    offset = torch.remainder(offset, math.pi)
    return torch.where(offset >= math.pi, offset - math.pi, offset)


def norm_angle(angle: Tensor, angle_version: str) -> Tensor:
    """Wrap angles (radians, any shape) into the range of ``angle_version`` (period pi).

    Only the angle changes. ``oc`` returns the angle unchanged (as mmrotate does): reaching its
    range [-pi/2, 0) needs a width/height swap, see :func:`regularize_rboxes`.
    """
    _, start = check_angle_version(angle_version)
    if angle_version == 'oc':
        return angle
    return _wrap(angle - start) + start


def regularize_rboxes(boxes: Tensor, angle_version: str = 'le90') -> Tensor:
    """The same rectangles spelled in ``angle_version``.

    Args:
        boxes: (..., 5) rotated boxes cx, cy, w, h, angle (radians).
        angle_version: 'oc', 'le90' or 'le135'.

    Returns:
        (..., 5) boxes whose w, h and angle follow the convention; centres are unchanged.
    """
    width_longer, start = check_angle_version(angle_version)
    return regularize_rboxes_in_range(boxes, width_longer, start)


def regularize_rboxes_in_range(boxes: Tensor, width_longer: bool, start: float) -> Tensor:
    """Spell (..., 5) rotated boxes with w >= h and the angle in [start, start + pi) when
    ``width_longer``, else with w, h in their order and the angle in [start, start + pi/2).
    ``start`` is in radians."""
    cx, cy, w, h, angle = boxes.unbind(-1)
    if width_longer:
        keep = w > h
        w, h, angle = (
            torch.where(keep, w, h),
            torch.where(keep, h, w),
            torch.where(keep, angle, angle + math.pi / 2),
        )
        angle = _wrap(angle - start) + start
    else:
        offset = _wrap(angle - start)
        keep = offset < math.pi / 2
        w, h = torch.where(keep, w, h), torch.where(keep, h, w)
        angle = torch.where(keep, offset, offset - math.pi / 2) + start
    return torch.stack([cx, cy, w, h, angle], dim=-1)
