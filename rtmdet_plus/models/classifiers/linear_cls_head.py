"""Linear classification head (mmpretrain's ``LinearClsHead``: state-dict
``fc.weight``/``fc.bias``)."""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from rtmdet_plus.evaluation.accuracy import topk_accuracy
from rtmdet_plus.registry import MODELS
from rtmdet_plus.structures.cls_data_sample import ClsDataSample


@MODELS.register_module()
class LinearClsHead(BaseModule):
    """(N, in_channels) pooled features of the last input -> (N, num_classes) logits.

    Args:
        num_classes: number of classes C.
        in_channels: feature channels.
        loss: loss config (``LabelSmoothLoss`` / mmdet's ``CrossEntropyLoss``), called with
            (N, C) logits, (N,) labels or (N, C) soft targets and ``avg_factor=N``.
        topk: the k of the training accuracies ``cal_acc`` logs.
        cal_acc: also return ``accuracy_top-{k}`` (percent, logged, not summed into the loss)
            of each training batch; needs hard labels (not Mixup/CutMix soft targets).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk: Sequence[int] = (1,),
        cal_acc: bool = False,
        init_cfg=dict(type='Normal', layer='Linear', std=0.01),
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be positive')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.topk = tuple(topk)
        self.cal_acc = cal_acc
        self.loss_module = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        self.fc = nn.Linear(in_channels, num_classes)

    def pre_logits(self, feats: Tuple[Tensor, ...]) -> Tensor:
        return feats[-1]

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        return self.fc(self.pre_logits(feats))

    def loss(self, feats: Tuple[Tensor, ...], data_samples: List[ClsDataSample]) -> dict:
        """``loss``: the loss of the logits against each sample's ``gt_score`` (soft targets,
        after Mixup/CutMix) or else ``gt_label``."""
        logits = self(feats)
        if 'gt_score' in data_samples[0]:
            targets = torch.stack([sample.gt_score for sample in data_samples])
        else:
            targets = torch.cat([sample.gt_label for sample in data_samples])
        losses = dict(loss=self.loss_module(logits, targets, avg_factor=logits.size(0)))
        if self.cal_acc:
            if targets.dim() != 1:
                raise ValueError(
                    'cal_acc=True needs hard labels; with batch augments (Mixup, '
                    'CutMix) the targets are soft: set cal_acc=False'
                )
            accuracies = topk_accuracy(logits.detach(), targets, self.topk)
            losses.update(
                {
                    f'accuracy_top-{k}': logits.new_tensor(acc)
                    for k, acc in zip(self.topk, accuracies)
                }
            )
        return losses

    def predict(
        self,
        feats: Tuple[Tensor, ...],
        data_samples: Optional[List[Optional[ClsDataSample]]] = None,
    ) -> List[ClsDataSample]:
        """Softmax scores and the argmax label, set on (copies of) ``data_samples``."""
        scores = F.softmax(self(feats), dim=1)
        labels = scores.argmax(dim=1, keepdim=True).detach()
        data_samples = data_samples or [None] * scores.size(0)
        return [
            (sample if sample is not None else ClsDataSample())
            .set_pred_score(score)
            .set_pred_label(label)
            for sample, score, label in zip(data_samples, scores, labels)
        ]
