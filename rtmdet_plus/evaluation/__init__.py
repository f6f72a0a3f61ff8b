"""Metrics registered in the ``rtmdet_plus`` scope: ``DOTAMetric`` (rotated-box mAP, DOTA
patch merging and submission files) and ``Accuracy`` (top-k classification accuracy)."""

from .accuracy import Accuracy, topk_accuracy
from .dota_metric import DOTAMetric
from .functional import eval_rbbox_map, merge_patch_detections, parse_patch_name

__all__ = [
    'Accuracy',
    'topk_accuracy',
    'DOTAMetric',
    'eval_rbbox_map',
    'merge_patch_detections',
    'parse_patch_name',
]
