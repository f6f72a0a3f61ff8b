"""DynamicSoftLabelAssigner: same assignment as mmdet 3.3.0's on random cases, and its cost
functions checked against brute force."""

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.task_modules.assigners import DynamicSoftLabelAssigner as ReferenceAssigner
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.structures import InstanceData

from rtmdet_plus.models.task_modules.assigners.dynamic_soft_label_assigner import (
    DynamicSoftLabelAssigner,
    batched_dynamic_k_matching,
    dynamic_k_matching,
    mask_centers,
    soft_center_prior,
    soft_label_cost,
)


def random_case(
    seed: int, num_gts: int, num_classes: int = 20, size: int = 256, strides=(8, 16, 32)
):
    """Priors of a ``size`` image, predictions scattered around the ground truths."""
    gen = torch.Generator().manual_seed(seed)
    priors = []
    for stride in strides:
        ys, xs = torch.meshgrid(
            torch.arange(0, size, stride), torch.arange(0, size, stride), indexing='ij'
        )
        points = torch.stack([xs.flatten(), ys.flatten()], 1).float()
        priors.append(torch.cat([points, torch.full_like(points, stride)], 1))
    priors = torch.cat(priors)
    centers = torch.rand(num_gts, 2, generator=gen) * size
    sides = (torch.rand(num_gts, 2, generator=gen) * 0.5 + 0.02) * size
    gt_boxes = torch.cat([centers - sides / 2, centers + sides / 2], 1)
    gt_labels = torch.randint(0, num_classes, (num_gts,), generator=gen)
    dists = torch.rand(len(priors), 4, generator=gen) * 60 + 1
    pred_boxes = torch.cat([priors[:, :2] - dists[:, :2], priors[:, :2] + dists[:, 2:]], 1)
    scores = torch.randn(len(priors), num_classes, generator=gen) * 2 - 2
    pred = InstanceData(priors=priors, bboxes=pred_boxes, scores=scores)
    gt = InstanceData(bboxes=gt_boxes, labels=gt_labels)
    return pred, gt


def assert_same_assignment(pred, gt):
    expected = ReferenceAssigner(topk=13).assign(pred, gt)
    actual = DynamicSoftLabelAssigner(topk=13).assign(pred, gt)
    assert actual.num_gts == expected.num_gts
    assert torch.equal(actual.gt_inds, expected.gt_inds)
    assert torch.equal(actual.labels, expected.labels)
    assert torch.allclose(actual.max_overlaps, expected.max_overlaps, atol=1e-6)
    return actual


@pytest.mark.parametrize('seed', range(20))
def test_same_assignment_as_mmdet_on_random_cases(seed):
    num_gts = [1, 3, 10, 40, 100][seed % 5]
    actual = assert_same_assignment(*random_case(seed, num_gts))
    assert (actual.gt_inds > 0).any()


def test_same_assignment_with_box_structures():
    pred, gt = random_case(7, 15)
    gt.bboxes = HorizontalBoxes(gt.bboxes)  # mmdet then counts points on the border as inside
    assert_same_assignment(pred, gt)


def test_no_ground_truth():
    pred, gt = random_case(1, 0)
    result = assert_same_assignment(pred, gt)
    assert (result.gt_inds == 0).all() and (result.labels == -1).all()


def test_no_valid_prior():
    pred, gt = random_case(2, 3)
    # Boxes smaller than the prior spacing, placed between prior points: no centre inside.
    gt.bboxes = torch.tensor(
        [[1.0, 1.0, 3.0, 3.0], [9.0, 9.0, 11.0, 11.0], [100.5, 100.5, 101.5, 101.5]]
    )
    result = assert_same_assignment(pred, gt)
    assert (result.gt_inds == 0).all()


def test_soft_label_cost_equals_full_class_sum():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 7, generator=gen) * 3
    labels = torch.randint(0, 7, (9,), generator=gen)
    ious = torch.rand(50, 9, generator=gen)
    soft = F.one_hot(labels, 7).float()[None] * ious[..., None]  # (P, G, C)
    full_logits = logits[:, None].expand(-1, 9, -1)
    brute = (
        F.binary_cross_entropy_with_logits(full_logits, soft, reduction='none')
        * (soft - full_logits.sigmoid()).abs().pow(2)
    ).sum(-1)
    assert torch.allclose(soft_label_cost(logits, labels, ious), brute, atol=1e-5)


def test_soft_center_prior_grows_tenfold_per_stride():
    centers = torch.tensor([[0.0, 0.0], [8.0, 0.0], [16.0, 0.0]])
    cost = soft_center_prior(centers, torch.full((3,), 8.0), torch.zeros(1, 2), radius=3.0)
    assert torch.allclose(cost[:, 0], torch.tensor([1e-3, 1e-2, 1e-1]))


def test_dynamic_k_matching_resolves_conflicts_by_cost():
    cost = torch.tensor([[0.1, 0.2], [0.5, 0.1], [0.9, 0.9]])
    ious = torch.tensor([[0.9, 0.9], [0.2, 0.3], [0.0, 0.0]])  # k = 1 for both
    matched_gt, matched_iou = dynamic_k_matching(cost, ious, topk=13)
    assert matched_gt.tolist() == [0, 1, -1]
    assert torch.allclose(matched_iou, torch.tensor([0.9, 0.3, 0.0]))


def test_mask_centers_are_centres_of_mass():
    masks = torch.zeros(2, 10, 12)
    masks[0, 2:5, 3:8] = 1  # rows 2-4, cols 3-7
    masks[1, 0, 11] = 1
    assert torch.allclose(mask_centers(masks), torch.tensor([[5.0, 3.0], [11.0, 0.0]]))


def random_batch(seed: int, counts, num_classes: int = 20, size: int = 256):
    cases = [
        random_case(seed * 100 + i, count, num_classes, size) for i, count in enumerate(counts)
    ]
    priors = cases[0][0].priors
    from rtmdet_plus.models.dense_heads.rtmdet_head import pad_ground_truth

    gt_boxes, gt_labels, gt_valid = pad_ground_truth([gt for _, gt in cases], 'cpu')
    pred_boxes = torch.stack([pred.bboxes for pred, _ in cases])
    pred_logits = torch.stack([pred.scores for pred, _ in cases])
    return cases, priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid


@pytest.mark.parametrize(
    'seed,counts', [(0, [5, 0, 17, 1]), (1, [100, 100]), (2, [0, 0]), (3, [40, 3, 60])]
)
def test_batch_assign_equals_mmdet_image_by_image(seed, counts):
    cases, priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid = random_batch(
        seed, counts
    )
    batch = DynamicSoftLabelAssigner(topk=13).batch_assign(
        priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid
    )
    for img, (pred, gt) in enumerate(cases):
        expected = ReferenceAssigner(topk=13).assign(pred, gt)
        assert torch.equal(batch.gt_index[img] + 1, expected.gt_inds)
        assert torch.equal(batch.labels[img], expected.labels)
        positive = expected.gt_inds > 0
        assert torch.allclose(batch.ious[img][positive], expected.max_overlaps[positive], atol=1e-6)
        assert (batch.ious[img][~positive] == 0).all()


def test_batch_assign_respects_invalid_priors():
    cases, priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid = random_batch(
        5, [20, 20]
    )
    prior_valid = torch.ones(2, len(priors), dtype=torch.bool)
    prior_valid[1, priors[:, 0] > 128] = False  # right half of image 1 is padding
    batch = DynamicSoftLabelAssigner().batch_assign(
        priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid, prior_valid
    )
    pred, gt = cases[1]
    keep = prior_valid[1]
    expected = ReferenceAssigner().assign(
        InstanceData(priors=pred.priors[keep], bboxes=pred.bboxes[keep], scores=pred.scores[keep]),
        gt,
    )
    assert (batch.gt_index[1][~keep] == -1).all()
    assert torch.equal(batch.gt_index[1][keep] + 1, expected.gt_inds)


def test_batch_assign_image_with_objects_but_no_candidate_prior():
    cases, priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid = random_batch(8, [6, 2])
    tiny = torch.tensor([[1.0, 1.0, 3.0, 3.0], [9.0, 9.0, 11.0, 11.0]])
    gt_boxes[1, :2] = tiny  # between prior points: nothing inside
    batch = DynamicSoftLabelAssigner().batch_assign(
        priors, pred_boxes, pred_logits, gt_boxes, gt_labels, gt_valid
    )
    assert (batch.gt_index[1] == -1).all() and (batch.labels[1] == -1).all()
    expected = ReferenceAssigner().assign(*cases[0])
    assert torch.equal(batch.gt_index[0] + 1, expected.gt_inds)


@pytest.mark.parametrize('seed', range(4))
def test_batched_matching_breaks_cost_ties_as_per_image_topk(seed):
    """Costs with many exact ties (far priors whose float32 costs round alike): the batched
    matching picks the same priors as ``dynamic_k_matching`` (each ground truth's own k over
    its image's candidates, mmdet's ``topk``), whatever the other images' candidate counts."""
    generator = torch.Generator().manual_seed(seed)
    counts = [300, 120, 517]
    num_gts = 9
    cost = torch.full((len(counts), max(counts), num_gts), float('inf'))
    ious = torch.zeros_like(cost)
    wanted = torch.randint(1, 14, (len(counts), num_gts), generator=generator)
    for img, count in enumerate(counts):
        cost[img, :count] = torch.randint(0, 6, (count, num_gts), generator=generator).float()
        ious[img, :count] = torch.rand(count, num_gts, generator=generator)
    matched, matched_iou = batched_dynamic_k_matching(cost, ious, wanted, torch.tensor(counts))
    for img, count in enumerate(counts):
        # dynamic_k_matching takes k from the IoUs: give it IoUs whose top-13 sum is the k
        k_ious = torch.zeros(count, num_gts)
        k_ious[0] = wanted[img].float() + 0.5
        expected, _ = dynamic_k_matching(cost[img, :count], k_ious, 13)
        assert torch.equal(matched[img, :count], expected), img
        assert (matched[img, count:] == -1).all()
        assert torch.equal(
            matched_iou[img, :count][expected >= 0],
            ious[img, :count][expected >= 0, expected[expected >= 0]],
        )
