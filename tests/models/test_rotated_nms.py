"""Rotated NMS (``rbox_nms``): near-identical duplicates collapse to one box each (mmcv 2.1.0's
CPU ``nms_rotated`` keeps many of them), the result equals a reference greedy NMS over the exact
polygon-clipping IoU, and the rotated head and the DOTA patch merging use it."""

import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from rtmdet_plus.evaluation import merge_patch_detections
from rtmdet_plus.structures.bbox import batched_rbox_nms, rbox_nms, rotated_box_iou
from tests.helpers.heads import sepbn_head


def grid_boxes(num: int, seed: int) -> torch.Tensor:
    """(num, 5) rotated boxes on a 50 px grid, sides 5..20, any angle: no two overlap."""
    gen = torch.Generator().manual_seed(seed)
    side = math.ceil(math.sqrt(num))
    index = torch.arange(num)
    centers = torch.stack([index % side, index // side], 1).float() * 50 + 25
    sizes = torch.rand(num, 2, generator=gen) * 15 + 5
    angles = (torch.rand(num, 1, generator=gen) - 0.5) * 2 * math.pi
    return torch.cat([centers, sizes, angles], 1)


def exact_iou_matrix(boxes: torch.Tensor) -> torch.Tensor:
    """(N, N) float64 IoU by polygon clipping (rotated_box_iou), computed row by row."""
    boxes = boxes.double()
    rows = [rotated_box_iou(box.expand_as(boxes), boxes) for box in boxes]
    return torch.stack(rows)


def reference_nms(boxes, scores, iou_threshold, labels=None):
    """Plain greedy NMS on the exact IoU, highest score first (ties: lower index first)."""
    ious = exact_iou_matrix(boxes)
    if labels is not None:
        ious = ious * (labels[:, None] == labels[None])
    kept = []
    for index in scores.argsort(descending=True, stable=True).tolist():
        if all(ious[index, other] <= iou_threshold for other in kept):
            kept.append(index)
    return kept, ious


def clustered_case(seed: int, num: int):
    """Clusters of overlapping boxes, a quarter of them near-identical copies of another box
    (centre 1e-6..1e-3 px or angle 1e-7..1e-4 rad away), 3 labels, random scores."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=gen)

    centers = rand(num // 6, 2) * 300
    jitter = torch.randn(num, 2, generator=gen) * 6
    boxes = torch.cat(
        [
            centers.repeat_interleave(6, 0)[:num] + jitter,
            rand(num, 2) * 30 + 4,
            (rand(num, 1) - 0.5) * 2 * math.pi,
        ],
        1,
    )
    copies = torch.randperm(num, generator=gen)[: num // 4]
    sources = torch.randint(num, (num // 4,), generator=gen)
    tiny = 10 ** (-7 + 4 * rand(num // 4, 1))
    boxes[copies] = boxes[sources] + tiny * torch.tensor([1.0, -1.0, 0.0, 0.0, 1.0]) * (
        rand(num // 4, 5) < 0.5
    )
    return boxes, rand(num), torch.randint(3, (num,), generator=gen)


@pytest.mark.parametrize('change', ['angle', 'centre', 'size'])
def test_near_identical_duplicates_collapse_to_one_each(change):
    """500 separate boxes, each twice (1e-7 apart): exactly one of each pair is kept, the
    better scored one (mmcv 2.1.0's CPU nms_rotated keeps about 505 of these 1000)."""
    boxes = grid_boxes(500, seed=3)
    step = {
        'angle': [0, 0, 0, 0, 1e-7],
        'centre': [1e-7, 1e-7, 0, 0, 0],
        'size': [0, 0, 1e-7, 1e-7, 0],
    }[change]
    doubled = torch.cat([boxes, boxes + torch.tensor(step)])
    scores = torch.rand(1000, generator=torch.Generator().manual_seed(4))
    keep = rbox_nms(doubled, scores, iou_threshold=0.5)
    assert keep.numel() == 500
    pair = keep % 500
    assert sorted(pair.tolist()) == list(range(500))
    better = torch.where(scores[:500] >= scores[500:], torch.arange(500), torch.arange(500) + 500)
    assert torch.equal(keep.sort().values, better.sort().values)
    assert (scores[keep][:-1] >= scores[keep][1:]).all()  # highest score first


@pytest.mark.parametrize(
    'seed, num, iou_threshold, class_aware',
    [
        (0, 120, 0.1, True),
        (1, 120, 0.5, False),
        (2, 300, 0.3, True),
        (3, 600, 0.1, False),
        (4, 600, 0.7, True),
    ],
)
def test_equals_greedy_nms_on_the_exact_iou(seed, num, iou_threshold, class_aware):
    boxes, scores, labels = clustered_case(seed, num)
    labels = labels if class_aware else None
    ious = exact_iou_matrix(boxes)
    # move the threshold off any IoU so close that float32 could decide that pair either way
    while ((ious - iou_threshold).abs() <= 1e-4).any():
        iou_threshold += 3e-4
    expected, _ = reference_nms(boxes, scores, iou_threshold, labels)
    keep = rbox_nms(boxes, scores, iou_threshold, labels)
    assert keep.tolist() == expected
    assert len(expected) < num  # something was suppressed


def test_batched_interface_and_bad_configs():
    boxes = torch.tensor(
        [
            [10.0, 10.0, 8.0, 4.0, 0.3],
            [10.0, 10.0, 8.0, 4.0, 0.3 + 1e-7],
            [60.0, 60.0, 8.0, 4.0, 0.0],
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.7])
    labels = torch.tensor([0, 1, 0])
    dets, keep = batched_rbox_nms(
        boxes, scores, labels, dict(type='nms_rotated', iou_threshold=0.1)
    )
    assert keep.tolist() == [0, 1, 2]  # different labels: both copies stay
    assert torch.equal(dets, torch.cat([boxes, scores[:, None]], 1))
    _, keep = batched_rbox_nms(
        boxes, scores, labels, dict(type='nms_rotated', iou_threshold=0.1, class_agnostic=True)
    )
    assert keep.tolist() == [0, 2]
    assert rbox_nms(boxes[:0], scores[:0], 0.1).numel() == 0
    with pytest.raises(ValueError, match='unknown keys'):
        batched_rbox_nms(boxes, scores, labels, dict(type='nms_rotated', iou_thr=0.1))
    with pytest.raises(ValueError, match="type='nms_rotated'"):
        batched_rbox_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.1))
    with pytest.raises(ValueError, match='needs iou_threshold'):
        batched_rbox_nms(boxes, scores, labels, dict(type='nms_rotated'))
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        rbox_nms(boxes, scores, 1.5)
    with pytest.raises(ValueError, match=r'\(N, 5\)'):
        rbox_nms(boxes[:, :4], scores, 0.1)
    with pytest.raises(ValueError, match='one per box'):
        rbox_nms(boxes, scores[:2], 0.1)


def test_rotated_head_prediction_collapses_duplicates():
    head = sepbn_head()
    boxes = grid_boxes(50, seed=5)
    doubled = torch.cat([boxes, boxes + torch.tensor([0, 0, 0, 0, 1e-7])])
    result = InstanceData(
        bboxes=doubled,
        scores=torch.linspace(1, 0.01, 100),
        labels=torch.zeros(100, dtype=torch.long),
    )
    cfg = dict(nms=dict(type='nms_rotated', iou_threshold=0.1), max_per_img=2000, min_bbox_size=0)
    kept = head._post_process(
        result, cfg, rescale=False, with_nms=True, img_meta=dict(scale_factor=(1.0, 1.0))
    )
    # (predict_by_feat wraps the boxes as RotatedBoxes, see test_rotated_head)
    assert torch.equal(kept.bboxes, boxes)  # the first (better scored) copy of each


def test_patch_merging_collapses_duplicates_across_patches():
    """The same objects found in two overlapping patches, 1e-7 rad apart: one box each."""
    boxes = grid_boxes(40, seed=6).numpy()
    other = boxes.copy()
    other[:, :2] -= 100  # the second patch starts 100 px further right and down
    other[:, 4] += 1e-7
    patches = [
        dict(
            img_id='P0001__1024__0___0', bboxes=boxes, scores=np.full(40, 0.9), labels=np.zeros(40)
        ),
        dict(
            img_id='P0001__1024__100___100',
            bboxes=other,
            scores=np.full(40, 0.8),
            labels=np.zeros(40),
        ),
    ]
    merged = merge_patch_detections(patches, num_classes=1, iou_thr=0.1)['P0001'][0]
    assert merged.shape == (40, 6)
    assert np.allclose(merged[:, -1], 0.9)
