"""Merging detections on split patches back onto the full DOTA images.

``tools/dataset_converters/dota_split.py`` names a patch ``<image>__<window size>__<x>___<y>``
(e.g. ``P0001__1024__0___824``), with (x, y) the patch's top-left corner in the full image.
Merged detections are shifted by that offset, then per class reduced by rotated NMS
(:func:`rtmdet_plus.structures.bbox.rbox_nms`, or mmcv's ``nms_quadri`` for quadrilaterals)
to drop the copies that overlapping patches found of the same object.
"""

import re
from collections import defaultdict
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from mmcv.ops import nms_quadri

from rtmdet_plus.structures.bbox import rbox_nms

PATCH_NAME = re.compile(r'^(?P<image>.+?)__(?P<size>\d+(?:\.\d+)?)__(?P<x>\d+)___(?P<y>\d+)$')


def parse_patch_name(name: str) -> Tuple[str, int, int]:
    """``'P0001__1024__0___824'`` -> ``('P0001', 0, 824)``: full image id and patch offset."""
    match = PATCH_NAME.match(name)
    if match is None:
        raise ValueError(
            f'patch name {name!r} is not <image>__<size>__<x>___<y> (as written by '
            'tools/dataset_converters/dota_split.py); merge_patches needs split '
            'patches'
        )
    return match['image'], int(match['x']), int(match['y'])


def shift_boxes(boxes: np.ndarray, dx: float, dy: float, box_type: str = 'rbox') -> np.ndarray:
    """Copy of (N, 5) rotated boxes or (N, 8) quadrilaterals moved by (dx, dy) pixels."""
    shifted = np.array(boxes, dtype=np.float32, copy=True)
    if box_type == 'rbox':
        shifted[:, :2] += (dx, dy)
    elif box_type == 'qbox':
        shifted[:, :8] += (dx, dy) * 4
    else:
        raise ValueError(f"box_type must be 'rbox' or 'qbox', got {box_type!r}")
    return shifted


def nms_boxes(
    boxes: np.ndarray, scores: np.ndarray, iou_thr: float, box_type: str = 'rbox'
) -> np.ndarray:
    """Indices kept by rotated (or quadrilateral) NMS, highest score first."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    boxes_t = torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32))
    scores_t = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))
    if box_type == 'rbox':
        keep = rbox_nms(boxes_t, scores_t, iou_thr)
    else:
        _, keep = nms_quadri(boxes_t, scores_t, iou_thr)
    return keep.numpy().astype(np.int64)


def merge_patch_detections(
    patch_results: Sequence[dict], num_classes: int, iou_thr: float = 0.1, box_type: str = 'rbox'
) -> Dict[str, Sequence[np.ndarray]]:
    """Full-image detections from per-patch ones.

    Args:
        patch_results: dicts with ``img_id`` (a patch name), ``bboxes`` (N, 5 or 8) in patch
            pixels, ``scores`` (N,), ``labels`` (N,).
        num_classes: number of classes.
        iou_thr: NMS IoU threshold among a class's merged boxes.
        box_type: 'rbox' or 'qbox'.

    Returns:
        full image id -> per class (K, D + 1) boxes and score, highest score first.
    """
    dim = 5 if box_type == 'rbox' else 8
    collected = defaultdict(list)
    for result in patch_results:
        image, dx, dy = parse_patch_name(str(result['img_id']))
        boxes = shift_boxes(np.asarray(result['bboxes']).reshape(-1, dim), dx, dy, box_type)
        scores = np.asarray(result['scores'], np.float32).reshape(-1, 1)
        labels = np.asarray(result['labels']).reshape(-1, 1).astype(np.float32)
        collected[image].append(np.hstack([labels, boxes, scores]))
    merged = {}
    for image, parts in collected.items():
        rows = np.concatenate(parts)
        per_class = []
        for label in range(num_classes):
            dets = rows[rows[:, 0] == label, 1:]
            keep = nms_boxes(dets[:, :dim], dets[:, -1], iou_thr, box_type)
            per_class.append(dets[keep])
        merged[image] = per_class
    return merged
