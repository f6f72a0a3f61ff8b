"""Single-image inference and drawing of detections (boxes, and masks from RTMDet-Ins).

``init_detector`` / ``inference_detector`` are mmdet's (``mmdet.apis`` imports without
torchvision): with ``rtmdet_plus`` imported, a config whose ``default_scope`` is
``rtmdet_plus`` builds our components, and checkpoints load through the safe loader.
``draw_detections`` / ``draw_rotated_detections`` are :mod:`rtmdet_plus.visualization`'s.
"""

from mmdet.apis import inference_detector, init_detector

import rtmdet_plus.utils  # noqa: F401  (safe checkpoint loading for init_detector)
from rtmdet_plus.visualization import draw_detections, draw_rotated_detections

__all__ = ['init_detector', 'inference_detector', 'draw_detections', 'draw_rotated_detections']
