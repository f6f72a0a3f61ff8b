"""Batch augmentations of image classification: Mixup and CutMix (mmpretrain's semantics),
one of them picked at random per batch."""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor


def cutmix_box(height: int, width: int, lam: float, rng=np.random) -> Tuple[int, int, int, int]:
    """A box (y1, y2, x1, x2) of sides ``sqrt(1 - lam)`` times the image's around a uniformly
    drawn centre, clipped to the image."""
    ratio = np.sqrt(1 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = rng.randint(0, height), rng.randint(0, width)
    y1, y2 = np.clip(cy - cut_h // 2, 0, height), np.clip(cy + cut_h // 2, 0, height)
    x1, x2 = np.clip(cx - cut_w // 2, 0, width), np.clip(cx + cut_w // 2, 0, width)
    return int(y1), int(y2), int(x1), int(x2)


class Mixup:
    """inputs and (N, C) soft targets -> ``lam * x + (1 - lam) * x[perm]`` for both, with
    ``lam ~ Beta(alpha, alpha)`` and a random permutation of the batch."""

    def __init__(self, alpha: float) -> None:
        if alpha <= 0:
            raise ValueError(f'Mixup alpha must be positive, got {alpha}')
        self.alpha = alpha

    def __call__(self, inputs: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor]:
        lam = np.random.beta(self.alpha, self.alpha)
        index = torch.randperm(inputs.size(0))
        return lam * inputs + (1 - lam) * inputs[index], lam * scores + (1 - lam) * scores[index]


class CutMix:
    """Paste a box of a permuted batch's images into each image; targets mix by the pasted
    area: ``lam = 1 - box area / image area`` (``lam ~ Beta(alpha, alpha)`` sets the size)."""

    def __init__(
        self, alpha: float, cutmix_minmax: Optional[List[float]] = None, correct_lam: bool = True
    ) -> None:
        if alpha <= 0:
            raise ValueError(f'CutMix alpha must be positive, got {alpha}')
        if cutmix_minmax is not None or not correct_lam:
            raise ValueError(
                'CutMix here draws boxes from lam and corrects lam by the box area '
                '(cutmix_minmax=None, correct_lam=True)'
            )
        self.alpha = alpha

    def __call__(self, inputs: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor]:
        lam = np.random.beta(self.alpha, self.alpha)
        index = torch.randperm(inputs.size(0))
        height, width = inputs.shape[-2:]
        y1, y2, x1, x2 = cutmix_box(height, width, lam)
        inputs = inputs.clone()
        inputs[:, :, y1:y2, x1:x2] = inputs[index, :, y1:y2, x1:x2]
        lam = 1 - (y2 - y1) * (x2 - x1) / (height * width)
        return inputs, lam * scores + (1 - lam) * scores[index]


BATCH_AUGMENTS = {'Mixup': Mixup, 'CutMix': CutMix}


class RandomBatchAugment:
    """Apply one of ``augments`` (configs ``dict(type='Mixup' | 'CutMix', ...)``) to each batch,
    the ``i``-th with probability ``probs[i]`` (uniform when None; what the probabilities leave
    over is no augmentation)."""

    def __init__(self, augments: Sequence[dict], probs: Optional[Sequence[float]] = None) -> None:
        augments = [augments] if isinstance(augments, dict) else list(augments)
        self.augments = []
        for cfg in augments:
            cfg = dict(cfg)
            name = cfg.pop('type')
            if name not in BATCH_AUGMENTS:
                raise ValueError(
                    f'unknown batch augment {name!r}: choose from {list(BATCH_AUGMENTS)}'
                )
            self.augments.append(BATCH_AUGMENTS[name](**cfg))
        if probs is None:
            probs = [1 / len(self.augments)] * len(self.augments)
        if len(probs) != len(self.augments) or sum(probs) > 1 + 1e-6:
            raise ValueError(
                f'probs {probs} must give one probability per augment, summing to <= 1'
            )
        self.probs = list(probs) + ([1 - sum(probs)] if sum(probs) < 1 else [])

    def __call__(self, inputs: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor]:
        choice = np.random.choice(len(self.probs), p=self.probs)
        if choice == len(self.augments):
            return inputs, scores
        return self.augments[choice](inputs, scores)
