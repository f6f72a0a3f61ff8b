"""Greedy rotated NMS whose IoUs come from :func:`rbox_overlaps` (CPU and GPU).

mmcv 2.1.0's CPU ``nms_rotated`` computes IoU with the same flaw as its ``box_iou_rotated``:
pairs with nearly collinear edges (near-identical boxes, the very duplicates NMS should remove)
can get any IoU from 0 to 1, so duplicates survive (505 of 1000 kept for 500 boxes each doubled
1e-7 rad apart). Here the greedy loop is ours and every IoU is :func:`rbox_overlaps`', which
recomputes such pairs exactly.

Work is bounded like mmcv's greedy loop: boxes are taken in blocks in score order; a block is
first checked against the boxes kept so far, then greedily against itself, and IoUs are computed
only for pairs whose enclosing horizontal boxes meet (the others have IoU 0) and, unless class
agnostic, that share a label.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

from .box_converters import rbox2hbox
from .rotated_overlaps import MIN_SIDE, rbox_overlaps

BLOCK = 256  # boxes per greedy block
PAIR_CHUNK = 1 << 16  # IoU pairs per rbox_overlaps call (bounds memory)
NMS_CFG_KEYS = ('type', 'iou_threshold', 'class_agnostic', 'split_thr')
NMS_TYPES = ('nms_rotated', 'rtmdet_plus.nms_rotated')


def _pairs_over(
    boxes: Tensor,
    hboxes: Tensor,
    labels: Optional[Tensor],
    first: Tensor,
    second: Tensor,
    iou_threshold: float,
    upper: bool,
) -> Tuple[Tensor, Tensor]:
    """Pairs (i, j) of positions in ``first`` x ``second`` whose IoU exceeds the threshold.

    Only pairs whose horizontal boxes meet (and labels agree) are measured; ``upper`` keeps
    j > i only (``first`` is ``second``)."""
    hb1, hb2 = hboxes[first][:, None], hboxes[second][None]
    meet = (
        (hb1[..., 0] <= hb2[..., 2])
        & (hb2[..., 0] <= hb1[..., 2])
        & (hb1[..., 1] <= hb2[..., 3])
        & (hb2[..., 1] <= hb1[..., 3])
    )
    if labels is not None:
        meet &= labels[first][:, None] == labels[second][None]
    if upper:
        meet = torch.triu(meet, diagonal=1)
    rows, cols = meet.nonzero(as_tuple=True)
    over = torch.zeros(rows.numel(), dtype=torch.bool, device=boxes.device)
    for start in range(0, rows.numel(), PAIR_CHUNK):
        part = slice(start, start + PAIR_CHUNK)
        ious = rbox_overlaps(boxes[first[rows[part]]], boxes[second[cols[part]]], is_aligned=True)
        over[part] = ious > iou_threshold
    return rows[over], cols[over]


def rbox_nms(
    boxes: Tensor, scores: Tensor, iou_threshold: float, labels: Optional[Tensor] = None
) -> Tensor:
    """Greedy NMS of rotated boxes: a box is dropped when its IoU with a kept box of higher
    score (and, with ``labels``, the same label) is above ``iou_threshold``.

    Args:
        boxes: (N, 5) rotated boxes cx, cy, w, h, angle in radians.
        scores: (N,) scores; ties keep the lower index first.
        iou_threshold: in [0, 1].
        labels: optional (N,) class labels for class-aware NMS.

    Returns:
        (K,) long indices of the kept boxes, highest score first.
    """
    if boxes.dim() != 2 or boxes.size(-1) != 5:
        raise ValueError(
            f'rbox_nms needs (N, 5) rotated boxes (cx, cy, w, h, angle), got '
            f'shape {tuple(boxes.shape)}'
        )
    if scores.shape != boxes.shape[:1] or (labels is not None and labels.shape != boxes.shape[:1]):
        raise ValueError(
            f'rbox_nms: scores {tuple(scores.shape)} and labels '
            f'{None if labels is None else tuple(labels.shape)} must be '
            f'({boxes.size(0)},), one per box'
        )
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f'rbox_nms: iou_threshold must be in [0, 1], got {iou_threshold}')
    order = scores.detach().argsort(descending=True, stable=True)
    boxes = boxes.detach()[order].float()
    labels = None if labels is None else labels[order]
    sides = boxes.clone()
    sides[:, 2:4].clamp_(min=MIN_SIDE)  # as rbox_overlaps measures them
    hboxes = rbox2hbox(sides)
    hboxes[:, :2] -= MIN_SIDE
    hboxes[:, 2:] += MIN_SIDE
    kept = order.new_zeros(0)  # positions in score order
    for start in range(0, boxes.size(0), BLOCK):
        block = torch.arange(start, min(start + BLOCK, boxes.size(0)), device=boxes.device)
        if kept.numel():
            _, hit = _pairs_over(boxes, hboxes, labels, kept, block, iou_threshold, False)
            alive = torch.ones(block.numel(), dtype=torch.bool, device=boxes.device)
            alive[hit] = False
            block = block[alive]
        rows, cols = _pairs_over(boxes, hboxes, labels, block, block, iou_threshold, True)
        if rows.numel():
            over = torch.zeros(block.numel(), block.numel(), dtype=torch.bool, device=boxes.device)
            over[rows, cols] = True
            suppressed = torch.zeros(block.numel(), dtype=torch.bool, device=boxes.device)
            for row in rows.unique().tolist():
                if not suppressed[row]:
                    suppressed |= over[row]
            block = block[~suppressed]
        kept = torch.cat([kept, block])
    return order[kept]


def batched_rbox_nms(
    boxes: Tensor, scores: Tensor, labels: Tensor, nms_cfg: dict
) -> Tuple[Tensor, Tensor]:
    """Class-aware rotated NMS with mmcv ``batched_nms``'s interface.

    Args:
        boxes: (N, 5) rotated boxes; scores: (N,); labels: (N,) class labels.
        nms_cfg: ``dict(type='nms_rotated', iou_threshold=..., class_agnostic=False)``
            (``split_thr`` is accepted and has no effect: classes are never mixed).

    Returns:
        (K, 6) kept boxes with their score appended, highest score first, and (K,) their
        indices.
    """
    unknown = sorted(set(nms_cfg) - set(NMS_CFG_KEYS))
    if unknown or nms_cfg.get('type', 'nms_rotated') not in NMS_TYPES:
        raise ValueError(
            f'rotated NMS config {dict(nms_cfg)!r}: use dict(type=\'nms_rotated\', '
            f'iou_threshold=..., class_agnostic=False); unknown keys: {unknown}'
        )
    if 'iou_threshold' not in nms_cfg:
        raise ValueError(f'rotated NMS config {dict(nms_cfg)!r} needs iou_threshold')
    keep = rbox_nms(
        boxes,
        scores,
        float(nms_cfg['iou_threshold']),
        None if nms_cfg.get('class_agnostic', False) else labels,
    )
    return torch.cat([boxes[keep], scores[keep, None]], dim=-1), keep
