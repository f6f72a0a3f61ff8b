"""High-level API: build a detector from a config and checkpoint, run it on images, draw results."""
from .inference import draw_detections, inference_detector, init_detector

__all__ = ['init_detector', 'inference_detector', 'draw_detections']
