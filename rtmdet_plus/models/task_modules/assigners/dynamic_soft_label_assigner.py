"""Dynamic soft-label assignment of RTMDet (paper Sec. 3.3).

The cost of matching prior p to ground truth g is

    cost[p, g] = soft_cls_cost[p, g] + iou_weight * -log(IoU[p, g] + eps) + 10 ** (d[p, g] - r)

where d is the distance between the prior and the ground-truth centre in units of the prior's
stride and r the soft-centre radius. Each ground truth then takes its ``k`` cheapest priors, with
``k = max(1, int(sum of its top-``topk`` IoUs))``; a prior claimed twice keeps its cheapest.
Only priors whose centre lies inside at least one ground-truth box take part.

Boxes are horizontal (x1, y1, x2, y2) or rotated (cx, cy, w, h, angle in radians, RTMDet-R, with
``iou_calculator=dict(type='RBboxOverlaps2D')``); the box format follows the last dimension.
"""

from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmengine.structures import InstanceData
from torch import Tensor

from rtmdet_plus.registry import TASK_UTILS
from rtmdet_plus.structures import masks_as_tensor

EPS = 1e-7
INF = 100000000.0
# margin (pixels) of the point-in-rotated-box test, as RotatedBoxes.find_inside_points
ROTATED_INSIDE_EPS = 0.01


def soft_label_cost(pred_logits: Tensor, gt_labels: Tensor, ious: Tensor) -> Tensor:
    """Soft-label classification cost summed over all classes, in O(P x G) memory.

    For a pair (p, g) the soft label is ``IoU[p, g]`` at the class of g and 0 at every other
    class. The classes other than g's add a term that depends on p only, so the sum over all
    classes is ``others[p, c_g] + term(x[p, c_g], IoU[p, g])`` with
    ``others[p, c] = sum_c' term(x[p, c'], 0) - term(x[p, c], 0)``; no (P, G, C) tensor is built.
    ``term(x, y) = BCE(x, y) * (y - sigmoid(x)) ** 2`` with ``BCE(x, y) = softplus(x) - x * y``.

    Args:
        pred_logits: (..., P, C) classification logits of the priors.
        gt_labels: (..., G) class index of each ground truth (long).
        ious: (..., P, G) IoU between the priors' predicted boxes and the ground truths.

    Returns:
        (..., P, G) cost.
    """
    softplus = F.softplus(pred_logits)
    probs = pred_logits.sigmoid()
    term_at_zero = softplus * probs.square()
    others = term_at_zero.sum(-1, keepdim=True) - term_at_zero

    index = gt_labels.unsqueeze(-2).expand(*ious.shape)
    logits = pred_logits.gather(-1, index)
    bce = softplus.gather(-1, index) - logits * ious
    return others.gather(-1, index) + bce * (ious - probs.gather(-1, index)).square()


def soft_center_prior(
    prior_centers: Tensor, prior_strides: Tensor, gt_centers: Tensor, radius: float
) -> Tensor:
    """``10 ** (distance / stride - radius)`` for every prior and ground truth.

    Args:
        prior_centers: (..., P, 2) prior centres, x y in input pixels.
        prior_strides: (..., P) stride of each prior's level, in pixels.
        gt_centers: (..., G, 2) ground-truth centres, x y in input pixels.

    Returns:
        (..., P, G) prior cost, 10 ** -radius at the centre growing tenfold per stride.
    """
    dx = prior_centers[..., :, None, 0] - gt_centers[..., None, :, 0]
    dy = prior_centers[..., :, None, 1] - gt_centers[..., None, :, 1]
    distance = (dx * dx + dy * dy).sqrt()
    return torch.pow(10, distance / prior_strides.unsqueeze(-1) - radius)


def mask_centers(masks: Tensor) -> Tensor:
    """(G, H, W) binary masks -> (G, 2) centres of mass as x y pixel indices."""
    masks = masks.float()
    height, width = masks.shape[-2:]
    rows = torch.arange(height, device=masks.device, dtype=masks.dtype)
    cols = torch.arange(width, device=masks.device, dtype=masks.dtype)
    total = masks.sum(dim=(-2, -1)).clamp(min=EPS)
    center_x = (masks.sum(-2) * cols).sum(-1) / total
    center_y = (masks.sum(-1) * rows).sum(-1) / total
    return torch.stack([center_x, center_y], dim=-1)


def dynamic_k_matching(cost: Tensor, ious: Tensor, topk: int) -> Tuple[Tensor, Tensor]:
    """Pick each ground truth's ``k`` cheapest priors and resolve priors claimed twice.

    Args:
        cost: (P, G) matching cost.
        ious: (P, G) IoUs; the sum of a column's ``topk`` largest gives its k.
        topk: candidates used for the dynamic k.

    Returns:
        matched_gt: (P,) index of the matched ground truth, -1 for unmatched priors.
        matched_iou: (P,) IoU with the matched ground truth, 0 for unmatched priors.
    """
    num_priors, num_gts = cost.shape
    candidates = min(topk, num_priors)
    dynamic_ks = ious.topk(candidates, dim=0).values.sum(0).int().clamp(min=1)
    matching = torch.zeros_like(cost, dtype=torch.bool)
    for gt_index in range(num_gts):
        chosen = cost[:, gt_index].topk(int(dynamic_ks[gt_index]), largest=False).indices
        matching[chosen, gt_index] = True
    claimed_twice = matching.sum(1) > 1
    if claimed_twice.any():
        cheapest = cost[claimed_twice].argmin(1)
        matching[claimed_twice] = False
        matching[claimed_twice.nonzero().squeeze(1), cheapest] = True
    matched = matching.any(1)
    matched_gt = torch.where(
        matched, matching.int().argmax(1), torch.full_like(matched, -1, dtype=torch.long)
    )
    matched_iou = (matching * ious).sum(1)
    return matched_gt, matched_iou


class BatchAssignment(NamedTuple):
    """Assignment of a padded batch.

    Attributes:
        gt_index: (B, P) index of the matched ground truth in its image, -1 for background.
        labels: (B, P) class of the matched ground truth, -1 for background.
        ious: (B, P) IoU of the prediction with its matched ground truth, 0 for background.
    """

    gt_index: Tensor
    labels: Tensor
    ious: Tensor


def points_inside_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """(P, 2) points and (..., G, 4) boxes -> (..., P, G): point strictly inside the box.
    (..., G, 5) rotated boxes go to :func:`points_inside_rboxes`."""
    if boxes.size(-1) == 5:
        return points_inside_rboxes(points, boxes)
    x = points[:, 0, None]
    y = points[:, 1, None]
    x1, y1, x2, y2 = (boxes[..., None, :, i] for i in range(4))
    return (x > x1) & (y > y1) & (x < x2) & (y < y2)


def points_inside_rboxes(points: Tensor, rboxes: Tensor, eps: float = ROTATED_INSIDE_EPS) -> Tensor:
    """(P, 2) points and (..., G, 5) rotated boxes (cx, cy, w, h, angle) -> (..., P, G): the
    point lies inside the box at least ``eps`` pixels from every side (``RotatedBoxes``' test,
    as mmrotate's)."""
    rboxes = rboxes[..., None, :, :]  # (..., 1, G, 5)
    dx = points[:, 0, None] - rboxes[..., 0]
    dy = points[:, 1, None] - rboxes[..., 1]
    cos, sin = torch.cos(rboxes[..., 4]), torch.sin(rboxes[..., 4])
    along = cos * dx + sin * dy
    across = -sin * dx + cos * dy
    return (along.abs() <= rboxes[..., 2] / 2 - eps) & (across.abs() <= rboxes[..., 3] / 2 - eps)


def box_centers(boxes: Tensor) -> Tensor:
    """(..., 4) x1y1x2y2 or (..., 5) rotated boxes -> (..., 2) centres."""
    if boxes.size(-1) == 5:
        return boxes[..., :2]
    return (boxes[..., :2] + boxes[..., 2:]) / 2.0


def pairwise_ious(iou_calculator, boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """(B, P, D) and (B, G, D) boxes -> (B, P, G) IoUs. Horizontal calculators take the batch
    at once; rotated ones (mmcv's op is 2-D only) go image by image."""
    if boxes1.size(-1) == 4:
        return iou_calculator(boxes1, boxes2)
    return torch.stack([iou_calculator(one, two) for one, two in zip(boxes1, boxes2)])


def gather_rows(values: Tensor, index: Tensor) -> Tensor:
    """(B, P, D) values, (B, N) row indices -> (B, N, D) ``values[b, index[b, n]]``."""
    return values.gather(1, index[..., None].expand(-1, -1, values.size(-1)))


def cheapest_priors(
    cost: Tensor, num_matches_wanted: Tensor, num_candidates: Tensor
) -> Tuple[Tensor, Tensor, Tensor]:
    """Each ground truth's ``k`` cheapest candidate priors, as (image, slot, ground truth) triples.

    ``torch.topk`` breaks ties by its algorithm, which depends on ``k`` and the length of the
    column (a partial sort when ``64 k <= n``, else a selection). Ties happen (two far priors
    whose costs round to the same float32), so, as :func:`dynamic_k_matching` and mmdet do, every
    ground truth's column is cut to its image's candidates and searched with its own ``k``: one
    ``topk`` per image and distinct ``k`` (at most ``topk`` of them), not per ground truth.

    Args:
        cost: (B, N, G) cost over candidate slots.
        num_matches_wanted: (B, G) k of every ground truth, 0 for padding.
        num_candidates: (B,) candidate slots in use in each image (the first ones).
    """
    images, slots, gts = [], [], []
    for img in range(cost.size(0)):
        count = int(num_candidates[img])
        wanted = num_matches_wanted[img]
        for k in wanted[wanted > 0].unique().tolist():
            columns = (wanted == k).nonzero().squeeze(1)
            chosen = cost[img, :count, columns].topk(k, dim=0, largest=False).indices  # (k, g)
            images.append(torch.full((chosen.numel(),), img, device=cost.device))
            slots.append(chosen.reshape(-1))
            gts.append(columns.repeat(k))
    if not slots:
        empty = num_candidates.new_zeros(0, dtype=torch.long)
        return empty, empty, empty
    return torch.cat(images), torch.cat(slots), torch.cat(gts)


def batched_dynamic_k_matching(
    cost: Tensor, ious: Tensor, num_matches_wanted: Tensor, num_candidates: Tensor
) -> Tuple[Tensor, Tensor]:
    """:func:`dynamic_k_matching` for a padded batch.

    Only the chosen (image, prior, ground truth) triples are handled, at most
    ``B x max(k) x G`` of them; no (B, P, G) matching matrix is built.

    Args:
        cost: (B, P, G) cost, ``inf`` where a prior or ground truth may not match.
        ious: (B, P, G) IoUs.
        num_matches_wanted: (B, G) k of every ground truth, 0 for padding.
        num_candidates: (B,) priors (slots) in use in each image, the first ones.

    Returns:
        matched_gt (B, P) with -1 for unmatched priors, matched_iou (B, P), 0 when unmatched.
    """
    batch_size, num_priors, num_gts = cost.shape
    matched_gt = cost.new_full((batch_size * num_priors,), -1, dtype=torch.long)
    matched_iou = cost.new_zeros(batch_size * num_priors)
    img, slot, gt = cheapest_priors(cost, num_matches_wanted, num_candidates)
    if slot.numel() == 0:
        return matched_gt.view(batch_size, num_priors), matched_iou.view(batch_size, num_priors)
    flat_prior = img * num_priors + slot
    matched_gt[flat_prior] = gt
    # A prior claimed by several ground truths keeps the cheapest of all of them.
    claims = torch.bincount(flat_prior, minlength=batch_size * num_priors)
    contested = (claims > 1).nonzero().squeeze(1)
    flat_cost = cost.view(batch_size * num_priors, num_gts)
    matched_gt[contested] = flat_cost[contested].argmin(-1)
    chosen = (matched_gt >= 0).nonzero().squeeze(1)
    matched_iou[chosen] = ious.view(-1, num_gts)[chosen, matched_gt[chosen]]
    return matched_gt.view(batch_size, num_priors), matched_iou.view(batch_size, num_priors)


@TASK_UTILS.register_module()
class DynamicSoftLabelAssigner(BaseAssigner):
    """RTMDet's dynamic soft-label assigner.

    Args:
        soft_center_radius: r of the soft centre prior.
        topk: candidates for each ground truth's dynamic k.
        iou_weight: weight of the ``-log(IoU)`` cost.
        iou_calculator: config of the pairwise IoU: ``BboxOverlaps2D`` (mmdet's) for
            horizontal boxes, ``RBboxOverlaps2D`` for rotated ones.
    """

    def __init__(
        self,
        soft_center_radius: float = 3.0,
        topk: int = 13,
        iou_weight: float = 3.0,
        iou_calculator=dict(type='BboxOverlaps2D'),
    ) -> None:
        self.soft_center_radius = soft_center_radius
        self.topk = topk
        self.iou_weight = iou_weight
        self.iou_calculator = TASK_UTILS.build(iou_calculator)

    def assign(
        self,
        pred_instances: InstanceData,
        gt_instances: InstanceData,
        gt_instances_ignore: Optional[InstanceData] = None,
        **kwargs,
    ) -> AssignResult:
        """Assign the priors of one image.

        Args:
            pred_instances: ``priors`` (P, 4) as cx, cy, stride_w, stride_h; ``bboxes`` (P, 4)
                decoded predictions x1y1x2y2 in input pixels, or (P, 5) rotated boxes;
                ``scores`` (P, C) logits.
            gt_instances: ``bboxes`` (G, 4) x1y1x2y2 or (G, 5) rotated (tensor or box type,
                e.g. ``RotatedBoxes``), ``labels`` (G,); optional ``masks`` (G, H, W), whose
                centres of mass then replace the box centres.

        Returns:
            mmdet ``AssignResult``: ``gt_inds`` (P,) 1-based matched ground truth, 0 for
            background; ``max_overlaps`` (P,) matched IoU, -INF for unmatched priors (0 for all
            when nothing can match); ``labels`` (P,) class or -1.
        """
        gt_bboxes = gt_instances.bboxes
        gt_labels = gt_instances.labels
        priors = pred_instances.priors
        num_priors, num_gts = priors.size(0), gt_bboxes.size(0)
        gt_inds = priors.new_zeros((num_priors,), dtype=torch.long)
        labels = priors.new_full((num_priors,), -1, dtype=torch.long)
        overlaps = priors.new_zeros((num_priors,))
        empty = AssignResult(num_gts, gt_inds, overlaps, labels=labels)
        if num_gts == 0 or num_priors == 0:
            return empty

        centers = priors[:, :2]
        if hasattr(gt_bboxes, 'find_inside_points'):
            inside = gt_bboxes.find_inside_points(centers)
        else:
            inside = points_inside_boxes(centers, gt_bboxes)
        candidates = inside.any(1)
        if not candidates.any():
            return empty

        if 'masks' in gt_instances:
            gt_centers = mask_centers(
                masks_as_tensor(gt_instances.masks, priors.device, torch.float32)
            )
        elif hasattr(gt_bboxes, 'centers'):
            gt_centers = gt_bboxes.centers
        else:
            gt_centers = box_centers(gt_bboxes)

        cand_priors = priors[candidates]
        ious = self.iou_calculator(pred_instances.bboxes[candidates], gt_bboxes)
        cost = (
            soft_label_cost(pred_instances.scores[candidates], gt_labels.long(), ious)
            - torch.log(ious + EPS) * self.iou_weight
            + soft_center_prior(
                cand_priors[:, :2], cand_priors[:, 2], gt_centers, self.soft_center_radius
            )
        )
        matched_gt, matched_iou = dynamic_k_matching(cost, ious, self.topk)

        positive = matched_gt >= 0
        cand_index = candidates.nonzero().squeeze(1)
        overlaps = torch.full_like(overlaps, -INF)
        pos_index = cand_index[positive]
        gt_inds[pos_index] = matched_gt[positive] + 1
        labels[pos_index] = gt_labels[matched_gt[positive]].long()
        overlaps[pos_index] = matched_iou[positive]
        return AssignResult(num_gts, gt_inds, overlaps, labels=labels)

    def batch_assign(
        self,
        priors: Tensor,
        pred_boxes: Tensor,
        pred_logits: Tensor,
        gt_boxes: Tensor,
        gt_labels: Tensor,
        gt_valid: Tensor,
        prior_valid: Optional[Tensor] = None,
        gt_centers: Optional[Tensor] = None,
    ) -> BatchAssignment:
        """Assign a whole batch at once; same result as :meth:`assign` image by image.

        Memory is O(B x P x G): the soft-label cost never builds a (P, G, classes) tensor, and
        only candidate priors (centre inside a ground truth of their image) are costed.

        Args:
            priors: (P, 4) cx, cy, stride_w, stride_h, shared by the batch.
            pred_boxes: (B, P, 4) decoded predictions x1y1x2y2, or (B, P, 5) rotated boxes
                cx, cy, w, h, angle (detached).
            pred_logits: (B, P, C) class logits (detached).
            gt_boxes: (B, G, 4) or (B, G, 5) ground truths padded to the largest count, in
                the format of ``pred_boxes``.
            gt_labels: (B, G) classes (any value at padding).
            gt_valid: (B, G) bool, False at padding.
            prior_valid: (B, P) bool, False for priors outside the padded image; None = all valid.
            gt_centers: (B, G, 2) centres to use instead of the box centres (mask centroids).
        """
        batch_size, num_priors = pred_boxes.shape[:2]
        labels_out = torch.full(
            (batch_size, num_priors), -1, dtype=torch.long, device=priors.device
        )
        if gt_boxes.size(1) == 0 or num_priors == 0:
            return BatchAssignment(
                labels_out.clone(), labels_out, pred_boxes.new_zeros(batch_size, num_priors)
            )
        gt_labels = gt_labels.long().clamp(min=0)
        inside = points_inside_boxes(priors[:, :2], gt_boxes) & gt_valid[:, None, :]  # (B, P, G)
        candidates = inside.any(-1)  # (B, P)
        if prior_valid is not None:
            candidates &= prior_valid
        if gt_centers is None:
            gt_centers = box_centers(gt_boxes)
        # Only candidate priors are costed: each image's candidates are gathered to the front,
        # (B, N) slots with N the largest candidate count, slots past an image's count padded.
        num_candidates = candidates.sum(1)  # (B,)
        num_slots = int(num_candidates.max())
        if num_slots == 0:
            return BatchAssignment(
                labels_out.clone(), labels_out, pred_boxes.new_zeros(batch_size, num_priors)
            )
        slot_prior = torch.argsort((~candidates).to(torch.uint8), dim=1, stable=True)[:, :num_slots]
        slot_valid = (
            torch.arange(num_slots, device=priors.device) < num_candidates[:, None]
        )  # (B, N)
        slot_priors = priors[slot_prior]  # (B, N, 4)
        ious = pairwise_ious(self.iou_calculator, gather_rows(pred_boxes, slot_prior), gt_boxes)
        cost = (
            soft_label_cost(gather_rows(pred_logits, slot_prior), gt_labels, ious)
            - torch.log(ious + EPS) * self.iou_weight
            + soft_center_prior(
                slot_priors[..., :2], slot_priors[..., 2], gt_centers, self.soft_center_radius
            )
        )
        # inf for pairs that may not match: padded slots, padded ground truths.
        inf = cost.new_tensor(float('inf'))
        cost += (
            torch.where(slot_valid, 0.0, inf)[:, :, None]
            + torch.where(gt_valid, 0.0, inf)[:, None, :]
        )
        # k of each ground truth from the top-k IoUs among its image's candidate priors.
        candidate_ious = ious * slot_valid[:, :, None]
        num_wanted = (
            candidate_ious.topk(min(self.topk, num_slots), dim=1).values.sum(1).int().clamp(min=1)
        )
        num_wanted *= gt_valid & candidates.any(1, keepdim=True)
        slot_gt, slot_iou = batched_dynamic_k_matching(cost, ious, num_wanted, num_candidates)
        # Back from slots to priors (padded slots carry -1 / 0 onto non-candidate priors).
        matched_gt = labels_out.clone().scatter_(1, slot_prior, slot_gt)
        matched_iou = pred_boxes.new_zeros(batch_size, num_priors).scatter_(1, slot_prior, slot_iou)
        positive = matched_gt >= 0
        labels = torch.where(positive, gt_labels.gather(1, matched_gt.clamp(min=0)), labels_out)
        return BatchAssignment(matched_gt, labels, matched_iou)
