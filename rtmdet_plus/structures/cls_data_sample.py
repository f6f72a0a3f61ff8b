"""The data sample of image classification, with mmpretrain's field names."""

from typing import Union

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor


class ClsDataSample(BaseDataElement):
    """One image's classification annotation and prediction.

    Fields (all optional): ``gt_label`` (1,) long class index; ``gt_score`` (C,) float soft target
    (one-hot, or mixed by Mixup/CutMix); ``pred_score`` (C,) class probabilities; ``pred_label``
    (1,) long, the most probable class. Meta information (``img_path``, ``ori_shape``, ...) as
    usual in ``metainfo``.
    """

    def set_gt_label(self, label: Union[int, Tensor]) -> 'ClsDataSample':
        self.gt_label = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        return self

    def set_gt_score(self, score: Tensor) -> 'ClsDataSample':
        self.gt_score = score
        return self

    def set_pred_score(self, score: Tensor) -> 'ClsDataSample':
        self.pred_score = score
        return self

    def set_pred_label(self, label: Union[int, Tensor]) -> 'ClsDataSample':
        self.pred_label = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        return self
