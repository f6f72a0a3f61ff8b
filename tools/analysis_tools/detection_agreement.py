"""Agreement of two sets of detections (e.g. PyTorch vs an exported model) on one image."""
from typing import Dict

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
    clipped.bboxes = torch.stack([boxes[:, 0], boxes[:, 1], boxes[:, 2].clamp(max=width - 1),
                                  boxes[:, 3].clamp(max=height - 1)], dim=1)
    return clipped


def match_detections(reference: InstanceData, other: InstanceData,
                     score_floor: float = 0.3, min_mask_area: int = 64) -> Dict[str, float]:
    """Match ``other``'s detections to ``reference``'s (same label, highest IoU, greedily by
    reference score) and measure the agreement of those scoring at least ``score_floor``.

    Returns:
        ``compared`` (reference detections scoring >= ``score_floor``), ``matched`` (of those,
        matched at IoU >= 0.5), ``min_iou`` and ``max_score_diff`` over the matched,
        ``unmatched_other`` (``other`` detections scoring >= ``score_floor`` + 1e-3 without a
        match), ``min_mask_iou`` (with ``masks`` in both, over reference masks of at least
        ``min_mask_area`` pixels, where one pixel more or less is < 2 %; 1.0 otherwise).
    """
    ref_boxes, other_boxes = _boxes(reference), _boxes(other)
    ious = (_overlaps(ref_boxes, other_boxes) if len(ref_boxes) and len(other_boxes)
            else ref_boxes.new_zeros((len(ref_boxes), len(other_boxes))))
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
    stats = dict(compared=int((reference.scores >= score_floor).sum()), matched=len(matches),
                 min_iou=1.0, max_score_diff=0.0, min_mask_iou=1.0)
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
    strong = other.scores >= score_floor + 1e-3
    stats['unmatched_other'] = int((strong & ~taken).sum())
    return stats


def detection_disagreements(reference: InstanceData, other: InstanceData, top_k: int = 60,
                            min_iou: float = 0.99, max_score_diff: float = 1e-3,
                            min_mask_iou: float = 0.98, min_compared: int = 10):
    """Check that ``other`` reproduces the ``top_k`` best detections of ``reference`` (those
    scoring at least 0.05): every one matched at IoU >= ``min_iou`` with a score within
    ``max_score_diff`` (and masks at IoU >= ``min_mask_iou``), and no unmatched detection of
    ``other`` above them.

    Returns:
        (stats of :func:`match_detections`, list of what disagrees; empty when all agree).
    """
    scores = reference.scores.sort(descending=True).values
    floor = max(0.05, float(scores[min(top_k, len(scores)) - 1])) if len(scores) else 0.05
    stats = match_detections(reference, other, floor)
    problems = []
    if stats['compared'] < min_compared:
        problems.append(f"only {stats['compared']} detections to compare (< {min_compared})")
    if stats['matched'] != stats['compared']:
        problems.append(f"{stats['compared'] - stats['matched']} reference detections unmatched")
    if stats['unmatched_other']:
        problems.append(f"{stats['unmatched_other']} extra detections")
    if stats['min_iou'] < min_iou:
        problems.append(f"box IoU {stats['min_iou']:.4f} < {min_iou}")
    if stats['max_score_diff'] > max_score_diff:
        problems.append(f"score difference {stats['max_score_diff']:.2e} > {max_score_diff}")
    if stats['min_mask_iou'] < min_mask_iou:
        problems.append(f"mask IoU {stats['min_mask_iou']:.4f} < {min_mask_iou}")
    return stats, problems
