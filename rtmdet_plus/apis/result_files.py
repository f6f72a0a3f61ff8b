"""Results files of an inference run: a COCO results json for a whole set of images, and
DOTA task-1 text files for rotated detections.

The COCO file is the list pycocotools' ``COCO.loadRes`` reads (``image_id``, ``category_id``,
``bbox`` x, y, w, h pixels, ``score`` and, with masks, ``segmentation`` RLE). Given the
ground-truth annotation file, image ids come from it (matched by ``file_name``) and category ids
by class name, so the file scores against it as is; without one, images are numbered from 1 in
run order and category ids are label + 1, and ``<results>.ids.json`` records both mappings.
"""

import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.structures import InstanceData

from rtmdet_plus.evaluation.functional.dota_submission import write_task1_files

from .inferencer import prediction_dict


class CocoResults:
    """Collects detections image by image; :meth:`write` writes the results json.

    Args:
        classes: the model's class names, in label order.
        ann_file: a COCO ground-truth file whose image and category ids to use (optional).
    """

    def __init__(self, classes: Sequence[str], ann_file: Optional[str] = None):
        self.classes = list(classes)
        self.entries: List[dict] = []
        self.image_ids: Dict[str, int] = {}
        self.unmatched: List[str] = []
        self.ann_file = ann_file
        if ann_file is None:
            self.category_ids = list(range(1, len(self.classes) + 1))
            self.gt_ids = None
            return
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'annotation file not found: {ann_file}')
        with open(ann_file, encoding='utf-8') as file:
            gt = json.load(file)
        by_name = {category['name']: category['id'] for category in gt.get('categories', [])}
        missing = [name for name in self.classes if name not in by_name]
        if missing:
            raise ValueError(
                f'{ann_file} has no category named {missing[0]!r} (its categories: '
                f'{sorted(by_name)}); the model\'s classes are {self.classes}'
            )
        self.category_ids = [by_name[name] for name in self.classes]
        self.gt_ids = {
            image['file_name'].replace('\\', '/'): image['id'] for image in gt.get('images', [])
        }

    def _image_id(self, name: str) -> Optional[int]:
        if self.gt_ids is None:
            return self.image_ids.setdefault(name, len(self.image_ids) + 1)
        parts = osp.normpath(name).replace('\\', '/').split('/')
        for start in range(len(parts)):  # the longest path suffix the file names
            image_id = self.gt_ids.get('/'.join(parts[start:]))
            if image_id is not None:
                self.image_ids[name] = image_id
                return image_id
        self.unmatched.append(name)
        return None

    def add(self, name: str, instances: InstanceData, score_thr: Optional[float] = None) -> None:
        """Add the detections of the image ``name`` (a path; for an annotation file, one whose
        end is an image ``file_name`` in it)."""
        image_id = self._image_id(name)
        if image_id is None:
            return
        result = prediction_dict(instances, score_thr)
        if result['bboxes'] and len(result['bboxes'][0]) != 4:
            raise ValueError(
                'COCO results hold horizontal boxes: use --format dota for a rotated detector'
            )
        masks = result.get('masks', [None] * len(result['labels']))
        for label, score, (x1, y1, x2, y2), mask in zip(
            result['labels'], result['scores'], result['bboxes'], masks
        ):
            entry = dict(
                image_id=image_id,
                category_id=self.category_ids[label],
                bbox=[x1, y1, round(x2 - x1, 3), round(y2 - y1, 3)],
                score=score,
            )
            if mask is not None:
                entry['segmentation'] = mask
            self.entries.append(entry)

    def write(self, path: str) -> str:
        """Write the results json (and, without an annotation file, ``<path>.ids.json``);
        returns ``path``."""
        with open(path, 'w', encoding='utf-8') as file:
            json.dump(self.entries, file)
        if self.gt_ids is None:
            ids = dict(
                images=[
                    dict(id=image_id, file_name=name) for name, image_id in self.image_ids.items()
                ],
                categories=[
                    dict(id=category_id, name=name)
                    for name, category_id in zip(self.classes, self.category_ids)
                ],
            )
            with open(osp.splitext(path)[0] + '.ids.json', 'w', encoding='utf-8') as file:
                json.dump(ids, file, indent=1)
        return path


class DotaResults:
    """Collects rotated detections image by image; :meth:`write` writes ``Task1_<class>.txt``
    (one line per detection: image name, score, the 4 corners) into a folder. The image name is
    the file's stem (``video#12`` frames become ``video_12``)."""

    def __init__(self, classes: Sequence[str]):
        self.classes = list(classes)
        self.detections: Dict[str, List[np.ndarray]] = {}

    def add(self, name: str, instances: InstanceData, score_thr: Optional[float] = None) -> None:
        boxes = instances.bboxes
        boxes = (boxes.tensor if hasattr(boxes, 'tensor') else boxes).cpu().numpy()
        if boxes.shape[-1] != 5:
            raise ValueError(
                'DOTA task-1 files hold rotated boxes: use --format coco or json '
                'for a horizontal detector'
            )
        scores = instances.scores.cpu().numpy()
        labels = instances.labels.cpu().numpy()
        keep = np.ones(len(scores), bool) if score_thr is None else scores >= score_thr
        stem = osp.splitext(osp.basename(name))[0].replace('#', '_')
        rows = np.concatenate([boxes, scores[:, None]], axis=1)[keep]
        self.detections[stem] = [rows[labels[keep] == label] for label in range(len(self.classes))]

    def write(self, out_dir: str) -> List[str]:
        return write_task1_files(self.detections, self.classes, out_dir)
