"""Metrics registered in the ``rtmdet_plus`` scope: ``DOTAMetric`` (rotated-box mAP, DOTA
patch merging and submission files)."""
from .dota_metric import DOTAMetric
from .functional import eval_rbbox_map, merge_patch_detections, parse_patch_name

__all__ = ['DOTAMetric', 'eval_rbbox_map', 'merge_patch_detections', 'parse_patch_name']
