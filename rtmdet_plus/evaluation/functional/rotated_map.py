"""VOC-style mean average precision for rotated boxes (the DOTA Task 1 measure).

Per class: detections of all images are sorted by score; a detection is a true positive when its
best-overlapping ground truth (rotated IoU >= ``iou_thr``) is not yet taken, a false positive
when that ground truth is taken or the IoU is too low, and neither when the ground truth is
ignored (DOTA 'difficult'). AP is the area under the precision envelope (``'area'``) or the mean
of the best precision at recall 0, 0.1, ..., 1 (``'11points'``, VOC 2007), via mmdet's
``average_precision``. The mean over classes skips classes without ground truth.

Boxes: 'rbox' (N, 5) cx, cy, w, h, angle (radians) or 'qbox' (N, 8) corners.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.ops import box_iou_quadri
from mmdet.evaluation.functional import average_precision
from mmengine.logging import print_log
from terminaltables import AsciiTable

from rtmdet_plus.structures.bbox import rbox_overlaps

BOX_DIMS = {'rbox': 5, 'qbox': 8}


def _check_box_type(box_type: str) -> int:
    if box_type not in BOX_DIMS:
        raise ValueError(f"box_type must be 'rbox' or 'qbox', got {box_type!r}")
    return BOX_DIMS[box_type]


def box_areas(boxes: np.ndarray, box_type: str = 'rbox') -> np.ndarray:
    """(N,) areas of (N, 5) rotated boxes or (N, 8) quadrilaterals (shoelace)."""
    if box_type == 'rbox':
        return boxes[:, 2] * boxes[:, 3]
    pts = boxes.reshape(-1, 4, 2)
    x, y = pts[..., 0], pts[..., 1]
    return 0.5 * np.abs((x * np.roll(y, -1, axis=1) - y * np.roll(x, -1, axis=1)).sum(1))


def box_ious(boxes1: np.ndarray, boxes2: np.ndarray, box_type: str = 'rbox') -> np.ndarray:
    """(M, N) IoU of rotated boxes or quadrilaterals (mmcv ops)."""
    _check_box_type(box_type)
    b1 = torch.from_numpy(np.ascontiguousarray(boxes1, dtype=np.float32))
    b2 = torch.from_numpy(np.ascontiguousarray(boxes2, dtype=np.float32))
    if box_type == 'rbox':
        return rbox_overlaps(b1, b2).numpy()
    if len(b1) * len(b2) == 0:
        return np.zeros((len(b1), len(b2)), dtype=np.float32)
    return box_iou_quadri(b1, b2).numpy()


def tpfp_rotated(
    dets: np.ndarray,
    gts: np.ndarray,
    gts_ignore: Optional[np.ndarray] = None,
    iou_thr: float = 0.5,
    box_type: str = 'rbox',
    area_ranges: Optional[Sequence[Tuple[float, float]]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """True/false positive flags of one image's detections of one class.

    Args:
        dets: (M, D + 1) boxes and score (D = 5 for rbox, 8 for qbox).
        gts: (N, D) ground truths; ``gts_ignore`` (K, D) ignored ones.
        iou_thr: least IoU of a match.
        box_type: 'rbox' or 'qbox'.
        area_ranges: (min, max) areas (px^2); ground truths outside a range are ignored for it,
            and so are unmatched detections outside it.

    Returns:
        tp, fp: (S, M) float32 0/1 flags, S = number of area ranges (1 if None).
    """
    dim = _check_box_type(box_type)
    dets = np.asarray(dets, dtype=np.float32).reshape(-1, dim + 1)
    gts = np.asarray(gts, dtype=np.float32).reshape(-1, dim)
    gts_ignore = (
        np.zeros((0, dim), np.float32)
        if gts_ignore is None
        else np.asarray(gts_ignore, dtype=np.float32).reshape(-1, dim)
    )
    ranges = list(area_ranges) if area_ranges is not None else [(None, None)]
    tp = np.zeros((len(ranges), len(dets)), dtype=np.float32)
    fp = np.zeros((len(ranges), len(dets)), dtype=np.float32)
    all_gts = np.concatenate([gts, gts_ignore])
    is_ignored = np.r_[np.zeros(len(gts), bool), np.ones(len(gts_ignore), bool)]
    det_areas = box_areas(dets[:, :dim], box_type)
    if len(all_gts) == 0:
        for k, (low, high) in enumerate(ranges):
            fp[k] = 1 if low is None else (det_areas >= low) & (det_areas < high)
        return tp, fp
    ious = box_ious(dets[:, :dim], all_gts, box_type)
    best_iou, best_gt = ious.max(axis=1), ious.argmax(axis=1)
    gt_areas = box_areas(all_gts, box_type)
    order = np.argsort(-dets[:, -1], kind='stable')
    for k, (low, high) in enumerate(ranges):
        out_of_range = (
            np.zeros(len(all_gts), bool) if low is None else (gt_areas < low) | (gt_areas >= high)
        )
        taken = np.zeros(len(all_gts), bool)
        for i in order:
            if best_iou[i] >= iou_thr:
                gt = best_gt[i]
                if is_ignored[gt] or out_of_range[gt]:
                    continue
                if taken[gt]:
                    fp[k, i] = 1
                else:
                    taken[gt] = True
                    tp[k, i] = 1
            elif low is None or low <= det_areas[i] < high:
                fp[k, i] = 1
    return tp, fp


def eval_rbbox_map(
    det_results: Sequence[Sequence[np.ndarray]],
    annotations: Sequence[dict],
    scale_ranges: Optional[Sequence[Tuple[float, float]]] = None,
    iou_thr: float = 0.5,
    use_07_metric: bool = True,
    box_type: str = 'rbox',
    dataset: Optional[Sequence[str]] = None,
    logger: Union[str, object, None] = None,
) -> Tuple[float, List[Dict]]:
    """mAP of rotated detections over a dataset.

    Args:
        det_results: per image, per class, (M, D + 1) boxes and scores.
        annotations: per image, a dict with ``bboxes`` (N, D), ``labels`` (N,) and optionally
            ``bboxes_ignore`` (K, D), ``labels_ignore`` (K,).
        scale_ranges: (min, max) box sides; areas min**2 .. max**2 are evaluated separately.
        iou_thr: least IoU of a match.
        use_07_metric: 11-point AP (VOC 2007) instead of the area under the curve.
        box_type: 'rbox' or 'qbox'.
        dataset: class names for the printed table.
        logger: where to print the table (``'silent'`` prints nothing).

    Returns:
        mean AP (a list, one per scale range, when ``scale_ranges``), and per class a dict of
        num_gts, num_dets, recall, precision, ap.
    """
    dim = _check_box_type(box_type)
    if len(det_results) != len(annotations):
        raise ValueError(
            f'eval_rbbox_map: {len(det_results)} detection results for '
            f'{len(annotations)} annotations'
        )
    if not det_results:
        raise ValueError('eval_rbbox_map: no images to evaluate')
    num_classes = len(det_results[0])
    area_ranges = (
        [(low**2, high**2) for low, high in scale_ranges] if scale_ranges is not None else None
    )
    num_scales = len(area_ranges) if area_ranges is not None else 1
    mode = '11points' if use_07_metric else 'area'
    empty = np.zeros((0, dim), dtype=np.float32)
    results = []
    for label in range(num_classes):
        tps, fps, scores = [], [], []
        num_gts = np.zeros(num_scales, dtype=int)
        for dets, ann in zip(det_results, annotations):
            gts = np.asarray(ann.get('bboxes', empty), np.float32).reshape(-1, dim)
            gt_labels = np.asarray(ann.get('labels', []), int).reshape(-1)
            ignore = np.asarray(ann.get('bboxes_ignore', empty), np.float32).reshape(-1, dim)
            ignore_labels = np.asarray(ann.get('labels_ignore', []), int).reshape(-1)
            cls_gts = gts[gt_labels == label]
            cls_dets = np.asarray(dets[label], np.float32).reshape(-1, dim + 1)
            tp, fp = tpfp_rotated(
                cls_dets, cls_gts, ignore[ignore_labels == label], iou_thr, box_type, area_ranges
            )
            tps.append(tp)
            fps.append(fp)
            scores.append(cls_dets[:, -1])
            if area_ranges is None:
                num_gts[0] += len(cls_gts)
            else:
                areas = box_areas(cls_gts, box_type)
                for k, (low, high) in enumerate(area_ranges):
                    num_gts[k] += int(((areas >= low) & (areas < high)).sum())
        order = np.argsort(-np.concatenate(scores), kind='stable')
        tp = np.cumsum(np.hstack(tps)[:, order], axis=1)
        fp = np.cumsum(np.hstack(fps)[:, order], axis=1)
        eps = np.finfo(np.float32).eps
        recalls = tp / np.maximum(num_gts[:, None], eps)
        precisions = tp / np.maximum(tp + fp, eps)
        if area_ranges is None:
            recalls, precisions, num_gts = recalls[0], precisions[0], int(num_gts[0])
        results.append(
            dict(
                num_gts=num_gts,
                num_dets=len(order),
                recall=recalls,
                precision=precisions,
                ap=average_precision(recalls, precisions, mode),
            )
        )
    mean_ap = _mean_ap(results, num_scales, area_ranges is not None)
    print_map_summary(mean_ap, results, dataset, area_ranges, logger)
    return mean_ap, results


def _mean_ap(results: List[Dict], num_scales: int, per_scale: bool) -> Union[float, List[float]]:
    """Mean over classes with ground truth (0 when none has)."""
    aps = np.array([np.atleast_1d(r['ap']) for r in results], dtype=np.float64).reshape(
        len(results), num_scales
    )
    num_gts = np.array([np.atleast_1d(r['num_gts']) for r in results]).reshape(
        len(results), num_scales
    )
    means = [
        float(aps[num_gts[:, k] > 0, k].mean()) if (num_gts[:, k] > 0).any() else 0.0
        for k in range(num_scales)
    ]
    return means if per_scale else means[0]


def print_map_summary(
    mean_ap: Union[float, List[float]],
    results: List[Dict],
    dataset: Optional[Sequence[str]] = None,
    area_ranges: Optional[Sequence[Tuple[float, float]]] = None,
    logger: Union[str, object, None] = None,
) -> None:
    """Log a table of gts, dets, recall and AP per class, and the mAP."""
    if logger == 'silent':
        return
    names = list(dataset) if dataset is not None else [str(i) for i in range(len(results))]
    means = mean_ap if isinstance(mean_ap, list) else [mean_ap]
    for k, mean in enumerate(means):
        if area_ranges is not None:
            print_log(f'Area range {area_ranges[k]}', logger=logger)
        rows = [['class', 'gts', 'dets', 'recall', 'ap']]
        for name, result in zip(names, results):
            recall = np.atleast_2d(result['recall'])[k]
            rows.append(
                [
                    name,
                    int(np.atleast_1d(result['num_gts'])[k]),
                    result['num_dets'],
                    f'{recall[-1] if recall.size else 0.0:.3f}',
                    f'{float(np.atleast_1d(result["ap"])[k]):.3f}',
                ]
            )
        rows.append(['mAP', '', '', '', f'{mean:.3f}'])
        table = AsciiTable(rows)
        table.inner_footing_row_border = True
        print_log('\n' + table.table, logger=logger)
