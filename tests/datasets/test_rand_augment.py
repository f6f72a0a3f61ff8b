"""RandAugment: the 'timm_increasing' policy set, magnitude levels and their sampling, and each
operation against mmcv's image functions."""

import mmcv
import numpy as np
import pytest

from rtmdet_plus.datasets import RandAugment
from rtmdet_plus.datasets.rand_augment import POLICIES, level_to_magnitude

IMG = np.random.RandomState(0).randint(0, 256, (24, 32, 3)).astype(np.uint8)


def test_timm_increasing_is_timms_set_of_fifteen():
    names = [(p['type'], p.get('direction')) for p in POLICIES['timm_increasing']]
    assert len(names) == 15 and len(set(names)) == 15
    ranges = {p['type']: p.get('magnitude_range') for p in POLICIES['timm_increasing']}
    assert ranges['Posterize'] == (4, 0) and ranges['Solarize'] == (256, 0)
    assert ranges['Rotate'] == (0, 30) and ranges['Translate'] == (0, 0.45)
    assert ranges['AutoContrast'] is None


def test_levels_map_linearly_and_std_samples_around_the_level():
    assert level_to_magnitude(7, (0, 30), 10) == pytest.approx(21)
    assert level_to_magnitude(7, (4, 0), 10) == pytest.approx(1.2)  # posterize: ceil -> 2 bits
    aug = RandAugment('timm_increasing', 2, magnitude_level=7, magnitude_std=0.5)
    np.random.seed(0)
    levels = np.array([aug.sample_level() for _ in range(4000)])
    assert levels.mean() == pytest.approx(7, abs=0.05) and levels.std() == pytest.approx(
        0.5, abs=0.05
    )
    assert RandAugment('timm_increasing', 2, 7).sample_level() == 7
    uniform = RandAugment('timm_increasing', 2, 7, magnitude_std='inf')
    levels = np.array([uniform.sample_level() for _ in range(2000)])
    assert 0 <= levels.min() and levels.max() <= 7 and levels.mean() == pytest.approx(3.5, abs=0.2)


@pytest.mark.parametrize(
    'policy, expected',
    [
        (dict(type='Invert'), lambda img: mmcv.iminvert(img)),
        (dict(type='Equalize'), lambda img: mmcv.imequalize(img)),
        (dict(type='Posterize', magnitude_range=(4, 0)), lambda img: mmcv.posterize(img, 2)),
        (
            dict(type='Solarize', magnitude_range=(256, 0)),
            lambda img: mmcv.solarize(img, 256 - 179.2),
        ),
        (
            dict(type='Brightness', magnitude_range=(0, 0.9)),
            lambda img: mmcv.adjust_brightness(img, 1 + 0.63),
        ),
        (
            dict(type='Rotate', magnitude_range=(0, 30)),
            lambda img: mmcv.imrotate(
                img, 21, border_value=(104, 116, 124), interpolation='bicubic'
            ),
        ),
    ],
)
def test_an_applied_operation_equals_mmcvs(policy, expected):
    aug = RandAugment(
        [dict(policy, prob=1.0)],
        1,
        magnitude_level=7,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic'),
    )
    signs = []
    for seed in range(20):  # signed operations: one of the draws keeps the sign
        np.random.seed(seed)
        out = aug(dict(img=IMG.copy()))['img']
        if np.array_equal(out, expected(IMG.copy()).astype(np.uint8)):
            signs.append(seed)
    assert signs, policy


def test_probability_and_errors():
    aug = RandAugment([dict(type='Invert', prob=0.0)], 3, 7)
    assert np.array_equal(aug(dict(img=IMG.copy()))['img'], IMG)
    with pytest.raises(ValueError, match='Mosaic'):
        RandAugment([dict(type='Mosaic')], 1, 5)
    with pytest.raises(ValueError, match='policies'):
        RandAugment('autoaugment', 1, 5)
    # image only: a detection sample is refused with the name of mmdet's box-aware one
    with pytest.raises(ValueError, match=r"mmdet\.RandAugment"):
        aug(dict(img=IMG.copy(), gt_bboxes=np.zeros((1, 4), np.float32)))
