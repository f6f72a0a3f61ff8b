"""mmdet's ``CocoDataset`` with annotation files checked before use.

Registered in the ``rtmdet_plus`` scope under mmdet's name, so every config with
``default_scope='rtmdet_plus'`` and ``type='CocoDataset'`` gets it. Parsing is mmdet's
(boxes with ``w < 1``, ``h < 1`` or ``area <= 0`` are dropped, ``iscrowd`` becomes
``ignore_flag``); what is added are clear errors, naming the file, for an annotation file that
is missing, is not JSON, is not a COCO instances file, or names none of the configured classes.
"""
import json
from functools import partial
from typing import List, Optional, Sequence

from mmdet.datasets import CocoDataset as MMDetCocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine import fileio

from rtmdet_plus.registry import DATASETS

COCO_KEYS = ('images', 'annotations', 'categories')


class CheckedCOCO(COCO):
    """mmdet's COCO API over a file that is checked first.

    Args:
        annotation_file: local path of the json file.
        source: the name to report in errors (the configured ``ann_file``).
        classes: class names the dataset will use; each must be a category of the file.
        require_annotations: whether the ``annotations`` list must be present (test-set image
            lists such as COCO test-dev have none).
    """

    def __init__(self, annotation_file: str, source: Optional[str] = None,
                 classes: Sequence[str] = (), require_annotations: bool = True):
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
            'file.') from error
    required = COCO_KEYS if require_annotations else ('images', 'categories')
    missing = [key for key in required if not isinstance(data, dict) or key not in data]
    if missing:
        raise ValueError(
            f"Annotation file '{source}' is not in COCO format: it lacks the top-level "
            f'key(s) {missing}. A COCO instances file is a JSON object with the lists '
            "'images', 'annotations' and 'categories'; point ann_file at such a file.")
    wrong_type = [key for key in required if not isinstance(data[key], list)]
    if wrong_type:
        raise ValueError(f"Annotation file '{source}' is not in COCO format: {wrong_type} "
                         'must be lists.')
    return data


def check_classes(categories: List[dict], classes: Sequence[str], source: str) -> None:
    """Raise ValueError if a configured class name is not a category name of the file."""
    names = [category.get('name') for category in categories]
    absent = [name for name in classes if name not in names]
    if absent:
        raise ValueError(
            f"Annotation file '{source}' has no category named {absent} (its categories are "
            f'{names}). Set the dataset\'s metainfo=dict(classes=...) to names from the file.')


@DATASETS.register_module()
class CocoDataset(MMDetCocoDataset):
    """COCO-format detection dataset; mmdet's, with checked annotation files (see module)."""

    def load_data_list(self) -> List[dict]:
        if not fileio.exists(self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(
                f"Annotation file '{self.ann_file}' does not exist. Check data_root and "
                'ann_file in the dataset config (the file read is data_root/ann_file); for '
                'the generated shapes dataset run tools/misc/generate_shapes_dataset.py.')
        self.COCOAPI = partial(
            CheckedCOCO,
            source=self.ann_file,
            classes=self.metainfo['classes'],
            require_annotations=not self.test_mode)
        return super().load_data_list()
