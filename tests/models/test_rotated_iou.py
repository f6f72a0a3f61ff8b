"""Differentiable rotated-box IoU (plain torch) against shapely polygons, its gradients, and
``RotatedIoULoss``."""

import math

import pytest
import torch
from shapely.geometry import Polygon

from rtmdet_plus.models.losses import RotatedIoULoss
from rtmdet_plus.registry import MODELS
from rtmdet_plus.structures.bbox import rotated_box_intersection, rotated_box_iou

TOLERANCE = 1e-4  # the required agreement with shapely


def corners(box):
    """Corners of one rotated box (cx, cy, w, h, angle): the w side along (cos a, sin a)."""
    cx, cy, w, h, angle = [float(v) for v in box]
    cos, sin = math.cos(angle), math.sin(angle)
    return [
        (cx + cos * sx * w / 2 - sin * sy * h / 2, cy + sin * sx * w / 2 + cos * sy * h / 2)
        for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1))
    ]


def shapely_iou(boxes1, boxes2):
    ious = []
    for box1, box2 in zip(boxes1, boxes2):
        poly1, poly2 = Polygon(corners(box1)), Polygon(corners(box2))
        inter = poly1.intersection(poly2).area
        union = poly1.area + poly2.area - inter
        ious.append(inter / union if union > 0 else 0.0)
    return torch.tensor(ious, dtype=torch.float64)


def random_pairs(num, seed, dtype=torch.float64):
    """Pairs at many scales and aspect ratios, centres close enough that most overlap."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=gen, dtype=torch.float64)

    scale = 10 ** (rand(num, 1) * 3 - 1)  # 0.1 .. 100
    centers = (rand(num, 2) - 0.5) * 200
    boxes1 = torch.cat(
        [centers, (rand(num, 2) * 0.95 + 0.05) * scale, (rand(num, 1) - 0.5) * 4 * math.pi], 1
    )
    offset = torch.randn(num, 2, generator=gen, dtype=torch.float64) * scale * 0.4
    boxes2 = torch.cat(
        [
            centers + offset,
            (rand(num, 2) * 0.95 + 0.05) * scale,
            (rand(num, 1) - 0.5) * 4 * math.pi,
        ],
        1,
    )
    return boxes1.to(dtype), boxes2.to(dtype)


def special_pairs():
    """Named edge cases: (name, boxes1 (K, 5), boxes2 (K, 5)), float64."""
    half_pi = math.pi / 2
    cases = {
        'identical': (
            [[3, 4, 10, 6, 0.3], [0, 0, 5, 5, 0], [100, 50, 20, 1, -1.2]],
            [[3, 4, 10, 6, 0.3], [0, 0, 5, 5, 0], [100, 50, 20, 1, -1.2]],
        ),
        'same box other spelling': (
            [[3, 4, 10, 6, 0.3], [0, 0, 8, 2, 0.0]],
            [[3, 4, 6, 10, 0.3 + half_pi], [0, 0, 8, 2, math.pi]],
        ),
        'nested': (
            [[0, 0, 2, 1, 0.7], [5, 5, 40, 30, 0.2], [1, 1, 1, 1, 0.0]],
            [[0.2, 0.1, 10, 8, -0.4], [6, 4, 3, 2, 1.3], [1, 1, 1, 0.999, 0.0]],
        ),
        'disjoint': (
            [[0, 0, 2, 2, 0.3], [0, 0, 10, 1, 0.0]],
            [[10, 10, 2, 2, 0.1], [0, 5, 10, 1, 0.0]],
        ),
        'touching edge': (
            [[0, 0, 2, 2, 0.0], [0, 0, 4, 2, 0.5]],
            [[2, 0, 2, 2, 0.0], [-2 * math.sin(0.5), 2 * math.cos(0.5), 4, 2, 0.5]],
        ),
        'touching corner': (
            [[0, 0, 2, 2, 0.0], [0, 0, 2, 2, math.pi / 4]],
            [[2, 2, 2, 2, 0.0], [2 * math.sqrt(2), 0, 2, 2, math.pi / 4]],
        ),
        'collinear edges': (
            [[0, 0, 4, 2, 0.0], [0, 0, 4, 2, 0.4]],
            [[1, 0, 4, 2, 0.0], [0.5 * math.cos(0.4), 0.5 * math.sin(0.4), 3, 2, 0.4]],
        ),
        'near-degenerate thin': (
            [[0, 0, 10, 1e-4, 0.3], [0, 0, 10, 1e-3, 0.0]],
            [[0, 0, 3, 3, 0.0], [0, 0, 10, 1e-3, 1e-7]],
        ),
        'near-identical': (
            [[5, 5, 10, 4, 0.5], [5, 5, 10, 4, 0.5]],
            [[5 + 1e-9, 5, 10, 4, 0.5 + 1e-9], [5, 5, 10 + 1e-7, 4, 0.5]],
        ),
        'zero size': (
            [[0, 0, 0, 2, 0.0], [0, 0, 0, 0, 0.0]],
            [[0, 0, 2, 2, 0.3], [0, 0, 2, 2, 0.0]],
        ),
        'far from origin': ([[1e4, 2e4, 30, 20, 0.1]], [[1e4 + 5, 2e4 - 3, 25, 20, -0.2]]),
        'small angle gap': ([[0, 0, 50, 10, 0.0]], [[0, 0, 50, 10, 1e-6]]),
    }
    for name, (boxes1, boxes2) in cases.items():
        yield (
            name,
            torch.tensor(boxes1, dtype=torch.float64),
            torch.tensor(boxes2, dtype=torch.float64),
        )


SPECIAL = list(special_pairs())


def test_random_pairs_match_shapely():
    boxes1, boxes2 = random_pairs(3000, seed=0)
    expected = shapely_iou(boxes1, boxes2)
    assert (expected > 0).float().mean() > 0.5, 'the sample should mostly overlap'
    error64 = (rotated_box_iou(boxes1, boxes2) - expected).abs().max().item()
    boxes1, boxes2 = boxes1.float(), boxes2.float()  # compare with the float32-rounded boxes
    error32 = (
        (rotated_box_iou(boxes1, boxes2).double() - shapely_iou(boxes1.double(), boxes2.double()))
        .abs()
        .max()
        .item()
    )
    assert error64 <= TOLERANCE and error32 <= TOLERANCE, (error64, error32)


def test_intersection_area_matches_shapely_and_is_symmetric():
    boxes1, boxes2 = random_pairs(500, seed=1)
    expected = torch.tensor(
        [
            Polygon(corners(a)).intersection(Polygon(corners(b))).area
            for a, b in zip(boxes1, boxes2)
        ],
        dtype=torch.float64,
    )
    scale = (boxes1[:, 2] * boxes1[:, 3]).clamp(min=1)
    forward = rotated_box_intersection(boxes1, boxes2)
    backward = rotated_box_intersection(boxes2, boxes1)
    assert ((forward - expected).abs() / scale).max() <= TOLERANCE
    assert ((forward - backward).abs() / scale).max() <= TOLERANCE


@pytest.mark.parametrize('name,boxes1,boxes2', SPECIAL, ids=[case[0] for case in SPECIAL])
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_special_cases_match_shapely(name, boxes1, boxes2, dtype):
    expected = shapely_iou(boxes1, boxes2)
    actual = rotated_box_iou(boxes1.to(dtype), boxes2.to(dtype)).double()
    tolerance = TOLERANCE
    if dtype == torch.float32 and name == 'near-degenerate thin':
        # 10 x 0.001 boxes 1e-7 rad apart: their corners differ by 5e-7, below float32's
        # tolerance band (1e-5 of the box size), so float32 sees one box (IoU 1 for 0.9995).
        tolerance = 1e-3
    assert torch.allclose(actual, expected, atol=tolerance, rtol=0), (name, actual, expected)


def test_half_precision_runs_in_float32():
    boxes1, boxes2 = random_pairs(50, seed=2)
    actual = rotated_box_iou(boxes1.half(), boxes2.half())
    assert actual.dtype == torch.float32
    expected = shapely_iou(boxes1.half().double(), boxes2.half().double())
    assert torch.allclose(actual.double(), expected, atol=1e-3)


def overlapping_nondegenerate_pairs(num, seed):
    """Random overlapping pairs whose IoU is well inside (0, 1)."""
    boxes1, boxes2 = random_pairs(num * 4, seed)
    iou = shapely_iou(boxes1, boxes2)
    keep = ((iou > 0.05) & (iou < 0.95)).nonzero().flatten()[:num]
    return boxes1[keep].clone(), boxes2[keep].clone()


def test_gradcheck_float64():
    boxes1, boxes2 = overlapping_nondegenerate_pairs(16, seed=3)
    assert len(boxes1) == 16
    boxes1.requires_grad_(True)
    boxes2.requires_grad_(True)
    assert torch.autograd.gradcheck(rotated_box_iou, (boxes1, boxes2), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize('name,boxes1,boxes2', SPECIAL, ids=[case[0] for case in SPECIAL])
def test_gradients_finite_on_edge_cases(name, boxes1, boxes2):
    for dtype in (torch.float64, torch.float32):
        pred = boxes1.detach().to(dtype, copy=True).requires_grad_(True)
        target = boxes2.detach().to(dtype, copy=True).requires_grad_(True)
        rotated_box_iou(pred, target).sum().backward()
        assert torch.isfinite(pred.grad).all() and torch.isfinite(target.grad).all(), name
        assert pred.grad.abs().max() < 1e4, (name, pred.grad)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match='(N, 5)'):
        rotated_box_iou(torch.zeros(3, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='shapes'):
        rotated_box_iou(torch.zeros(3, 5), torch.zeros(2, 5))
    assert rotated_box_iou(torch.zeros(0, 5), torch.zeros(0, 5)).shape == (0,)


@pytest.mark.parametrize('mode', ['linear', 'square', 'log'])
def test_loss_modes(mode):
    boxes1, boxes2 = overlapping_nondegenerate_pairs(20, seed=4)
    iou = shapely_iou(boxes1, boxes2)
    expected = {'linear': 1 - iou, 'square': 1 - iou**2, 'log': -iou.log()}[mode]
    loss = MODELS.build(dict(type='RotatedIoULoss', mode=mode, loss_weight=2.0))
    assert torch.allclose(loss(boxes1, boxes2, reduction_override='none'), 2 * expected, atol=1e-5)
    assert torch.allclose(loss(boxes1, boxes2), 2 * expected.mean(), atol=1e-5)
    weight = torch.linspace(0, 1, len(iou), dtype=torch.float64)
    weighted = loss(boxes1, boxes2, weight=weight, avg_factor=7.0)
    assert torch.allclose(weighted, 2 * (expected * weight).sum() / 7.0, atol=1e-5)
    per_coordinate = weight[:, None].expand(-1, 5)
    assert torch.allclose(loss(boxes1, boxes2, weight=per_coordinate, avg_factor=7.0), weighted)


def test_loss_zero_weight_keeps_graph_and_log_stays_finite():
    loss = RotatedIoULoss()
    pred = torch.tensor([[0.0, 0, 2, 2, 0], [0, 0, 2, 2, 0]], requires_grad=True)
    target = torch.tensor([[10.0, 10, 2, 2, 0], [0, 0, 2, 2, 0]])
    zero = loss(pred, target, weight=torch.zeros(2))
    zero.backward()
    assert zero.item() == 0 and pred.grad is not None
    disjoint = loss(pred, target, reduction_override='none')
    assert torch.isfinite(disjoint).all()
    assert disjoint[0].item() == pytest.approx(-math.log(1e-6), rel=1e-5)


def test_loss_arguments():
    with pytest.warns(UserWarning, match='deprecated'):
        assert RotatedIoULoss(linear=True).mode == 'linear'
    with pytest.raises(ValueError, match='mode'):
        RotatedIoULoss(mode='giou')
    with pytest.raises(ValueError, match='reduction'):
        RotatedIoULoss(reduction='max')


def test_loss_moves_a_box_onto_its_target():
    """A few hundred Adam steps on the log loss bring a rotated box onto its target (the lr
    decays: at a constant 0.1 Adam keeps swinging the angle by about 0.015 rad, IoU 0.97-1)."""
    target = torch.tensor([[20.0, 15, 30, 8, 0.6]])
    pred = torch.tensor([[16.0, 18, 20, 12, 0.1]], requires_grad=True)
    optimizer = torch.optim.Adam([pred], lr=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=300)
    loss = RotatedIoULoss(mode='log')
    for _ in range(300):
        optimizer.zero_grad()
        loss(pred, target).backward()
        optimizer.step()
        schedule.step()
    assert rotated_box_iou(pred.detach(), target).item() > 0.99


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu_and_mmcv():
    from mmcv.ops import diff_iou_rotated_2d

    boxes1, boxes2 = random_pairs(2000, seed=5, dtype=torch.float32)
    cpu = rotated_box_iou(boxes1, boxes2)
    cuda = rotated_box_iou(boxes1.cuda(), boxes2.cuda()).cpu()
    assert torch.allclose(cpu, cuda, atol=1e-5)
    mmcv_iou = diff_iou_rotated_2d(boxes1.cuda()[None], boxes2.cuda()[None])[0].cpu()
    assert (mmcv_iou - cpu).abs().median() < 1e-4
