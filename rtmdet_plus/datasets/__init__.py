"""Datasets and transforms registered in the ``rtmdet_plus`` scope, and the shapes generator.

``CocoDataset`` and ``LoadImageFromFile`` take mmdet's/mmcv's names so our configs get them:
the same behaviour, with clear errors (naming the file) for missing or corrupt images and for
annotation files that are missing, not JSON or not COCO.
"""
from .coco import CocoDataset
from .loading import LoadImageFromFile
from .shapes import SHAPE_CLASSES, ShapesConfig, ensure_shapes_dataset, generate_shapes_dataset

__all__ = [
    'CocoDataset', 'LoadImageFromFile', 'SHAPE_CLASSES', 'ShapesConfig', 'ensure_shapes_dataset',
    'generate_shapes_dataset'
]
