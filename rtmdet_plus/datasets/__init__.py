"""Datasets and transforms registered in the ``rtmdet_plus`` scope, and the shapes generator.

``CocoDataset``, ``LoadImageFromFile`` and ``LoadAnnotations`` take mmdet's/mmcv's names so our
configs get them: the same behaviour, with clear errors (naming the file) for missing or corrupt
images, for annotation files that are missing, not JSON or not COCO, and for malformed or
misfitting masks (naming the annotation).

Rotated detection: ``DOTADataset``/``DOTAv15Dataset``/``DOTAv2Dataset`` (labelTxt folders),
``ConvertBoxType``, ``RandomRotate``, ``RandomChoiceRotate`` (mmrotate 1.x's names) and
``FixedAngleRotate`` (mmrotate's ``Rotate``), and the rotated shapes generator (DOTA format).

Classification: ``ImageNet`` (class folders or annotation lists), ``RandomResizedCrop``,
``ResizeEdge``, ``PackClsInputs`` and ``RepeatAugSampler`` (mmpretrain's names).
"""

from .cls_transforms import PackClsInputs, RandomResizedCrop, ResizeEdge
from .coco import CocoDataset, MaskAnnotationWarning
from .coco_masks import SegmentationError
from .dota import DOTADataset, DOTAv2Dataset, DOTAv15Dataset
from .dota_labels import DOTALabelError, DOTALabelWarning
from .imagenet import ClassificationAnnotationError, ImageNet
from .loading import LoadAnnotations, LoadImageFromFile
from .rand_augment import RandAugment
from .repeat_aug_sampler import RepeatAugSampler
from .rotated_shapes import (
    ROTATED_SHAPE_CLASSES,
    RotatedShapesConfig,
    ensure_rotated_shapes_dataset,
    generate_rotated_shapes_dataset,
)
from .rotated_transforms import ConvertBoxType, FixedAngleRotate, RandomChoiceRotate, RandomRotate
from .shapes import SHAPE_CLASSES, ShapesConfig, ensure_shapes_dataset, generate_shapes_dataset

__all__ = [
    'ClassificationAnnotationError',
    'ImageNet',
    'PackClsInputs',
    'RandAugment',
    'RandomResizedCrop',
    'RepeatAugSampler',
    'ResizeEdge',
    'CocoDataset',
    'ConvertBoxType',
    'DOTADataset',
    'DOTALabelError',
    'DOTALabelWarning',
    'DOTAv15Dataset',
    'DOTAv2Dataset',
    'FixedAngleRotate',
    'LoadAnnotations',
    'LoadImageFromFile',
    'MaskAnnotationWarning',
    'SegmentationError',
    'ROTATED_SHAPE_CLASSES',
    'RandomChoiceRotate',
    'RandomRotate',
    'RotatedShapesConfig',
    'SHAPE_CLASSES',
    'ShapesConfig',
    'ensure_rotated_shapes_dataset',
    'ensure_shapes_dataset',
    'generate_rotated_shapes_dataset',
    'generate_shapes_dataset',
]
