"""DynamicSoftLabelAssigner with rotated boxes (RTMDet-R): the same assignment as mmdet 3.3.0's
assigner given our rotated IoU (how mmrotate 1.x runs it), batched equal to image by image,
and at angle 0 equal to the horizontal assignment."""

import math

import pytest
import torch
from mmdet.models.task_modules.assigners import DynamicSoftLabelAssigner as ReferenceAssigner
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from rtmdet_plus.models.dense_heads.rtmdet_head import pad_ground_truth
from rtmdet_plus.models.task_modules import RBboxOverlaps2D
from rtmdet_plus.models.task_modules.assigners.dynamic_soft_label_assigner import (
    DynamicSoftLabelAssigner,
    points_inside_rboxes,
)
from rtmdet_plus.structures.bbox import RotatedBoxes

ROTATED_IOU = dict(type='RBboxOverlaps2D')


pytestmark = pytest.mark.usefixtures('one_thread', 'rtmdet_plus_scope')


def grid_priors(size: int, strides=(8, 16, 32)) -> torch.Tensor:
    """(P, 4) cx, cy, stride, stride of a ``size`` x ``size`` input (offset 0)."""
    priors = []
    for stride in strides:
        ys, xs = torch.meshgrid(
            torch.arange(0, size, stride), torch.arange(0, size, stride), indexing='ij'
        )
        points = torch.stack([xs.flatten(), ys.flatten()], 1).float()
        priors.append(torch.cat([points, torch.full_like(points, stride)], 1))
    return torch.cat(priors)


def random_rotated_case(seed: int, num_gts: int, num_classes: int = 15, size: int = 192):
    """Rotated ground truths and rotated predictions around every prior, any angle."""
    gen = torch.Generator().manual_seed(seed)
    priors = grid_priors(size)
    gt = torch.cat(
        [
            torch.rand(num_gts, 2, generator=gen) * size,
            (torch.rand(num_gts, 2, generator=gen) * 0.4 + 0.05) * size,
            (torch.rand(num_gts, 1, generator=gen) - 0.5) * math.pi,
        ],
        1,
    )
    pred = torch.cat(
        [
            priors[:, :2] + torch.randn(len(priors), 2, generator=gen) * 4,
            torch.rand(len(priors), 2, generator=gen) * 60 + 2,
            (torch.rand(len(priors), 1, generator=gen) - 0.5) * math.pi,
        ],
        1,
    )
    scores = torch.randn(len(priors), num_classes, generator=gen) * 2 - 2
    labels = torch.randint(0, num_classes, (num_gts,), generator=gen)
    return (
        InstanceData(priors=priors, bboxes=pred, scores=scores),
        InstanceData(bboxes=RotatedBoxes(gt), labels=labels),
    )


def reference_assigner() -> ReferenceAssigner:
    """mmdet's assigner (built in mmdet's scope) with our rotated IoU, as mmrotate's RTMDet-R
    configs use it."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        reference = ReferenceAssigner(topk=13)
    reference.iou_calculator = RBboxOverlaps2D()
    return reference


@pytest.mark.parametrize('seed', range(6))
def test_same_assignment_as_mmdet_with_rotated_iou(seed):
    pred, gt = random_rotated_case(seed, [1, 4, 12, 30, 60, 2][seed])
    expected = reference_assigner().assign(pred, gt)
    actual = DynamicSoftLabelAssigner(topk=13, iou_calculator=ROTATED_IOU).assign(pred, gt)
    assert (actual.gt_inds > 0).any()
    assert torch.equal(actual.gt_inds, expected.gt_inds)
    assert torch.equal(actual.labels, expected.labels)
    assert torch.allclose(actual.max_overlaps, expected.max_overlaps, atol=1e-6)


def test_plain_tensor_ground_truth_equals_rotated_boxes():
    pred, gt = random_rotated_case(11, 10)
    assigner = DynamicSoftLabelAssigner(iou_calculator=ROTATED_IOU)
    with_boxes = assigner.assign(pred, gt)
    with_tensor = assigner.assign(pred, InstanceData(bboxes=gt.bboxes.tensor, labels=gt.labels))
    assert torch.equal(with_boxes.gt_inds, with_tensor.gt_inds)
    assert torch.equal(with_boxes.max_overlaps, with_tensor.max_overlaps)


def test_points_inside_rotated_boxes_match_rotated_boxes_test():
    gen = torch.Generator().manual_seed(3)
    points = torch.rand(500, 2, generator=gen) * 100
    boxes = torch.cat(
        [
            torch.rand(7, 2, generator=gen) * 100,
            torch.rand(7, 2, generator=gen) * 40 + 1,
            (torch.rand(7, 1, generator=gen) - 0.5) * 2 * math.pi,
        ],
        1,
    )
    expected = RotatedBoxes(boxes).find_inside_points(points)
    assert expected.any()
    assert torch.equal(points_inside_rboxes(points, boxes), expected)
    batched = points_inside_rboxes(points, torch.stack([boxes, boxes.flip(0)]))
    assert torch.equal(batched[1], expected.flip(1))


@pytest.mark.parametrize('seed,counts', [(0, [5, 0, 17]), (1, [40, 40]), (2, [0, 0]), (3, [1, 25])])
def test_batch_assign_equals_image_by_image(seed, counts):
    cases = [random_rotated_case(seed * 10 + i, count) for i, count in enumerate(counts)]
    priors = cases[0][0].priors
    gt_boxes, gt_labels, gt_valid = pad_ground_truth([gt for _, gt in cases], 'cpu', box_dim=5)
    assert gt_boxes.shape == (len(counts), max(counts), 5)
    assigner = DynamicSoftLabelAssigner(topk=13, iou_calculator=ROTATED_IOU)
    batch = assigner.batch_assign(
        priors,
        torch.stack([pred.bboxes for pred, _ in cases]),
        torch.stack([pred.scores for pred, _ in cases]),
        gt_boxes,
        gt_labels,
        gt_valid,
    )
    for img, (pred, gt) in enumerate(cases):
        expected = assigner.assign(pred, gt)
        assert torch.equal(batch.gt_index[img] + 1, expected.gt_inds)
        assert torch.equal(batch.labels[img], expected.labels)
        positive = expected.gt_inds > 0
        assert positive.any() == (len(gt) > 0)
        assert torch.allclose(batch.ious[img][positive], expected.max_overlaps[positive], atol=1e-6)
        assert (batch.ious[img][~positive] == 0).all()


def test_batch_assign_respects_invalid_priors():
    cases = [random_rotated_case(40 + i, 15) for i in range(2)]
    priors = cases[0][0].priors
    gt_boxes, gt_labels, gt_valid = pad_ground_truth([gt for _, gt in cases], 'cpu', box_dim=5)
    prior_valid = torch.ones(2, len(priors), dtype=torch.bool)
    prior_valid[1, priors[:, 0] > 96] = False
    assigner = DynamicSoftLabelAssigner(iou_calculator=ROTATED_IOU)
    batch = assigner.batch_assign(
        priors,
        torch.stack([p.bboxes for p, _ in cases]),
        torch.stack([p.scores for p, _ in cases]),
        gt_boxes,
        gt_labels,
        gt_valid,
        prior_valid,
    )
    pred, gt = cases[1]
    keep = prior_valid[1]
    expected = assigner.assign(
        InstanceData(priors=pred.priors[keep], bboxes=pred.bboxes[keep], scores=pred.scores[keep]),
        gt,
    )
    assert (batch.gt_index[1][~keep] == -1).all()
    assert torch.equal(batch.gt_index[1][keep] + 1, expected.gt_inds)


def horizontal_case(seed: int, num_gts: int, num_classes: int = 10, size: int = 192):
    """Horizontal boxes whose sides lie half a pixel off the integer prior grid (so no prior
    sits on a side, where the strict and the 0.01-pixel inside tests differ)."""
    gen = torch.Generator().manual_seed(seed)
    priors = grid_priors(size)
    corner = torch.randint(0, size - 20, (num_gts, 2), generator=gen).float() + 0.5
    sides = torch.randint(6, 90, (num_gts, 2), generator=gen).float()
    gt = torch.cat([corner, corner + sides], 1)
    dists = torch.rand(len(priors), 4, generator=gen) * 50 + 1
    pred = torch.cat([priors[:, :2] - dists[:, :2], priors[:, :2] + dists[:, 2:]], 1)
    scores = torch.randn(len(priors), num_classes, generator=gen) * 2 - 2
    labels = torch.randint(0, num_classes, (num_gts,), generator=gen)
    return priors, pred, scores, gt, labels


def as_rboxes(boxes: torch.Tensor) -> torch.Tensor:
    """x1y1x2y2 -> cx, cy, w, h, angle 0."""
    return torch.cat(
        [
            (boxes[:, :2] + boxes[:, 2:]) / 2,
            boxes[:, 2:] - boxes[:, :2],
            boxes.new_zeros(len(boxes), 1),
        ],
        1,
    )


@pytest.mark.parametrize('seed', range(4))
def test_angle_zero_equals_horizontal_assignment(seed):
    priors, pred, scores, gt, labels = horizontal_case(seed, [3, 10, 25, 50][seed])
    horizontal = DynamicSoftLabelAssigner(topk=13).assign(
        InstanceData(priors=priors, bboxes=pred, scores=scores),
        InstanceData(bboxes=gt, labels=labels),
    )
    rotated_assigner = DynamicSoftLabelAssigner(topk=13, iou_calculator=ROTATED_IOU)
    rotated = rotated_assigner.assign(
        InstanceData(priors=priors, bboxes=as_rboxes(pred), scores=scores),
        InstanceData(bboxes=RotatedBoxes(as_rboxes(gt)), labels=labels),
    )
    assert (horizontal.gt_inds > 0).any()
    assert torch.equal(rotated.gt_inds, horizontal.gt_inds)
    assert torch.equal(rotated.labels, horizontal.labels)
    positive = horizontal.gt_inds > 0
    assert torch.allclose(
        rotated.max_overlaps[positive], horizontal.max_overlaps[positive], atol=1e-5
    )
    batch = rotated_assigner.batch_assign(
        priors,
        as_rboxes(pred)[None],
        scores[None],
        as_rboxes(gt)[None],
        labels[None],
        torch.ones(1, len(gt), dtype=torch.bool),
    )
    assert torch.equal(batch.gt_index[0] + 1, horizontal.gt_inds)
