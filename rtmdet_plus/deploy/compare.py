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


def match_detections(reference: InstanceData, other: InstanceData,
                     score_floor: float = 0.3) -> Dict[str, float]:
    """Match ``other``'s detections to ``reference``'s (same label, highest IoU, greedily by
    reference score) and measure the agreement of those scoring at least ``score_floor``.

    Returns:
        ``compared`` (reference detections scoring >= ``score_floor``), ``matched`` (of those,
        matched at IoU >= 0.5), ``min_iou`` and ``max_score_diff`` over the matched,
        ``unmatched_other`` (``other`` detections scoring >= ``score_floor`` + 1e-3 without a
        match), ``min_mask_iou`` (with ``masks`` in both; 1.0 otherwise).
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
            stats['min_mask_iou'] = float(mask_iou.min())
    strong = other.scores >= score_floor + 1e-3
    stats['unmatched_other'] = int((strong & ~taken).sum())
    return stats
