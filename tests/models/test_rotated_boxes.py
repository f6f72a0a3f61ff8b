"""Rotated and quadrilateral box types: conversions, angle conventions, flips, rotation, mmdet's
box-type machinery, and the mmcv-backed rotated IoU."""

import math
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
import torch
from mmcv.ops import batched_nms
from mmdet.structures.bbox import HorizontalBoxes, convert_box_type, get_box_type
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from shapely.geometry import Point, Polygon

from rtmdet_plus.registry import TASK_UTILS
from rtmdet_plus.structures.bbox import (
    QuadriBoxes,
    RotatedBoxes,
    corners2rbox,
    hbox2qbox,
    hbox2rbox,
    norm_angle,
    qbox2hbox,
    qbox2rbox,
    rbox2corners,
    rbox2hbox,
    rbox2qbox,
    rbox_overlaps,
    regularize_rboxes,
    rotated_box_iou,
)

RANGES = {
    'oc': (-math.pi / 2, 0.0),
    'le90': (-math.pi / 2, math.pi / 2),
    'le135': (-math.pi / 4, 3 * math.pi / 4),
}


def random_rboxes(num, seed, dtype=torch.float64, square=False):
    """Boxes in a 200 x 100 image, sides 2..40 (w and h at least 10 % apart unless ``square``),
    angles anywhere in [-2pi, 2pi)."""
    gen = torch.Generator().manual_seed(seed)
    centers = torch.rand(num, 2, generator=gen, dtype=torch.float64) * torch.tensor([200.0, 100.0])
    w = torch.rand(num, 1, generator=gen, dtype=torch.float64) * 30 + 2
    ratio = torch.rand(num, 1, generator=gen, dtype=torch.float64) * 0.7 + 0.2
    ratio = torch.where(torch.rand(num, 1, generator=gen) < 0.5, ratio, 1 / ratio)
    h = w if square else w * ratio
    angle = (torch.rand(num, 1, generator=gen, dtype=torch.float64) - 0.5) * 4 * math.pi
    return torch.cat([centers, w, h, angle], 1).to(dtype)


def same_point_sets(corners1, corners2, atol=1e-6):
    """(N, K, 2) point sets equal up to order."""
    distance = torch.cdist(corners1, corners2)
    return bool((distance.amin(-1) < atol).all() and (distance.amin(-2) < atol).all())


# ----------------------------------------------------------------------------- conversions
def test_rbox_corners_follow_the_clockwise_convention():
    # w side along (cos a, sin a) in image axes: a = +90 degrees points the w side down.
    corners = rbox2corners(torch.tensor([[10.0, 20.0, 4.0, 2.0, math.pi / 2]]))[0]
    expected = torch.tensor([[9.0, 22.0], [11.0, 22.0], [11.0, 18.0], [9.0, 18.0]])
    assert torch.allclose(corners, expected, atol=1e-6)
    assert torch.allclose(
        rbox2qbox(torch.tensor([[10.0, 20.0, 4.0, 2.0, math.pi / 2]])),
        expected.flatten()[None],
        atol=1e-6,
    )


@pytest.mark.parametrize('version', ['oc', 'le90', 'le135'])
def test_rbox_qbox_round_trip(version):
    boxes = regularize_rboxes(random_rboxes(500, seed=0), version)
    back = qbox2rbox(rbox2qbox(boxes), version)
    assert torch.allclose(back, boxes, atol=1e-8)


def test_qbox2rbox_is_the_minimum_area_rectangle():
    """Against OpenCV on perturbed (non-rectangular) quadrilaterals: the same (minimum) area, and
    the rectangle holds the quadrilateral. (Near-ties between sides can pick another rectangle of
    equal area, so the rectangles themselves are not compared.)"""
    boxes = random_rboxes(300, seed=1)
    gen = torch.Generator().manual_seed(1)
    quads = rbox2qbox(boxes) + torch.randn(300, 8, generator=gen, dtype=torch.float64) * 0.5
    ours = qbox2rbox(quads)
    cv_corners = torch.from_numpy(
        np.stack(
            [
                cv2.boxPoints(cv2.minAreaRect(q.reshape(4, 2).numpy().astype(np.float32)))
                for q in quads
            ]
        )
    ).double()
    cv_boxes = corners2rbox(cv_corners)  # OpenCV's rectangle, spelled in le90
    assert torch.allclose(ours[:, 2] * ours[:, 3], cv_boxes[:, 2] * cv_boxes[:, 3], rtol=1e-4)
    # every point of the quadrilateral lies inside (or on) its rectangle
    inside = RotatedBoxes(ours).find_inside_points(quads.reshape(-1, 2), eps=-1e-6)
    owner = torch.arange(300).repeat_interleave(4)
    assert inside[torch.arange(1200), owner].all()


def test_horizontal_conversions():
    hboxes = torch.tensor([[0.0, 0.0, 10.0, 4.0], [-3.0, 2.0, 5.0, 9.0]])
    assert torch.equal(
        hbox2rbox(hboxes), torch.tensor([[5.0, 2.0, 10.0, 4.0, 0.0], [1.0, 5.5, 8.0, 7.0, 0.0]])
    )
    assert torch.allclose(rbox2hbox(hbox2rbox(hboxes)), hboxes)
    assert torch.equal(
        hbox2qbox(hboxes)[0], torch.tensor([0.0, 0.0, 10.0, 0.0, 10.0, 4.0, 0.0, 4.0])
    )
    assert torch.equal(qbox2hbox(hbox2qbox(hboxes)), hboxes)
    # rbox -> hbox is the bounding box of the corners
    rboxes = random_rboxes(200, seed=2)
    corners = rbox2corners(rboxes)
    expected = torch.cat([corners.amin(1), corners.amax(1)], 1)
    assert torch.allclose(rbox2hbox(rboxes), expected, atol=1e-9)
    assert torch.allclose(qbox2hbox(rbox2qbox(rboxes)), expected, atol=1e-9)


def test_box_type_machinery_reaches_our_types():
    assert get_box_type('rbox') == ('rbox', RotatedBoxes)
    assert get_box_type('qbox') == ('qbox', QuadriBoxes)
    rboxes = random_rboxes(20, seed=3, dtype=torch.float32)
    for dst in ('hbox', 'qbox'):
        converted = convert_box_type(rboxes, src_type='rbox', dst_type=dst)
        assert torch.allclose(converted, {'hbox': rbox2hbox, 'qbox': rbox2qbox}[dst](rboxes))
    boxes = RotatedBoxes(rboxes)
    assert isinstance(boxes.convert_to('qbox'), QuadriBoxes)
    assert isinstance(boxes.convert_to('hbox'), HorizontalBoxes)
    assert torch.allclose(
        boxes.convert_to('qbox').convert_to('rbox').tensor,
        regularize_rboxes(rboxes, 'le90'),
        atol=1e-4,
    )
    hboxes = HorizontalBoxes(torch.tensor([[0.0, 0.0, 10.0, 4.0]]))
    assert torch.equal(hboxes.convert_to('rbox').tensor, torch.tensor([[5.0, 2.0, 10.0, 4.0, 0.0]]))
    assert torch.equal(hboxes.convert_to('qbox').convert_to('hbox').tensor, hboxes.tensor)


FAKE_MMROTATE = '''
from mmdet.structures.bbox import BaseBoxes, register_box

@register_box('rbox')
class ForeignRotated(BaseBoxes):
    box_dim = 5

@register_box('qbox')
class ForeignQuadri(BaseBoxes):
    box_dim = 8
'''

CHECK_NAMES = '''
import torch
from mmdet.structures.bbox import get_box_type
from rtmdet_plus.structures.bbox import QBOX_NAME, RBOX_NAME, RotatedBoxes
boxes = RotatedBoxes(torch.tensor([[5., 2., 10., 4., 0.]]))
print(RBOX_NAME, QBOX_NAME, get_box_type('rbox')[1].__name__,
      boxes.convert_to('hbox').tensor.tolist(), boxes.convert_to(QBOX_NAME).tensor.shape[-1])
'''


@pytest.mark.parametrize('importable', [True, False], ids=['mmrotate', 'broken-mmrotate'])
def test_no_clash_with_an_installed_mmrotate(tmp_path, importable):
    """A (stand-in) mmrotate that registers 'rbox'/'qbox' keeps them; ours take prefixed names.
    An mmrotate that cannot be imported (1.x refuses mmdet 3.3) leaves the names to us."""
    package = tmp_path / 'mmrotate'
    (package / 'structures' / 'bbox').mkdir(parents=True)
    (package / '__init__.py').write_text('' if importable else 'raise AssertionError("mmdet")\n')
    (package / 'structures' / '__init__.py').write_text('')
    (package / 'structures' / 'bbox' / '__init__.py').write_text(FAKE_MMROTATE)
    env_path = f'{tmp_path}:{":".join(sys.path)}'
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(CHECK_NAMES)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'PYTHONPATH': env_path},
    )
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    if importable:
        assert names[:3] == ['rtmdet_plus.rbox', 'rtmdet_plus.qbox', 'ForeignRotated']
    else:
        assert names[:3] == ['rbox', 'qbox', 'RotatedBoxes']
    assert result.stdout.rstrip().endswith('[[0.0, 0.0, 10.0, 4.0]] 8')


# ----------------------------------------------------------------------------- angle conventions
@pytest.mark.parametrize('version', ['oc', 'le90', 'le135'])
def test_regularisation_ranges_and_same_rectangle(version):
    boxes = random_rboxes(1000, seed=4)
    regular = regularize_rboxes(boxes, version)
    low, high = RANGES[version]
    assert (regular[:, 4] >= low).all() and (regular[:, 4] < high).all()
    if version != 'oc':
        assert (regular[:, 2] >= regular[:, 3]).all()
    assert same_point_sets(rbox2corners(regular), rbox2corners(boxes))
    assert torch.allclose(regularize_rboxes(regular, version), regular)
    # RotatedBoxes.regularize_boxes: by name, and by (width_longer, start_angle in degrees)
    by_name = RotatedBoxes(boxes.clone())
    assert torch.equal(by_name.regularize_boxes(version), regular)
    width_longer, start = {'oc': (False, -90), 'le90': (True, -90), 'le135': (True, -45)}[version]
    by_range = RotatedBoxes(boxes.clone())
    by_range.regularize_boxes(width_longer=width_longer, start_angle=start)
    assert torch.allclose(by_range.tensor, regular)


def test_regularisation_keeps_boundary_angles_in_range():
    boxes = torch.tensor(
        [
            [0.0, 0.0, 4.0, 2.0, -1e-30],
            [0.0, 0.0, 4.0, 2.0, math.pi / 2],
            [0.0, 0.0, 2.0, 4.0, 0.0],
        ],
        dtype=torch.float64,
    )
    regular = regularize_rboxes(boxes, 'le90')
    assert (regular[:, 4] >= -math.pi / 2).all() and (regular[:, 4] < math.pi / 2).all()
    assert torch.allclose(
        regular[2], torch.tensor([0.0, 0.0, 4.0, 2.0, -math.pi / 2], dtype=torch.float64)
    )


def test_norm_angle():
    angles = torch.linspace(-7, 7, 101, dtype=torch.float64)
    for version in ('le90', 'le135'):
        wrapped = norm_angle(angles, version)
        low, high = RANGES[version]
        assert (wrapped >= low).all() and (wrapped < high).all()
        turns = (wrapped - angles) / math.pi
        assert torch.allclose(turns, turns.round(), atol=1e-9)
    assert torch.equal(norm_angle(angles, 'oc'), angles)
    with pytest.raises(ValueError, match='le90'):
        norm_angle(angles, 'le45')


# ----------------------------------------------------------------------------- flips, rotation
@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_flips(direction):
    img_shape = (100, 200)
    rboxes = random_rboxes(100, seed=5)
    flipped = RotatedBoxes(rboxes.clone())
    flipped.flip_(img_shape, direction)
    quads = QuadriBoxes(rbox2qbox(rboxes))
    quads.flip_(img_shape, direction)
    assert same_point_sets(flipped.corners, quads.vertices)
    expected = rbox2corners(rboxes).clone()
    if direction in ('horizontal', 'diagonal'):
        expected[..., 0] = img_shape[1] - expected[..., 0]
    if direction in ('vertical', 'diagonal'):
        expected[..., 1] = img_shape[0] - expected[..., 1]
    assert torch.allclose(quads.vertices, expected)
    flipped.flip_(img_shape, direction)
    quads.flip_(img_shape, direction)
    assert torch.allclose(flipped.tensor, rboxes)
    assert torch.allclose(quads.tensor, rbox2qbox(rboxes))
    with pytest.raises(ValueError, match='flip direction'):
        flipped.flip_(img_shape, 'sideways')


@pytest.mark.parametrize('angle', [30.0, -75.0, 180.0])
def test_rotation_agrees_with_rotated_corners(angle):
    center = (60.0, 40.0)
    rboxes = random_rboxes(100, seed=6)
    matrix = torch.from_numpy(cv2.getRotationMatrix2D(center, -angle, 1.0))  # clockwise
    corners = rbox2corners(rboxes)
    expected = corners @ matrix[:, :2].T + matrix[:, 2]
    rotated = RotatedBoxes(rboxes.clone())
    rotated.rotate_(center, angle)
    assert same_point_sets(rotated.corners, expected)
    quads = QuadriBoxes(rbox2qbox(rboxes))
    quads.rotate_(center, angle)
    assert torch.allclose(quads.vertices, expected)


def test_translate_rescale_resize_project():
    rboxes = random_rboxes(50, seed=7)
    boxes = RotatedBoxes(rboxes.clone())
    boxes.translate_((3.0, -2.0))
    assert same_point_sets(
        boxes.corners, rbox2corners(rboxes) + torch.tensor([3.0, -2.0], dtype=torch.float64)
    )
    uniform = RotatedBoxes(rboxes.clone())
    uniform.rescale_((0.5, 0.5))
    assert same_point_sets(uniform.corners, rbox2corners(rboxes) * 0.5)
    stretched = RotatedBoxes(rboxes.clone())
    stretched.rescale_((2.0, 0.5))  # the w side of the image box follows the stretch exactly
    w_side = rbox2corners(rboxes)[:, 0] - rbox2corners(rboxes)[:, 3]
    w_side = w_side * torch.tensor([2.0, 0.5], dtype=torch.float64)
    new_side = stretched.corners[:, 0] - stretched.corners[:, 3]
    assert torch.allclose(new_side, w_side, atol=1e-9)
    resized = RotatedBoxes(rboxes.clone())
    resized.resize_((2.0, 3.0))
    assert torch.allclose(resized.areas, rboxes[:, 2] * rboxes[:, 3] * 6)
    shift = np.array([[1, 0, 5], [0, 1, 7], [0, 0, 1]], dtype=np.float64)
    projected = RotatedBoxes(rboxes.clone())
    projected.project_(shift)
    assert same_point_sets(
        projected.corners,
        rbox2corners(rboxes) + torch.tensor([5.0, 7.0], dtype=torch.float64),
        atol=1e-6,
    )
    quads = QuadriBoxes(rbox2qbox(rboxes))
    quads.rescale_((2.0, 0.5))
    assert torch.allclose(
        quads.vertices, rbox2corners(rboxes) * torch.tensor([2.0, 0.5], dtype=torch.float64)
    )
    with pytest.raises(ValueError, match='equal factors'):
        quads.resize_((2.0, 0.5))


def test_areas_and_inside_points():
    rboxes = random_rboxes(30, seed=8)
    polygons = [Polygon(c.tolist()) for c in rbox2corners(rboxes)]
    assert torch.allclose(
        RotatedBoxes(rboxes).areas, torch.tensor([p.area for p in polygons], dtype=torch.float64)
    )
    assert torch.allclose(
        QuadriBoxes(rbox2qbox(rboxes)).areas,
        torch.tensor([p.area for p in polygons], dtype=torch.float64),
    )
    gen = torch.Generator().manual_seed(8)
    points = torch.rand(400, 2, generator=gen, dtype=torch.float64) * torch.tensor([200.0, 100.0])
    expected = torch.tensor(
        [[poly.buffer(-0.01).contains(Point(*p)) for poly in polygons] for p in points.tolist()]
    )
    assert torch.equal(RotatedBoxes(rboxes).find_inside_points(points), expected)
    assert expected.any()
    quad_inside = QuadriBoxes(rbox2qbox(rboxes)).find_inside_points(points, eps=1e-9)
    loose = torch.tensor([[poly.contains(Point(*p)) for poly in polygons] for p in points.tolist()])
    assert torch.equal(quad_inside, loose)
    aligned = RotatedBoxes(rboxes).find_inside_points(rboxes[:, :2], is_aligned=True)
    assert aligned.all()
    assert torch.equal(RotatedBoxes(rboxes).is_inside((100, 200)), torch.ones(30, dtype=torch.bool))


def test_from_instance_masks():
    mask = np.zeros((2, 80, 120), dtype=np.uint8)
    truth = torch.tensor(
        [[60.0, 40.0, 50.0, 20.0, 0.5], [30.0, 30.0, 24.0, 12.0, -0.3]], dtype=torch.float64
    )
    for index, box in enumerate(truth):
        cv2.fillPoly(mask[index], [rbox2corners(box).numpy().round().astype(np.int32)], 1)
    from_bitmap = RotatedBoxes.from_instance_masks(BitmapMasks(mask, 80, 120))
    # pixel centres of the filled polygon: within a pixel or two of the continuous rectangle
    error = (from_bitmap.tensor.double() - regularize_rboxes(truth)).abs()
    assert (error[:, :2] < 1).all() and (error[:, 2:4] < 2.5).all() and (error[:, 4] < 0.05).all()
    polygons = PolygonMasks([[rbox2qbox(box).numpy()] for box in truth], 80, 120)
    from_polygon = RotatedBoxes.from_instance_masks(polygons)
    assert torch.allclose(from_polygon.tensor.double(), regularize_rboxes(truth), atol=1e-3)
    quads = QuadriBoxes.from_instance_masks(polygons)
    assert same_point_sets(quads.vertices.double(), rbox2corners(truth), atol=1e-3)


# ----------------------------------------------------------------------------- mmcv rotated IoU
def test_mmcv_rotated_iou_agrees_with_the_torch_iou():
    boxes1 = random_rboxes(300, seed=9, dtype=torch.float32)
    boxes2 = boxes1 + torch.randn(
        300, 5, generator=torch.Generator().manual_seed(9)
    ) * torch.tensor([4.0, 4.0, 2.0, 2.0, 0.3])
    boxes2[:, 2:4] = boxes2[:, 2:4].clamp(min=1)
    aligned = rbox_overlaps(boxes1, boxes2, is_aligned=True)
    assert torch.allclose(
        aligned, rotated_box_iou(boxes1.double(), boxes2.double()).float(), atol=1e-4
    )
    full = rbox_overlaps(boxes1[:40], boxes2[:30])
    expected = rotated_box_iou(
        boxes1[:40].double().repeat_interleave(30, 0), boxes2[:30].double().repeat(40, 1)
    ).view(40, 30)
    assert torch.allclose(full.double(), expected, atol=1e-4)


def test_rbox_overlaps_of_a_crowd_equals_every_pair_computed():
    """All pairs only clip the polygons of pairs whose horizontal extents touch; the result
    is the op's value on every pair (the others 0), in IoU and IoF, and equals mmcv's dense
    op wherever that op is right (pairs without nearly collinear edges)."""
    from mmcv.ops import box_iou_rotated

    from rtmdet_plus.structures.bbox.rotated_overlaps import near_collinear_edges

    generator = torch.Generator().manual_seed(11)
    crowd = torch.rand(400, 5, generator=generator) * torch.tensor([512.0, 512.0, 30.0, 30.0, 3.0])
    crowd[:, 2:4] += 1
    crowd[:, 4] -= 1.5
    priors = crowd[torch.randint(0, 400, (900,), generator=generator)].clone()
    priors[:300] += torch.randn(300, 5, generator=generator) * torch.tensor(
        [3.0, 3.0, 1.0, 1.0, 0.2]
    )
    # the same rectangles described with the sides swapped and the angle turned by 90 degrees
    priors[300:400] = priors[300:400][:, [0, 1, 3, 2, 4]] + torch.tensor(
        [0.0, 0.0, 0.0, 0.0, math.pi / 2]
    )
    priors[:, 2:4] = priors[:, 2:4].clamp(min=1)
    for mode in ('iou', 'iof'):
        full = rbox_overlaps(priors, crowd, mode=mode)
        every_pair = rbox_overlaps(
            priors.repeat_interleave(400, 0), crowd.repeat(900, 1), mode=mode, is_aligned=True
        ).view(900, 400)
        assert torch.equal(full, every_pair)
        dense = box_iou_rotated(priors, crowd, mode=mode)
        plain = ~near_collinear_edges(priors[:, None], crowd[None])
        assert torch.equal(full[plain], dense[plain])
        assert 0.002 < (full > 0).float().mean() < 0.05  # a crowd: few pairs touch
    assert (full[300:400] > 0.99).any()  # the turned descriptions overlap their rectangles


def test_rbox_overlaps_modes_shapes_and_calculator():
    boxes1 = random_rboxes(6, seed=10, dtype=torch.float32)
    boxes2 = random_rboxes(4, seed=11, dtype=torch.float32)
    calculator = TASK_UTILS.build(dict(type='RBboxOverlaps2D'))
    with_scores = torch.cat([boxes2, torch.rand(4, 1)], 1)
    assert torch.equal(calculator(RotatedBoxes(boxes1), with_scores), rbox_overlaps(boxes1, boxes2))
    inside = torch.tensor([[10.0, 10.0, 4.0, 2.0, 0.3]])
    outer = torch.tensor([[10.0, 10.0, 40.0, 20.0, -0.2]])
    assert rbox_overlaps(inside, outer, mode='iof').item() == pytest.approx(1.0, abs=1e-5)
    assert rbox_overlaps(inside, outer).item() == pytest.approx(8 / 800, abs=1e-5)
    assert rbox_overlaps(torch.zeros(0, 5), boxes2).shape == (0, 4)
    assert calculator(boxes1, torch.zeros(0, 5)).shape == (6, 0)
    assert rbox_overlaps(boxes1[:0], boxes1[:0], is_aligned=True).shape == (0,)
    assert RotatedBoxes.overlaps(RotatedBoxes(boxes1), RotatedBoxes(boxes2)).shape == (6, 4)
    with pytest.raises(ValueError, match="'iou' or 'iof'"):
        rbox_overlaps(boxes1, boxes2, mode='giou')
    with pytest.raises(ValueError, match=r'\(N, 5\)'):
        calculator(boxes1[:, :4], boxes2)
    with pytest.raises(ValueError, match='as many'):
        rbox_overlaps(boxes1, boxes2, is_aligned=True)


def test_rotated_nms_keeps_what_greedy_rotated_iou_keeps():
    boxes = random_rboxes(60, seed=12, dtype=torch.float32)
    boxes = torch.cat([boxes, boxes + torch.tensor([1.0, 1.0, 0.0, 0.0, 0.1])])
    scores = torch.rand(120, generator=torch.Generator().manual_seed(12))
    labels = torch.zeros(120, dtype=torch.long)
    _, keep = batched_nms(boxes, scores, labels, dict(type='nms_rotated', iou_threshold=0.3))
    ious = rbox_overlaps(boxes, boxes)
    expected = []
    for index in scores.argsort(descending=True).tolist():
        if all(ious[index, kept] <= 0.3 for kept in expected):
            expected.append(index)
    assert sorted(keep.tolist()) == sorted(expected)


@pytest.mark.parametrize('offset', [1e-7, 1e-6, 1e-4, 1e-2])
def test_rbox_overlaps_exact_for_nearly_collinear_edges(offset):
    """mmcv 2.1.0's CPU box_iou_rotated returns arbitrary values for nearly collinear edges;
    rbox_overlaps recomputes those pairs and agrees with the polygon-clipping IoU."""
    from rtmdet_plus.structures import rbox_overlaps, rotated_box_iou

    gen = torch.Generator().manual_seed(0)
    boxes = torch.rand(3000, 5, generator=gen) * torch.tensor(
        [100, 100, 50, 50, 3.0]
    ) + torch.tensor([0, 0, 5, 5, -1.5])
    for moved in (
        boxes + torch.tensor([0, 0, 0, 0, offset]),
        boxes + torch.tensor([offset, offset, 0, 0, 0]),
    ):
        expected = rotated_box_iou(boxes.double(), moved.double()).float()
        assert (rbox_overlaps(boxes, moved, is_aligned=True) - expected).abs().max() < 1e-4
        assert (rbox_overlaps(boxes[:200], moved[:200]).diag() - expected[:200]).abs().max() < 1e-4
