"""Classification transforms with mmpretrain's names and arguments: ``RandomResizedCrop``,
``ResizeEdge`` and ``PackClsInputs`` (also registered as ``PackInputs``, mmpretrain 1.x's name).
``CenterCrop`` and ``RandomFlip`` come from mmcv / mmdet."""

import math
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from rtmdet_plus.registry import TRANSFORMS
from rtmdet_plus.structures.cls_data_sample import ClsDataSample


def random_resized_crop_box(
    height: int,
    width: int,
    area_range: Sequence[float],
    ratio_range: Sequence[float],
    max_attempts: int = 10,
    rng=np.random,
) -> Tuple[int, int, int, int]:
    """(top, left, crop height, crop width) covering a uniform share of the image area in
    ``area_range`` at an aspect ratio (w / h) drawn log-uniformly in ``ratio_range``; after
    ``max_attempts`` misses, the centred crop of the whole image clamped to ``ratio_range``."""
    area = height * width
    log_ratio = (math.log(ratio_range[0]), math.log(ratio_range[1]))
    for _ in range(max_attempts):
        target_area = rng.uniform(*area_range) * area
        aspect = math.exp(rng.uniform(*log_ratio))
        crop_w = int(round(math.sqrt(target_area * aspect)))
        crop_h = int(round(math.sqrt(target_area / aspect)))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            return (
                rng.randint(0, height - crop_h + 1),
                rng.randint(0, width - crop_w + 1),
                crop_h,
                crop_w,
            )
    in_ratio = width / height
    if in_ratio < min(ratio_range):
        crop_w, crop_h = width, int(round(width / min(ratio_range)))
    elif in_ratio > max(ratio_range):
        crop_h, crop_w = height, int(round(height * max(ratio_range)))
    else:
        crop_h, crop_w = height, width
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def _size(scale: Union[int, Sequence[int]]) -> Tuple[int, int]:
    return (scale, scale) if isinstance(scale, int) else tuple(scale)


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area share and aspect ratio of ``img``, resized to ``scale`` (w, h)."""

    def __init__(
        self,
        scale,
        crop_ratio_range=(0.08, 1.0),
        aspect_ratio_range=(3.0 / 4.0, 4.0 / 3.0),
        max_attempts: int = 10,
        interpolation: str = 'bilinear',
        backend: str = 'cv2',
    ) -> None:
        if not 0 < crop_ratio_range[0] <= crop_ratio_range[1] <= 1:
            raise ValueError(f'crop_ratio_range {crop_ratio_range} must lie in (0, 1]')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError(f'aspect_ratio_range {aspect_ratio_range} must be positive, low first')
        self.scale = _size(scale)
        self.crop_ratio_range = crop_ratio_range
        self.aspect_ratio_range = aspect_ratio_range
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, crop_h, crop_w = random_resized_crop_box(
            img.shape[0],
            img.shape[1],
            self.crop_ratio_range,
            self.aspect_ratio_range,
            self.max_attempts,
        )
        img = img[top : top + crop_h, left : left + crop_w]
        results['img'] = mmcv.imresize(
            img, self.scale, interpolation=self.interpolation, backend=self.backend
        )
        results['img_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class ResizeEdge(BaseTransform):
    """Resize keeping the aspect ratio so that the ``edge`` ('short', 'long', 'width',
    'height') becomes ``scale`` pixels."""

    def __init__(
        self, scale: int, edge: str = 'short', backend: str = 'cv2', interpolation: str = 'bilinear'
    ) -> None:
        if edge not in ('short', 'long', 'width', 'height'):
            raise ValueError(f"edge must be 'short', 'long', 'width' or 'height', got {edge!r}")
        self.scale, self.edge = scale, edge
        self.backend, self.interpolation = backend, interpolation

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        edge = {
            'short': min(height, width),
            'long': max(height, width),
            'width': width,
            'height': height,
        }[self.edge]
        factor = self.scale / edge
        size = (max(1, int(round(width * factor))), max(1, int(round(height * factor))))
        results['img'] = mmcv.imresize(
            results['img'], size, interpolation=self.interpolation, backend=self.backend
        )
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size[0] / width, size[1] / height)
        return results


@TRANSFORMS.register_module(name=['PackClsInputs', 'PackInputs'])
class PackClsInputs(BaseTransform):
    """``img`` (H, W, C) -> ``inputs`` (C, H, W) uint8 tensor; ``gt_label`` and the meta keys
    present -> ``data_samples`` (:class:`ClsDataSample`)."""

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            'sample_idx',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
            'flip',
            'flip_direction',
        ),
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        sample = ClsDataSample(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        return dict(
            inputs=torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            data_samples=sample,
        )
