"""mmdet's ``CocoDataset`` with annotation files checked before use.

Registered in the ``rtmdet_plus`` scope under mmdet's name, so every config with
``default_scope='rtmdet_plus'`` and ``type='CocoDataset'`` gets it. Parsing is mmdet's
(boxes with ``w < 1``, ``h < 1`` or ``area <= 0`` are dropped, ``iscrowd`` becomes
``ignore_flag``); what is added are clear errors, naming the file, for an annotation file that
is missing, is not JSON, is not a COCO instances file, or names none of the configured classes;
and checked segmentations (:mod:`rtmdet_plus.datasets.coco_masks`): a malformed polygon or RLE,
or a mask that does not fit its image, stops loading with an error naming the file, the
annotation id and the image; polygons of fewer than 3 points are dropped and empty masks give
an instance without mask (ignored when masks are trained), both with one warning per file.
"""

import json
import warnings
from functools import partial
from typing import List, Optional, Sequence

from mmdet.datasets import CocoDataset as MMDetCocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine import fileio

from rtmdet_plus.registry import DATASETS

from .bad_samples import BadSampleMixin
from .coco_masks import SegmentationError, check_segmentation

COCO_KEYS = ('images', 'annotations', 'categories')


class MaskAnnotationWarning(UserWarning):
    """Polygons dropped or masks found empty while loading an annotation file."""


class CheckedCOCO(COCO):
    """mmdet's COCO API over a file that is checked first.

    Args:
        annotation_file: local path of the json file.
        source: the name to report in errors (the configured ``ann_file``).
        classes: class names the dataset will use; each must be a category of the file.
        require_annotations: whether the ``annotations`` list must be present (test-set image
            lists such as COCO test-dev have none).
    """

    def __init__(
        self,
        annotation_file: str,
        source: Optional[str] = None,
        classes: Sequence[str] = (),
        require_annotations: bool = True,
    ):
        super().__init__(annotation_file=None)
        source = source or annotation_file
        self.dataset = load_coco_json(annotation_file, source, require_annotations)
        check_classes(self.dataset['categories'], classes, source)
        self.createIndex()
        self.img_ann_map = self.imgToAnns
        self.cat_img_map = self.catToImgs


def load_coco_json(path: str, source: str, require_annotations: bool = True) -> dict:
    """Read a COCO instances json; raise ValueError naming ``source`` if it is not one."""
    try:
        with open(path, 'rb') as file:
            data = json.load(file)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"Annotation file '{source}' is not valid JSON ({error}). It must be a COCO "
            'instances file; regenerate or re-download it, or point ann_file at the right '
            'file.'
        ) from error
    required = COCO_KEYS if require_annotations else ('images', 'categories')
    missing = [key for key in required if not isinstance(data, dict) or key not in data]
    if missing:
        raise ValueError(
            f"Annotation file '{source}' is not in COCO format: it lacks the top-level "
            f'key(s) {missing}. A COCO instances file is a JSON object with the lists '
            "'images', 'annotations' and 'categories'; point ann_file at such a file."
        )
    wrong_type = [key for key in required if not isinstance(data[key], list)]
    if wrong_type:
        raise ValueError(
            f"Annotation file '{source}' is not in COCO format: {wrong_type} must be lists."
        )
    return data


def check_classes(categories: List[dict], classes: Sequence[str], source: str) -> None:
    """Raise ValueError if a configured class name is not a category name of the file."""
    names = [category.get('name') for category in categories]
    absent = [name for name in classes if name not in names]
    if absent:
        raise ValueError(
            f"Annotation file '{source}' has no category named {absent} (its categories are "
            f'{names}). Set the dataset\'s metainfo=dict(classes=...) to names from the file.'
        )


@DATASETS.register_module()
class CocoDataset(BadSampleMixin, MMDetCocoDataset):
    """COCO-format detection dataset; mmdet's, with checked annotation files (see module) and
    reported bad samples in training (``on_bad_sample``: :mod:`.bad_samples`)."""

    def load_data_list(self) -> List[dict]:
        if not fileio.exists(self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(
                f"Annotation file '{self.ann_file}' does not exist. Check data_root and "
                'ann_file in the dataset config (the file read is data_root/ann_file); for '
                'the generated shapes dataset run tools/misc/generate_shapes_dataset.py.'
            )
        self.COCOAPI = partial(
            CheckedCOCO,
            source=self.ann_file,
            classes=self.metainfo['classes'],
            require_annotations=not self.test_mode,
        )
        self._mask_notes = dict(dropped=[], empty=[])  # annotation ids, see parse_data_info
        data_list = super().load_data_list()
        self._warn_mask_notes()
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """mmdet's parsing after checking every annotation's segmentation (see module).

        Each instance gets a ``mask`` key: its checked segmentation, ``[]`` when it has none or
        it is empty (mmdet's ``LoadAnnotations(with_mask=True)`` then ignores the instance).
        """
        img_info = raw_data_info['raw_img_info']
        checked_anns = []
        for ann in raw_data_info['raw_ann_info']:
            if ann.get('segmentation'):
                ann = dict(ann, segmentation=self._checked_segmentation(ann, img_info))
            checked_anns.append(ann)
        data_info = super().parse_data_info(dict(raw_data_info, raw_ann_info=checked_anns))
        for instance in data_info['instances']:
            instance.setdefault('mask', [])
        return data_info

    def _checked_segmentation(self, ann: dict, img_info: dict):
        try:
            checked = check_segmentation(ann['segmentation'], img_info['height'], img_info['width'])
        except SegmentationError as error:
            raise SegmentationError(
                f"Annotation file '{self.ann_file}', annotation id {ann.get('id')} (image id "
                f"{img_info.get('id')}, '{img_info.get('file_name')}', "
                f"{img_info['width']}x{img_info['height']}): {error}. Fix or remove this "
                'annotation\'s segmentation.'
            ) from None
        if checked.dropped_parts:
            self._mask_notes['dropped'].append(ann.get('id'))
        if checked.empty:
            self._mask_notes['empty'].append(ann.get('id'))
        return checked.segmentation

    def _warn_mask_notes(self) -> None:
        def ids(found: list) -> str:
            return ', '.join(map(str, found[:10])) + (', ...' if len(found) > 10 else '')

        dropped, empty = self._mask_notes['dropped'], self._mask_notes['empty']
        if dropped:
            warnings.warn(
                f"Annotation file '{self.ann_file}': {len(dropped)} annotation(s) have polygons "
                f'of fewer than 3 points, which were dropped (annotation ids {ids(dropped)}).',
                MaskAnnotationWarning,
                stacklevel=2,
            )
        if empty:
            warnings.warn(
                f"Annotation file '{self.ann_file}': {len(empty)} annotation(s) have an empty "
                f'mask (annotation ids {ids(empty)}); they are ignored when masks are trained.',
                MaskAnnotationWarning,
                stacklevel=2,
            )
