"""RandAugment (Cubuk et al. 2020) with mmpretrain's arguments and its 'timm_increasing' policy
set, on mmcv's image operations.

Per image: ``num_policies`` operations drawn uniformly with replacement; each is applied with
probability ``prob`` (0.5); its magnitude level is ``magnitude_level`` (or drawn from
N(level, magnitude_std) clipped to [0, total_level]) mapped linearly onto the operation's
``magnitude_range`` (``range[0]`` at level 0, ``range[1]`` at ``total_level``); signed
operations (geometry, colour, contrast, brightness, sharpness) flip the sign with
probability 0.5.
"""

from math import ceil
from typing import Dict, List, Sequence, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from rtmdet_plus.registry import TRANSFORMS


def _solarize_add(img, magnitude, thr=128):
    return np.where(img < thr, np.minimum(img + magnitude, 255), img)


def _shear(img, magnitude, direction, pad_val, interpolation):
    return mmcv.imshear(
        img, magnitude, direction=direction, border_value=pad_val, interpolation=interpolation
    )


def _translate(img, magnitude, direction, pad_val, interpolation):
    offset = magnitude * (img.shape[1] if direction == 'horizontal' else img.shape[0])
    return mmcv.imtranslate(
        img, offset, direction=direction, border_value=pad_val, interpolation=interpolation
    )


def _rotate(img, magnitude, direction, pad_val, interpolation):
    return mmcv.imrotate(img, magnitude, border_value=pad_val, interpolation=interpolation)


# name -> (function of (img, magnitude, direction, pad_val, interpolation), signed magnitude)
OPERATIONS: Dict[str, tuple] = {
    'AutoContrast': (lambda img, m, *a: mmcv.auto_contrast(img), False),
    'Equalize': (lambda img, m, *a: mmcv.imequalize(img), False),
    'Invert': (lambda img, m, *a: mmcv.iminvert(img), False),
    'Rotate': (_rotate, True),
    'Posterize': (lambda img, m, *a: mmcv.posterize(img, bits=ceil(m)), False),
    'Solarize': (lambda img, m, *a: mmcv.solarize(img, thr=m), False),
    'SolarizeAdd': (lambda img, m, *a: _solarize_add(img, m), False),
    'ColorTransform': (lambda img, m, *a: mmcv.adjust_color(img, 1 + m), True),
    'Contrast': (lambda img, m, *a: mmcv.adjust_contrast(img, 1 + m), True),
    'Brightness': (lambda img, m, *a: mmcv.adjust_brightness(img, 1 + m), True),
    'Sharpness': (lambda img, m, *a: mmcv.adjust_sharpness(img, 1 + m), True),
    'Shear': (_shear, True),
    'Translate': (_translate, True),
}

POLICIES = {
    # timm's _RAND_INCREASING_TRANSFORMS, as mmpretrain spells them
    'timm_increasing': [
        dict(type='AutoContrast'),
        dict(type='Equalize'),
        dict(type='Invert'),
        dict(type='Rotate', magnitude_range=(0, 30)),
        dict(type='Posterize', magnitude_range=(4, 0)),
        dict(type='Solarize', magnitude_range=(256, 0)),
        dict(type='SolarizeAdd', magnitude_range=(0, 110)),
        dict(type='ColorTransform', magnitude_range=(0, 0.9)),
        dict(type='Contrast', magnitude_range=(0, 0.9)),
        dict(type='Brightness', magnitude_range=(0, 0.9)),
        dict(type='Sharpness', magnitude_range=(0, 0.9)),
        dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
        dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
        dict(type='Translate', magnitude_range=(0, 0.45), direction='horizontal'),
        dict(type='Translate', magnitude_range=(0, 0.45), direction='vertical'),
    ],
}


def level_to_magnitude(level: float, magnitude_range: Sequence[float], total_level: float) -> float:
    low, high = magnitude_range
    return level / total_level * (high - low) + low


@TRANSFORMS.register_module()
class RandAugment(BaseTransform):
    """Image-only, for classification (samples with boxes or masks are refused: mmdet's
    box-aware RandAugment is ``mmdet.RandAugment``). Args as mmpretrain's: ``policies``
    ('timm_increasing' or a list of
    ``dict(type=<name of OPERATIONS>, magnitude_range=(a, b), direction=..., prob=...)``),
    ``num_policies``, ``magnitude_level``, ``magnitude_std`` (a number or 'inf': uniform in
    [0, level]), ``total_level``, ``hparams`` (``pad_val`` of the geometric operations, BGR,
    and their ``interpolation``)."""

    def __init__(
        self,
        policies: Union[str, List[dict]],
        num_policies: int,
        magnitude_level: float,
        magnitude_std: Union[float, str] = 0.0,
        total_level: float = 10,
        hparams: dict = dict(pad_val=128),
    ) -> None:
        if isinstance(policies, str):
            if policies not in POLICIES:
                raise ValueError(
                    f'unknown RandAugment policies {policies!r}: choose from '
                    f'{list(POLICIES)} or give a list of dicts'
                )
            policies = POLICIES[policies]
        for policy in policies:
            if policy.get('type') not in OPERATIONS:
                raise ValueError(
                    f'unknown RandAugment operation {policy.get("type")!r}: choose '
                    f'from {list(OPERATIONS)}'
                )
        if num_policies < 1 or magnitude_level < 0 or total_level <= 0:
            raise ValueError(
                'RandAugment needs num_policies >= 1, magnitude_level >= 0 and total_level > 0'
            )
        if isinstance(magnitude_std, str) and magnitude_std != 'inf':
            raise ValueError(f"magnitude_std must be a number or 'inf', got {magnitude_std!r}")
        self.policies = [dict(policy) for policy in policies]
        self.num_policies = num_policies
        self.magnitude_level = magnitude_level
        self.magnitude_std = magnitude_std
        self.total_level = total_level
        pad_val = hparams.get('pad_val', 128)
        self.pad_val = tuple(pad_val) if isinstance(pad_val, (list, tuple)) else pad_val
        self.interpolation = hparams.get('interpolation', 'bicubic')

    def sample_level(self) -> float:
        if self.magnitude_std == 'inf':
            return np.random.uniform(0, self.magnitude_level)
        if self.magnitude_std > 0:
            return float(
                np.clip(
                    np.random.normal(self.magnitude_level, self.magnitude_std), 0, self.total_level
                )
            )
        return self.magnitude_level

    def apply(self, img: np.ndarray, policy: dict) -> np.ndarray:
        """One operation at a sampled magnitude (sign flipped with probability 0.5 where
        signed); applied with probability ``policy.get('prob', 0.5)``."""
        if np.random.rand() > policy.get('prob', 0.5):
            return img
        operation, signed = OPERATIONS[policy['type']]
        magnitude = None
        if 'magnitude_range' in policy:
            magnitude = level_to_magnitude(
                self.sample_level(), policy['magnitude_range'], self.total_level
            )
            if signed and np.random.rand() < 0.5:
                magnitude = -magnitude
        out = operation(
            img, magnitude, policy.get('direction', 'horizontal'), self.pad_val, self.interpolation
        )
        return out.astype(img.dtype)

    def transform(self, results: dict) -> dict:
        moved = [key for key in ('gt_bboxes', 'gt_masks', 'gt_seg_map') if key in results]
        if moved:
            raise ValueError(
                f'RandAugment in scope rtmdet_plus is the classification one (image only); '
                f'this sample has {moved}, which it would not move: for boxes and masks write '
                f"type='mmdet.RandAugment'"
            )
        chosen = np.random.choice(len(self.policies), size=self.num_policies)
        img = results['img']
        for index in chosen:
            img = self.apply(img, self.policies[index])
        results['img'] = img
        return results
