"""Transforms for rotated-box pipelines, under mmrotate 1.x's names where they do not clash.

mmdet's ``RandomFlip`` (horizontal/vertical/diagonal), ``Resize``, ``Pad`` and ``RandomCrop``
already handle rotated boxes through the box API (``flip_``, ``rescale_``, ``translate_``,
``is_inside``); use them with ``clip_object_border=False`` / ``bbox_clip_border=False``, since
a rotated box cut by the border is no rectangle (``RotatedBoxes.clip_`` leaves boxes unchanged).

mmrotate's fixed-angle ``Rotate`` is registered here as ``FixedAngleRotate``: the name ``Rotate``
belongs to mmdet's level-based transform, which ``RandAugment``/``AutoAugment`` policies build,
and a same-named type in our scope would replace it there.
"""

from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.structures.bbox import BaseBoxes

from ..registry import TRANSFORMS

RECT_PRESERVING_ANGLES = (90, 180, -90, -180)  # degrees that keep axis-aligned boxes aligned


@TRANSFORMS.register_module()
class ConvertBoxType(BaseTransform):
    """Convert box fields to other box types, e.g. ``dict(gt_bboxes='rbox')``.

    Args:
        box_type_mapping: results key -> destination box type name or class. Missing keys are
            skipped.
    """

    def __init__(self, box_type_mapping: dict) -> None:
        self.box_type_mapping = dict(box_type_mapping)

    def transform(self, results: dict) -> dict:
        for key, dst_type in self.box_type_mapping.items():
            if key not in results:
                continue
            boxes = results[key]
            if not isinstance(boxes, BaseBoxes):
                raise TypeError(
                    f'ConvertBoxType: results[{key!r}] is {type(boxes).__name__}, '
                    'not a box type; load it with LoadAnnotations(box_type=...)'
                )
            results[key] = boxes.convert_to(dst_type)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(box_type_mapping={self.box_type_mapping})'


def _border_value(value: Union[int, float, Sequence[float]]) -> Tuple[float, float, float]:
    if isinstance(value, (int, float)):
        return (float(value),) * 3
    if len(value) != 3:
        raise ValueError(f'img_border_value must be a number or 3 numbers, got {value!r}')
    return tuple(float(v) for v in value)


@TRANSFORMS.register_module()
class FixedAngleRotate(BaseTransform):
    """Rotate image, boxes, masks and segmentation map by ``rotate_angle`` degrees clockwise
    on screen about the image centre, keeping the image size; objects whose centre leaves the
    image are dropped. Records the ``homography_matrix``.

    Args:
        rotate_angle: degrees, positive = clockwise on screen (as ``mmcv.imrotate``).
        img_border_value: fill for the uncovered image area (one number or 3).
        mask_border_value: fill for masks.
        seg_ignore_label: fill for the segmentation map.
        interpolation: ``mmcv.imrotate`` interpolation.
    """

    def __init__(
        self,
        rotate_angle: float,
        img_border_value: Union[int, float, tuple] = 0,
        mask_border_value: int = 0,
        seg_ignore_label: int = 255,
        interpolation: str = 'bilinear',
    ) -> None:
        self.rotate_angle = rotate_angle
        self.img_border_value = _border_value(img_border_value)
        self.mask_border_value = mask_border_value
        self.seg_ignore_label = seg_ignore_label
        self.interpolation = interpolation

    def _homography(self, img_shape: Tuple[int, int]) -> np.ndarray:
        """(3, 3) map of pixel-index coordinates, the same turn as ``mmcv.imrotate``."""
        center = ((img_shape[1] - 1) * 0.5, (img_shape[0] - 1) * 0.5)
        matrix = cv2.getRotationMatrix2D(center, -self.rotate_angle, 1.0)
        return np.concatenate([matrix, [[0, 0, 1]]]).astype(np.float32)

    def _keep(self, results: dict, keep: np.ndarray) -> None:
        for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags', 'gt_instances_ids'):
            if results.get(key) is not None:
                results[key] = results[key][keep]
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'][keep.nonzero()[0]]

    def transform(self, results: dict) -> dict:
        img_shape = results['img'].shape[:2]
        homography = self._homography(img_shape)
        previous = results.get('homography_matrix')
        results['homography_matrix'] = homography if previous is None else homography @ previous
        results['img'] = mmcv.imrotate(
            results['img'],
            self.rotate_angle,
            border_value=self.img_border_value,
            interpolation=self.interpolation,
        )
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'].rotate(
                img_shape,
                self.rotate_angle,
                border_value=self.mask_border_value,
                interpolation=self.interpolation,
            )
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = mmcv.imrotate(
                results['gt_seg_map'],
                self.rotate_angle,
                border_value=self.seg_ignore_label,
                interpolation='nearest',
            )
        boxes = results.get('gt_bboxes')
        if boxes is not None and len(boxes) > 0:
            # continuous coordinates: pixel i spans [i, i + 1), so the centre is (w / 2, h / 2)
            boxes.rotate_((img_shape[1] * 0.5, img_shape[0] * 0.5), self.rotate_angle)
            self._keep(results, boxes.is_inside(img_shape).numpy())
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(rotate_angle={self.rotate_angle}, '
            f'img_border_value={self.img_border_value}, '
            f'mask_border_value={self.mask_border_value}, '
            f'seg_ignore_label={self.seg_ignore_label}, interpolation={self.interpolation})'
        )


def _build_rotate(rotate_type: str, rotate_kwargs: dict) -> FixedAngleRotate:
    if rotate_type == 'Rotate':  # mmrotate's default spelled out: that is our FixedAngleRotate
        rotate_type = 'FixedAngleRotate'
    rotate = TRANSFORMS.build(dict(type=rotate_type, rotate_angle=0, **rotate_kwargs))
    if not hasattr(rotate, 'rotate_angle'):
        raise TypeError(f'rotate_type={rotate_type!r} has no rotate_angle attribute')
    return rotate


def _has_rect_object(results: dict, rect_obj_labels: Optional[List[int]]) -> bool:
    labels = results.get('gt_bboxes_labels')
    if not rect_obj_labels or labels is None:
        return False
    return bool(np.isin(np.asarray(labels), rect_obj_labels).any())


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """With probability ``prob``, rotate by an angle drawn from [-angle_range, angle_range)
    degrees; if the image holds an object of a class in ``rect_obj_labels`` (objects that are
    always axis-aligned, e.g. DOTA storage-tank 9 and roundabout 11), the angle is drawn from
    (90, 180, -90, -180) instead so they stay rectangles.

    Args:
        prob: probability of rotating.
        angle_range: degrees, in (0, 180].
        rect_obj_labels: labels of always-axis-aligned classes.
        rotate_type: the fixed-angle transform to use.
        **rotate_kwargs: its other arguments (border values, interpolation).
    """

    def __init__(
        self,
        prob: float = 0.5,
        angle_range: float = 180,
        rect_obj_labels: Optional[List[int]] = None,
        rotate_type: str = 'FixedAngleRotate',
        **rotate_kwargs,
    ) -> None:
        if not 0 < angle_range <= 180:
            raise ValueError(f'angle_range must be in (0, 180] degrees, got {angle_range}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.angle_range = angle_range
        self.rect_obj_labels = rect_obj_labels
        self.rotate = _build_rotate(rotate_type, rotate_kwargs)

    @cache_randomness
    def _is_rotate(self) -> bool:
        return np.random.rand() < self.prob

    @cache_randomness
    def _random_angle(self) -> float:
        return float(self.angle_range * (2 * np.random.rand() - 1))

    @cache_randomness
    def _random_rect_angle(self) -> float:
        return float(np.random.choice(RECT_PRESERVING_ANGLES))

    def transform(self, results: dict) -> dict:
        if not self._is_rotate():
            return results
        if _has_rect_object(results, self.rect_obj_labels):
            self.rotate.rotate_angle = self._random_rect_angle()
        else:
            self.rotate.rotate_angle = self._random_angle()
        return self.rotate(results)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(prob={self.prob}, angle_range={self.angle_range}, '
            f'rect_obj_labels={self.rect_obj_labels}, rotate={self.rotate!r})'
        )


@TRANSFORMS.register_module()
class RandomChoiceRotate(BaseTransform):
    """Rotate by an angle chosen from ``angles`` (degrees, 0 excluded).

    Args:
        angles: candidate angles.
        prob: total probability of rotating (shared equally), or one probability per angle.
        rect_obj_labels: as in :class:`RandomRotate`.
        rotate_type, **rotate_kwargs: as in :class:`RandomRotate`.
    """

    def __init__(
        self,
        angles: List[int],
        prob: Union[float, List[float]] = 0.5,
        rect_obj_labels: Optional[List[int]] = None,
        rotate_type: str = 'FixedAngleRotate',
        **rotate_kwargs,
    ) -> None:
        if not angles or 0 in angles:
            raise ValueError(f'angles must be a non-empty list without 0, got {angles}')
        probs = [prob / len(angles)] * len(angles) if isinstance(prob, (int, float)) else list(prob)
        if len(probs) != len(angles) or min(probs) < 0 or sum(probs) > 1 + 1e-9:
            raise ValueError(
                f'prob must be a number in [0, 1] or one probability per angle '
                f'summing to at most 1, got {prob} for angles {angles}'
            )
        self.angles = list(angles)
        self.prob = prob
        self.choice_probs = probs + [max(0.0, 1 - sum(probs))]
        self.rect_obj_labels = rect_obj_labels
        self.rotate = _build_rotate(rotate_type, rotate_kwargs)

    @cache_randomness
    def _choice_angle(self) -> float:
        return float(np.random.choice(self.angles + [0], p=self.choice_probs))

    @cache_randomness
    def _random_rect_angle(self) -> float:
        return float(np.random.choice(RECT_PRESERVING_ANGLES))

    def transform(self, results: dict) -> dict:
        angle = self._choice_angle()
        if angle == 0:
            return results
        if _has_rect_object(results, self.rect_obj_labels):
            angle = self._random_rect_angle()
        self.rotate.rotate_angle = angle
        return self.rotate(results)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(angles={self.angles}, prob={self.prob}, '
            f'rect_obj_labels={self.rect_obj_labels}, rotate={self.rotate!r})'
        )
