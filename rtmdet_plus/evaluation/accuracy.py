"""Top-k classification accuracy (mmpretrain's ``Accuracy``: keys ``accuracy/top{k}``, percent)."""

from typing import Dict, List, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from torch import Tensor

from rtmdet_plus.registry import METRICS


def topk_accuracy(scores: Tensor, labels: Tensor, topk: Sequence[int]) -> List[float]:
    """(N, C) scores and (N,) labels -> per k, the percentage of images whose label is among
    their k best-scored classes."""
    if scores.shape[1] < max(topk):
        raise ValueError(
            f'top-{max(topk)} accuracy needs at least {max(topk)} classes, the '
            f'scores have {scores.shape[1]}'
        )
    best = scores.topk(max(topk), dim=1).indices
    hits = best == labels[:, None]
    return [hits[:, :k].any(1).float().mean().item() * 100 for k in topk]


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy over the predictions' ``pred_score`` and the samples' ``gt_label``."""

    default_prefix = 'accuracy'

    def __init__(
        self,
        topk: Union[int, Sequence[int]] = (1,),
        thrs=0.0,
        collect_device: str = 'cpu',
        prefix=None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = (topk,) if isinstance(topk, int) else tuple(topk)
        if thrs not in (0.0, None, (0.0,), [0.0]):
            raise ValueError(f'Accuracy takes no score thresholds here (thrs={thrs})')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                dict(pred_score=sample['pred_score'].cpu(), gt_label=sample['gt_label'].cpu())
            )

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        scores = torch.stack([r['pred_score'] for r in results])
        labels = torch.cat([r['gt_label'] for r in results])
        return {
            f'top{k}': value
            for k, value in zip(self.topk, topk_accuracy(scores, labels, self.topk))
        }
