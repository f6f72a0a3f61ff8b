"""Data preprocessor of image classification (mmpretrain's ``ClsDataPreprocessor`` arguments)."""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor

from rtmdet_plus.registry import MODELS

from .batch_augments import RandomBatchAugment


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """mmengine's image preprocessor ((3, H, W) uint8 images -> (N, 3, H, W) float batch,
    BGR -> RGB with ``to_rgb``, ``(x - mean) / std``, padding to ``pad_size_divisor``), plus
    labels to one-hot ``gt_score`` when ``to_onehot`` or batch augments are set, and in
    training Mixup/CutMix on images and scores.

    Args:
        num_classes: C of the one-hot scores (the classifier passes its head's when None).
        batch_augments: ``dict(augments=[...], probs=None)``, see :class:`RandomBatchAugment`.
    """

    def __init__(
        self,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        pad_size_divisor: int = 1,
        pad_value: float = 0,
        to_rgb: bool = False,
        to_onehot: bool = False,
        num_classes: Optional[int] = None,
        batch_augments: Optional[dict] = None,
    ) -> None:
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std to normalise, or neither')
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=to_rgb,
        )
        self.num_classes = num_classes
        self.batch_augments = RandomBatchAugment(**batch_augments) if batch_augments else None
        self.to_onehot = to_onehot or self.batch_augments is not None

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs, samples = data['inputs'], data.get('data_samples')
        if samples and 'gt_label' in samples[0] and 'gt_score' not in samples[0] and self.to_onehot:
            if self.num_classes is None:
                raise ValueError('ClsDataPreprocessor needs num_classes for one-hot labels')
            labels = torch.cat([sample.gt_label for sample in samples]).to(inputs.device)
            scores = F.one_hot(labels, self.num_classes).float()
            if training and self.batch_augments is not None:
                inputs, scores = self.batch_augments(inputs, scores)
            for sample, score in zip(samples, scores):
                sample.set_gt_score(score)
        return dict(inputs=inputs, data_samples=samples)
