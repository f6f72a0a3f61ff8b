"""Rotated-box transforms: ours (ConvertBoxType, FixedAngleRotate, RandomRotate,
RandomChoiceRotate) and proof that mmdet's RandomFlip, Resize, Pad and RandomCrop keep rotated
boxes on their objects (the box is drawn into the image, transformed with it, and the drawn box
of the transformed box must cover the transformed drawing)."""

import math

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from rtmdet_plus.datasets.rotated_transforms import RECT_PRESERVING_ANGLES
from rtmdet_plus.registry import TRANSFORMS
from rtmdet_plus.structures.bbox import QuadriBoxes, RotatedBoxes, rbox2corners, rbox2qbox

SIZE = (120, 160)  # h, w


pytestmark = pytest.mark.usefixtures('rtmdet_plus_scope')


def draw(boxes: torch.Tensor, shape) -> np.ndarray:
    """(H, W) uint8 mask with the rotated boxes filled (continuous pixel coordinates)."""
    mask = np.zeros(shape, np.uint8)
    for corners in rbox2corners(boxes).numpy():
        cv2.fillPoly(mask, [np.round((corners - 0.5) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return mask


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    return (a & b).sum() / max((a | b).sum(), 1)


def make_results(boxes: torch.Tensor, labels=None) -> dict:
    img = np.repeat(draw(boxes, SIZE)[..., None], 3, axis=2)
    labels = np.arange(len(boxes)) if labels is None else np.asarray(labels)
    return dict(
        img=img,
        img_shape=SIZE,
        ori_shape=SIZE,
        gt_bboxes=RotatedBoxes(boxes.clone()),
        gt_bboxes_labels=labels.astype(np.int64),
        gt_ignore_flags=np.zeros(len(boxes), bool),
    )


def assert_boxes_follow_image(results: dict, min_iou: float = 0.93) -> None:
    img_mask = results['img'][..., 0]
    box_mask = draw(results['gt_bboxes'].tensor, img_mask.shape)
    iou = mask_iou(img_mask, box_mask)
    assert iou >= min_iou, f'boxes and image disagree after the transform: mask IoU {iou:.3f}'


BOXES = torch.tensor(
    [[50.0, 40.0, 60.0, 18.0, math.radians(30)], [110.0, 80.0, 40.0, 14.0, math.radians(-65)]]
)


def test_convert_box_type():
    quads = rbox2qbox(BOXES)
    results = TRANSFORMS.build(
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox', absent='rbox'))
    )(dict(gt_bboxes=QuadriBoxes(quads)))
    assert isinstance(results['gt_bboxes'], RotatedBoxes)
    torch.testing.assert_close(rbox2qbox(results['gt_bboxes'].tensor), quads, atol=1e-3, rtol=0)
    hboxes = TRANSFORMS.build(dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='hbox')))(
        dict(gt_bboxes=RotatedBoxes(BOXES.clone()))
    )['gt_bboxes']
    assert isinstance(hboxes, HorizontalBoxes)
    with pytest.raises(TypeError, match="results\\['gt_bboxes'\\]"):
        TRANSFORMS.build(dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')))(
            dict(gt_bboxes=np.zeros((1, 8)))
        )


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_mmdet_random_flip_flips_rotated_boxes(direction):
    flip = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0, direction=direction))
    assert type(flip).__module__.startswith('mmdet.')  # no class of ours is needed
    results = make_results(BOXES)
    before = results['gt_bboxes'].tensor.clone()
    results = flip(results)
    assert results['flip_direction'] == direction
    assert not torch.allclose(results['gt_bboxes'].tensor, before)
    assert_boxes_follow_image(results)


# a rotated box 5 degrees off its object scores about 0.87; downscaled objects are blurrier
@pytest.mark.parametrize('scale, min_iou', [((80, 60), 0.85), ((320, 240), 0.93)])
def test_mmdet_resize_keeps_rotated_boxes_on_objects(scale, min_iou):
    resize = TRANSFORMS.build(
        dict(type='Resize', scale=scale, keep_ratio=True, clip_object_border=False)
    )
    results = resize(make_results(BOXES))
    assert results['img'].shape[:2] == tuple(results['img_shape'])
    assert_boxes_follow_image(results, min_iou)


def test_mmdet_pad_and_random_crop_keep_rotated_boxes_on_objects():
    # objects inside [50, 150)^2: every 150x150 crop of the 200x200 padded image holds them
    boxes = torch.tensor(
        [[85.0, 85.0, 40.0, 14.0, math.radians(30)], [125.0, 95.0, 30.0, 10.0, math.radians(-65)]]
    )
    results = TRANSFORMS.build(dict(type='Pad', size=(200, 200)))(make_results(boxes))
    assert results['img'].shape[:2] == (200, 200)
    assert_boxes_follow_image(results)
    np.random.seed(0)
    crop = TRANSFORMS.build(dict(type='RandomCrop', crop_size=(150, 150), bbox_clip_border=False))
    for _ in range(3):
        cropped = crop({**results, 'gt_bboxes': results['gt_bboxes'].clone()})
        assert cropped['img'].shape[:2] == (150, 150)
        assert cropped['gt_bboxes_labels'].tolist() == [0, 1]
        assert_boxes_follow_image(cropped)


@pytest.mark.parametrize('angle', [30, -75, 90, 180])
def test_fixed_angle_rotate(angle):
    rotate = TRANSFORMS.build(dict(type='FixedAngleRotate', rotate_angle=angle))
    results = rotate(make_results(BOXES))
    assert results['img'].shape[:2] == SIZE
    assert len(results['gt_bboxes']) == 2
    assert_boxes_follow_image(results)
    # the recorded homography (pixel-index coordinates) moves the centres as the boxes moved
    centres = np.c_[BOXES[:, :2].numpy() - 0.5, np.ones(2)] @ results['homography_matrix'].T
    np.testing.assert_allclose(
        centres[:, :2] + 0.5, results['gt_bboxes'].tensor[:, :2].numpy(), atol=1e-3
    )


def test_rotate_drops_objects_whose_centre_leaves_the_image():
    boxes = torch.tensor([[6.0, 6.0, 8.0, 4.0, 0.0], [80.0, 60.0, 30.0, 10.0, 0.3]])
    results = TRANSFORMS.build(dict(type='FixedAngleRotate', rotate_angle=45))(
        make_results(boxes, labels=[3, 5])
    )
    assert results['gt_bboxes_labels'].tolist() == [5]
    assert results['gt_ignore_flags'].tolist() == [False]
    assert len(results['gt_bboxes']) == 1


def test_random_rotate_probability_and_angle_range():
    rotate = TRANSFORMS.build(dict(type='RandomRotate', prob=0.0))
    results = make_results(BOXES)
    img = results['img'].copy()
    results = rotate(results)
    assert np.array_equal(results['img'], img) and 'homography_matrix' not in results
    rotate = TRANSFORMS.build(dict(type='RandomRotate', prob=1.0, angle_range=10))
    np.random.seed(1)
    for _ in range(5):
        results = rotate(make_results(BOXES))
        assert abs(rotate.rotate.rotate_angle) <= 10
        assert_boxes_follow_image(results)


def test_random_rotate_keeps_rect_objects_rectangular():
    axis_aligned = torch.tensor([[60.0, 60.0, 40.0, 20.0, 0.0], [100.0, 50.0, 20.0, 20.0, 0.0]])
    rotate = TRANSFORMS.build(
        dict(type='RandomRotate', prob=1.0, angle_range=180, rect_obj_labels=[9, 11])
    )
    np.random.seed(0)
    for _ in range(6):
        results = rotate(make_results(axis_aligned, labels=[0, 11]))
        assert rotate.rotate.rotate_angle in RECT_PRESERVING_ANGLES
        angles = results['gt_bboxes'].tensor[:, 4]
        quarter_turns = angles / (math.pi / 2)
        torch.testing.assert_close(quarter_turns, quarter_turns.round(), atol=1e-4, rtol=0)
    seen = set()
    for _ in range(6):  # without a rect-object label, any angle
        rotate(make_results(axis_aligned, labels=[0, 1]))
        seen.add(rotate.rotate.rotate_angle)
    assert not seen <= set(RECT_PRESERVING_ANGLES)


def test_random_choice_rotate():
    rotate = TRANSFORMS.build(dict(type='RandomChoiceRotate', angles=[45, 90], prob=1.0))
    np.random.seed(0)
    for _ in range(4):
        results = rotate(make_results(BOXES))
        assert rotate.rotate.rotate_angle in (45, 90)
        assert_boxes_follow_image(results)
    with pytest.raises(ValueError, match='without 0'):
        TRANSFORMS.build(dict(type='RandomChoiceRotate', angles=[0, 90]))


def test_names_in_our_scope_and_mmdet_rotate_not_shadowed():
    for name in ('ConvertBoxType', 'RandomRotate', 'RandomChoiceRotate', 'FixedAngleRotate'):
        assert TRANSFORMS.get(name).__module__ == 'rtmdet_plus.datasets.rotated_transforms'
    assert TRANSFORMS.get('Rotate').__module__.startswith('mmdet.')
    # mmrotate's default rotate_type='Rotate' spelled out still gets the fixed-angle rotation
    rotate = TRANSFORMS.build(dict(type='RandomRotate', rotate_type='Rotate'))
    assert type(rotate.rotate).__name__ == 'FixedAngleRotate'
    with pytest.raises(ValueError, match='angle_range'):
        TRANSFORMS.build(dict(type='RandomRotate', angle_range=270))
