"""High-level API: build a detector from a config and checkpoint, run it (or a deployed model)
on images, folders and videos, draw and write the results."""

from .inference import draw_detections, draw_rotated_detections, inference_detector, init_detector
from .inferencer import Inferencer, prediction_dict

__all__ = [
    'init_detector',
    'inference_detector',
    'draw_detections',
    'draw_rotated_detections',
    'Inferencer',
    'prediction_dict',
]
