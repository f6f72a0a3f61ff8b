"""Agreement of two sets of detections (e.g. PyTorch vs an exported model) on one image."""

from typing import Dict, Optional

import torch
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from rtmdet_plus.structures import rbox_overlaps


def _boxes(instances: InstanceData) -> Tensor:
    boxes = instances.bboxes
    return (boxes.tensor if hasattr(boxes, 'tensor') else boxes).float()


def _overlaps(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    if boxes_a.shape[-1] == 5:
        return rbox_overlaps(boxes_a, boxes_b)
    return bbox_overlaps(boxes_a, boxes_b)


def clipped_like_sdk(instances: InstanceData, image_shape) -> InstanceData:
    """A copy of horizontal detections with x2, y2 clipped at (width - 1, height - 1) of the
    (H, W) original image, as the MMDeploy SDK's ``ResizeBBox`` / ``ResizeInstanceMask`` clip
    them (PyTorch and our graphs clip at (width, height))."""
    height, width = image_shape[:2]
    boxes = _boxes(instances)
    clipped = instances.clone()
    clipped.bboxes = torch.stack(
        [
            boxes[:, 0],
            boxes[:, 1],
            boxes[:, 2].clamp(max=width - 1),
            boxes[:, 3].clamp(max=height - 1),
        ],
        dim=1,
    )
    return clipped


def _nms_ties(
    boxes: Tensor,
    labels: Tensor,
    scores: Tensor,
    against: InstanceData,
    nms_iou_thr: float,
    margin: float,
) -> Tensor:
    """(N,) bool: which of the N detections overlap a detection of ``against`` with the same
    label and a score at least theirs (less 1e-3) at an IoU within ``margin`` of the NMS
    threshold, where float noise decides which of the two NMS keeps."""
    if not len(boxes) or not len(against.scores):
        return torch.zeros(len(boxes), dtype=torch.bool)
    ious = _overlaps(boxes, _boxes(against))
    rivals = (labels[:, None] == against.labels[None, :]) & (
        against.scores[None, :] >= scores[:, None] - 1e-3
    )
    return (rivals & ((ious - nms_iou_thr).abs() <= margin)).any(1)


def match_detections(
    reference: InstanceData,
    other: InstanceData,
    score_floor: float = 0.3,
    min_mask_area: int = 64,
    nms_iou_thr: Optional[float] = None,
    nms_margin: float = 0.01,
) -> Dict[str, float]:
    """Match ``other``'s detections to ``reference``'s (same label, highest IoU, greedily by
    reference score) and measure the agreement of those scoring at least ``score_floor``.
    With ``nms_iou_thr``, an unmatched detection on either side that ties at the NMS boundary
    (:func:`_nms_ties`) is counted in ``nms_ties`` instead of as unmatched.

    Returns:
        ``compared`` (reference detections scoring >= ``score_floor``), ``matched`` (of those,
        matched at IoU >= 0.5), ``min_iou`` and ``max_score_diff`` over the matched,
        ``unmatched_other`` (``other`` detections scoring >= ``score_floor`` + 1e-3 without a
        match), ``min_mask_iou`` (with ``masks`` in both, over reference masks of at least
        ``min_mask_area`` pixels, where one pixel more or less is < 2 %; 1.0 otherwise),
        ``nms_ties``.
    """
    ref_boxes, other_boxes = _boxes(reference), _boxes(other)
    ious = (
        _overlaps(ref_boxes, other_boxes)
        if len(ref_boxes) and len(other_boxes)
        else ref_boxes.new_zeros((len(ref_boxes), len(other_boxes)))
    )
    ious = ious * (reference.labels[:, None] == other.labels[None, :])
    taken = torch.zeros(len(other_boxes), dtype=torch.bool)
    matches = {}
    for ref in reference.scores.argsort(descending=True).tolist():
        if reference.scores[ref] < score_floor:
            break
        candidates = ious[ref].masked_fill(taken, -1)
        if len(candidates) and candidates.max() >= 0.5:
            best = int(candidates.argmax())
            taken[best] = True
            matches[ref] = best
    compared = reference.scores >= score_floor
    ref_unmatched = compared.clone()
    ref_unmatched[list(matches)] = False
    other_unmatched = (other.scores >= score_floor + 1e-3) & ~taken
    ref_ties = other_ties = torch.zeros(0, dtype=torch.bool)
    if nms_iou_thr is not None:
        ref_ties = ref_unmatched & _nms_ties(
            ref_boxes, reference.labels, reference.scores, other, nms_iou_thr, nms_margin
        )
        other_ties = other_unmatched & _nms_ties(
            other_boxes, other.labels, other.scores, reference, nms_iou_thr, nms_margin
        )
        other_unmatched &= ~other_ties
    stats = dict(
        compared=int(compared.sum() - ref_ties.sum()),
        matched=len(matches),
        min_iou=1.0,
        max_score_diff=0.0,
        min_mask_iou=1.0,
        nms_ties=int(ref_ties.sum() + other_ties.sum()),
    )
    if matches:
        refs, others = torch.tensor(list(matches)), torch.tensor(list(matches.values()))
        stats['min_iou'] = float(ious[refs, others].min())
        stats['max_score_diff'] = float((reference.scores[refs] - other.scores[others]).abs().max())
        if 'masks' in reference and 'masks' in other:
            ref_masks = reference.masks[refs].flatten(1).bool()
            other_masks = other.masks[others].flatten(1).bool()
            inter = (ref_masks & other_masks).sum(1).float()
            union = (ref_masks | other_masks).sum(1).float()
            mask_iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
            large = ref_masks.sum(1) >= min_mask_area
            if large.any():
                stats['min_mask_iou'] = float(mask_iou[large].min())
    stats['unmatched_other'] = int(other_unmatched.sum())
    return stats


def detection_disagreements(
    reference: InstanceData,
    other: InstanceData,
    top_k: int = 60,
    min_iou: float = 0.99,
    max_score_diff: float = 1e-3,
    min_mask_iou: float = 0.98,
    min_compared: int = 10,
    nms_iou_thr: Optional[float] = None,
):
    """Check that ``other`` reproduces the ``top_k`` best detections of ``reference`` (those
    scoring at least 0.05): every one matched at IoU >= ``min_iou`` with a score within
    ``max_score_diff`` (and masks at IoU >= ``min_mask_iou``), and no unmatched detection of
    ``other`` above them. With the models' ``nms_iou_thr``, a few detections that tie at the
    NMS boundary (at most 2, or 5 % of those compared) may be kept on one side only.

    Returns:
        (stats of :func:`match_detections`, list of what disagrees; empty when all agree).
    """
    scores = reference.scores.sort(descending=True).values
    floor = max(0.05, float(scores[min(top_k, len(scores)) - 1])) if len(scores) else 0.05
    stats = match_detections(reference, other, floor, nms_iou_thr=nms_iou_thr)
    problems = []
    if stats['compared'] < min_compared:
        problems.append(f"only {stats['compared']} detections to compare (< {min_compared})")
    if stats['matched'] != stats['compared']:
        problems.append(f"{stats['compared'] - stats['matched']} reference detections unmatched")
    if stats['unmatched_other']:
        problems.append(f"{stats['unmatched_other']} extra detections")
    if stats['nms_ties'] > max(2, stats['compared'] // 20):
        problems.append(
            f"{stats['nms_ties']} detections tie at the NMS boundary (too many to be float noise)"
        )
    if stats['min_iou'] < min_iou:
        problems.append(f"box IoU {stats['min_iou']:.4f} < {min_iou}")
    if stats['max_score_diff'] > max_score_diff:
        problems.append(f"score difference {stats['max_score_diff']:.2e} > {max_score_diff}")
    if stats['min_mask_iou'] < min_mask_iou:
        problems.append(f"mask IoU {stats['min_mask_iou']:.4f} < {min_mask_iou}")
    return stats, problems
