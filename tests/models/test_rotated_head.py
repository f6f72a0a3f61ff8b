"""RTMDet-R heads and coders: state-dict names of mmrotate 1.x, decoding geometry, losses,
rotated prediction (rescale, rotated NMS), agreement with the horizontal head at angle 0."""

import math

import pytest
import torch
from mmengine.structures import InstanceData

from rtmdet_plus.models.dense_heads import RotatedRTMDetHead, RTMDetSepBNHead
from rtmdet_plus.models.task_modules.coders import (
    DistanceAnglePointCoder,
    PseudoAngleCoder,
    distance_angle_to_rbox,
    rbox_to_distance_angle,
)
from rtmdet_plus.registry import TASK_UTILS
from rtmdet_plus.structures.bbox import RotatedBoxes, rbox2corners, rbox_overlaps
from tests.helpers.heads import TEST_CFG, TRAIN_CFG, expected_sepbn_keys, sepbn_head

STRIDES = (8, 16, 32)


pytestmark = pytest.mark.usefixtures('one_thread')


def features(channels: int, size: int = 64, batch: int = 2, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, channels, size // s, size // s, generator=gen) for s in STRIDES]


def rotated_gts(size: int = 64):
    return [
        InstanceData(
            bboxes=RotatedBoxes(
                torch.tensor([[20.0, 24.0, 26.0, 12.0, 0.4], [44.0, 40.0, 10.0, 22.0, -1.2]])
            ),
            labels=torch.tensor([3, 7]),
        ),
        InstanceData(
            bboxes=RotatedBoxes(torch.tensor([[30.0, 33.0, 30.0, 18.0, 1.0]])),
            labels=torch.tensor([0]),
        ),
    ]


def metas(size: int = 64, batch: int = 2, scale=(1.0, 1.0)):
    return [dict(img_shape=(size, size), pad_shape=(size, size), scale_factor=scale)] * batch


# ---------------------------------------------------------------------------- coders
def random_rboxes(num: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.cat(
        [
            torch.rand(num, 2, generator=gen) * 100,
            torch.rand(num, 2, generator=gen) * 40 + 2,
            (torch.rand(num, 1, generator=gen) - 0.5) * math.pi,
        ],
        1,
    )


def test_decoded_box_sides_lie_at_the_given_distances():
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(200, 2, generator=gen) * 100
    distances = torch.cat(
        [
            torch.rand(200, 4, generator=gen) * 30 + 0.5,
            (torch.rand(200, 1, generator=gen) - 0.5) * 3,
        ],
        1,
    )
    boxes = distance_angle_to_rbox(points, distances, 'oc')
    corners = rbox2corners(boxes)  # (N, 4, 2)
    # signed distance of the point to the side line through two corners, per corner pair
    side_distances = []
    for first in range(4):
        a, b = corners[:, first], corners[:, (first + 1) % 4]
        edge = b - a
        cross = edge[:, 0] * (points[:, 1] - a[:, 1]) - edge[:, 1] * (points[:, 0] - a[:, 0])
        side_distances.append(cross.abs() / edge.norm(dim=1))
    side_distances = torch.stack(side_distances, 1).sort(1).values
    assert torch.allclose(side_distances, distances[:, :4].sort(1).values, atol=1e-3)
    assert torch.allclose(boxes[:, 2], distances[:, 0] + distances[:, 2])  # w = left + right
    assert torch.allclose(boxes[:, 3], distances[:, 1] + distances[:, 3])  # h = top + bottom
    # along the w axis the point sits (left - right) / 2 from the centre, across it
    # (top - bottom) / 2
    offset = points - boxes[:, :2]
    cos, sin = boxes[:, 4].cos(), boxes[:, 4].sin()
    along = cos * offset[:, 0] + sin * offset[:, 1]
    across = -sin * offset[:, 0] + cos * offset[:, 1]
    assert torch.allclose(along, (distances[:, 0] - distances[:, 2]) / 2, atol=1e-3)
    assert torch.allclose(across, (distances[:, 1] - distances[:, 3]) / 2, atol=1e-3)


def test_encode_inverts_decode_for_points_inside():
    boxes = random_rboxes(300)
    gen = torch.Generator().manual_seed(2)
    local = (torch.rand(300, 2, generator=gen) - 0.5) * boxes[:, 2:4] * 0.9
    cos, sin = boxes[:, 4].cos(), boxes[:, 4].sin()
    points = boxes[:, :2] + torch.stack(
        [cos * local[:, 0] - sin * local[:, 1], sin * local[:, 0] + cos * local[:, 1]], 1
    )
    coder = DistanceAnglePointCoder(angle_version='le90')
    distances = coder.encode(points, boxes)
    assert (distances[:, :4] > 0).all()
    assert torch.allclose(coder.decode(points, distances), boxes, atol=1e-3)
    clamped = coder.encode(points, boxes, max_dis=5.0, eps=0.1)
    assert clamped[:, :4].max() <= 4.9 + 1e-6


def test_decode_wraps_the_angle_into_the_angle_version():
    points = torch.zeros(3, 2)
    distances = torch.tensor([[1.0, 2, 3, 4, 2.0], [1, 2, 3, 4, -2.0], [1, 2, 3, 4, 0.5]])
    le90 = DistanceAnglePointCoder(angle_version='le90').decode(points, distances)
    assert ((le90[:, 4] >= -math.pi / 2) & (le90[:, 4] < math.pi / 2)).all()
    oc = DistanceAnglePointCoder(angle_version='oc').decode(points, distances)
    assert torch.equal(oc[:, 4], distances[:, 4])

    # same rectangle: a turn by pi changes nothing (same corner set)
    def corner_set(boxes):
        corners = rbox2corners(boxes)
        order = (corners[..., 0] * 1000 + corners[..., 1]).argsort(1)
        return corners[torch.arange(len(boxes))[:, None], order]

    assert torch.allclose(corner_set(le90), corner_set(oc), atol=1e-4)
    batched = DistanceAnglePointCoder(angle_version='le90').decode(
        points, distances[None].repeat(2, 1, 1)
    )
    assert torch.allclose(batched[1], le90)


def test_coders_are_registered_with_mmrotate_names_and_check_input():
    coder = TASK_UTILS.build(dict(type='DistanceAnglePointCoder', angle_version='le135'))
    assert isinstance(coder, DistanceAnglePointCoder) and coder.angle_version == 'le135'
    angle_coder = TASK_UTILS.build(dict(type='PseudoAngleCoder'))
    assert isinstance(angle_coder, PseudoAngleCoder) and angle_coder.encode_size == 1
    angles = torch.randn(5, 1)
    assert angle_coder.encode(angles) is angles
    assert angle_coder.decode(angles).shape == (5,)
    assert angle_coder.decode(angles, keepdim=True) is angles
    with pytest.raises(ValueError, match='angle_version'):
        DistanceAnglePointCoder(angle_version='le45')
    with pytest.raises(ValueError, match='N, 5'):
        coder.decode(torch.zeros(3, 2), torch.zeros(3, 4))
    assert torch.allclose(
        rbox_to_distance_angle(
            torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 1.0, 4.0, 2.0, 0.0]])
        ),
        torch.tensor([[2.0, 1.0, 2.0, 1.0, 0.0]]),
    )


# ---------------------------------------------------------------------------- state dict
def shapes(module) -> dict:
    return {name: tuple(value.shape) for name, value in module.state_dict().items()}


def test_sepbn_state_dict_equals_mmrotate_names_and_shapes():
    head = sepbn_head()
    assert shapes(head) == expected_sepbn_keys()
    # the shared-conv quirk: one tensor under every level's name
    for level in (1, 2):
        for tower in (head.cls_convs, head.reg_convs):
            assert tower[level][0].conv.weight is tower[0][0].conv.weight
            assert tower[level][0].bn is not tower[0][0].bn
    checkpoint = {
        name: torch.randn(shape) if shape else torch.tensor(5)
        for name, shape in expected_sepbn_keys().items()
    }
    head.load_state_dict(checkpoint, strict=True)
    assert torch.equal(head.rtm_ang[2].weight, checkpoint['rtm_ang.2.weight'])


def test_shared_head_state_dict_equals_mmrotate_names_and_shapes():
    head = RotatedRTMDetHead(
        num_classes=4,
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        with_objectness=False,
        train_cfg=TRAIN_CFG,
        test_cfg=TEST_CFG,
    )
    expected = {}
    for tower in ('cls_convs', 'reg_convs'):
        for i in range(2):
            expected[f'{tower}.{i}.conv.weight'] = (32, 32, 3, 3)
            expected[f'{tower}.{i}.gn.weight'] = (32,)
            expected[f'{tower}.{i}.gn.bias'] = (32,)
    for conv, out in (('rtm_cls', 4), ('rtm_reg', 4), ('rtm_ang', 1)):
        expected[f'{conv}.weight'] = (out, 32, 3, 3)
        expected[f'{conv}.bias'] = (out,)
    expected.update({f'scales.{level}.scale': () for level in range(3)})
    expected['scale_angle.scale'] = ()
    assert shapes(head) == expected
    without_scale = RotatedRTMDetHead(
        num_classes=4,
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        scale_angle=False,
        with_objectness=False,
    )
    assert 'scale_angle.scale' not in without_scale.state_dict()


def test_forward_shapes():
    head = sepbn_head()
    cls_scores, bbox_preds, angle_preds = head(features(96))
    for level, stride in enumerate(STRIDES):
        side = 64 // stride
        assert cls_scores[level].shape == (2, 15, side, side)
        assert bbox_preds[level].shape == (2, 4, side, side)
        assert angle_preds[level].shape == (2, 1, side, side)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='scale_angle'):
        sepbn_head(scale_angle=True)
    with pytest.raises(ValueError, match='loss_angle'):
        sepbn_head(use_hbbox_loss=True)
    with pytest.raises(ValueError, match='angle_version'):
        sepbn_head(bbox_coder=dict(type='DistanceAnglePointCoder', angle_version='oc'))
    with pytest.raises(ValueError, match='DistanceAnglePointCoder'):
        sepbn_head(bbox_coder=dict(type='DistancePointBBoxCoder'))
    with pytest.raises(ValueError, match='angle_version'):
        sepbn_head(angle_version='r360')
    # the coder takes the head's angle_version when it names none
    head = sepbn_head(angle_version='le135', bbox_coder=dict(type='DistanceAnglePointCoder'))
    assert head.bbox_coder.angle_version == 'le135'


# ---------------------------------------------------------------------------- losses
def exp_head(**kwargs):
    """A SepBN head with exp distances (boxes of a few strides from the start)."""
    return sepbn_head(in_channels=32, feat_channels=32, exp_on_reg=True, **kwargs)


def test_batched_and_per_image_losses_agree_and_backpropagate():
    head = exp_head(loss_angle=dict(type='L1Loss', loss_weight=0.2))
    feats = features(32)
    outs = head(feats)
    head.batched_assign = True
    batched = head.loss_by_feat(*outs, rotated_gts(), metas())
    head.batched_assign = False
    per_image = head.loss_by_feat(*outs, rotated_gts(), metas())
    assert set(batched) == {'loss_cls', 'loss_bbox', 'loss_angle'}
    for name in batched:
        assert torch.isfinite(batched[name]) and batched[name] > 0
        assert torch.allclose(batched[name], per_image[name], rtol=1e-5, atol=1e-7), name
    sum(batched.values()).backward()
    assert head.rtm_ang[0].weight.grad.abs().sum() > 0


def test_targets_are_spelled_in_the_angle_version():
    """The same rectangles written two ways (w < h, angle + pi/2) give the same losses, the
    angle loss included: targets are regularised to le90 first."""
    head = exp_head(loss_angle=dict(type='L1Loss', loss_weight=1.0))
    outs = head(features(32))
    gts = rotated_gts()
    respelled = []
    for gt in gts:
        boxes = gt.bboxes.tensor.clone()
        boxes = torch.stack(
            [
                boxes[:, 0],
                boxes[:, 1],
                boxes[:, 3],
                boxes[:, 2],
                boxes[:, 4] + math.pi / 2 + math.pi,
            ],
            1,
        )
        respelled.append(InstanceData(bboxes=RotatedBoxes(boxes), labels=gt.labels))
    losses = head.loss_by_feat(*outs, gts, metas())
    same = head.loss_by_feat(*outs, respelled, metas())
    for name in losses:
        assert torch.allclose(losses[name], same[name], rtol=1e-4, atol=1e-6), name


def test_horizontal_box_loss_option():
    head = exp_head(
        use_hbbox_loss=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_angle=dict(type='L1Loss', loss_weight=0.2),
    )
    outs = head(features(32))
    losses = head.loss_by_feat(*outs, rotated_gts(), metas())
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_angle'}
    assert all(torch.isfinite(value) and value > 0 for value in losses.values())
    sum(losses.values()).backward()
    assert head.rtm_reg[0].weight.grad.abs().sum() > 0


def test_no_ground_truth_gives_zero_box_losses():
    head = exp_head(loss_angle=dict(type='L1Loss'))
    outs = head(features(32))
    empty = [
        InstanceData(
            bboxes=RotatedBoxes(torch.zeros(0, 5)), labels=torch.zeros(0, dtype=torch.long)
        )
    ] * 2
    for batched in (True, False):
        head.batched_assign = batched
        losses = head.loss_by_feat(*outs, empty, metas())
        assert losses['loss_bbox'] == 0 and losses['loss_angle'] == 0
        assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'] > 0


def test_angle_zero_gives_the_horizontal_head_assignment():
    """With the angle conv at zero and upright ground truth, the rotated head assigns as the
    horizontal head does: the classification losses (soft labels = assigned IoUs) agree."""
    common = dict(
        num_classes=15,
        in_channels=32,
        feat_channels=32,
        stacked_convs=2,
        with_objectness=False,
        exp_on_reg=True,
        share_conv=True,
        pred_kernel_size=1,
        train_cfg=dict(TRAIN_CFG, assigner=dict(type='DynamicSoftLabelAssigner', topk=13)),
    )
    horizontal = RTMDetSepBNHead(**common)
    horizontal.init_weights()
    rotated = exp_head()
    rotated.load_state_dict(horizontal.state_dict(), strict=False)
    for conv in rotated.rtm_ang:
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    hboxes = [
        torch.tensor([[6.5, 10.5, 30.5, 22.5], [36.5, 30.5, 50.5, 60.5]]),
        torch.tensor([[14.5, 20.5, 46.5, 44.5]]),
    ]
    labels = [torch.tensor([3, 7]), torch.tensor([0])]
    h_gts = [InstanceData(bboxes=b, labels=label) for b, label in zip(hboxes, labels)]
    upright = [
        torch.cat([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2], torch.zeros(len(b), 1)], dim=1)
        for b in hboxes
    ]
    r_gts = [
        InstanceData(bboxes=RotatedBoxes(b), labels=label) for b, label in zip(upright, labels)
    ]
    feats = features(32)
    h_losses = horizontal.loss_by_feat(*horizontal(feats), h_gts, metas())
    r_losses = rotated.loss_by_feat(*rotated(feats), r_gts, metas())
    assert h_losses['loss_cls'] > 0
    assert torch.allclose(h_losses['loss_cls'], r_losses['loss_cls'], rtol=1e-4)


# ---------------------------------------------------------------------------- prediction
def test_prediction_rescales_and_applies_rotated_nms():
    head = exp_head()
    head.eval()
    with torch.no_grad():
        outs = head(features(32, batch=1))
        cfg = dict(
            nms_pre=200,
            score_thr=0.0,
            min_bbox_size=0,
            nms=dict(type='nms_rotated', iou_threshold=0.1),
            max_per_img=30,
        )
        raw = head.predict_by_feat(*outs, batch_img_metas=metas(batch=1), cfg=cfg, with_nms=False)[
            0
        ]
        scaled = head.predict_by_feat(
            *outs,
            batch_img_metas=metas(batch=1, scale=(2.0, 2.0)),
            cfg=cfg,
            rescale=True,
            with_nms=False,
        )[0]
        kept = head.predict_by_feat(*outs, batch_img_metas=metas(batch=1), cfg=cfg)[0]
    assert isinstance(raw.bboxes, RotatedBoxes) and isinstance(kept.bboxes, RotatedBoxes)
    assert raw.bboxes.tensor.shape == (len(raw.scores), 5)
    halved = raw.bboxes.tensor.clone()
    halved[:, :4] /= 2
    assert torch.allclose(scaled.bboxes.tensor, halved, atol=1e-4)
    assert 0 < len(kept) <= 30 < len(raw)
    assert (kept.scores[:-1] >= kept.scores[1:]).all()
    boxes = kept.bboxes.tensor
    same_class = kept.labels[:, None] == kept.labels[None]
    overlaps = rbox_overlaps(boxes, boxes) * same_class
    overlaps.fill_diagonal_(0)
    assert overlaps.max() <= 0.1 + 1e-4
    # every kept box is one of the candidates (same score), decoded in le90
    assert torch.isin(kept.scores, raw.scores).all()
    assert ((boxes[:, 4] >= -math.pi / 2) & (boxes[:, 4] < math.pi / 2)).all()


def test_unequal_rescale_matches_rotated_boxes_rescale():
    head = exp_head()
    head.eval()
    with torch.no_grad():
        outs = head(features(32, batch=1))
        cfg = dict(
            nms_pre=50,
            score_thr=0.0,
            nms=dict(type='nms_rotated', iou_threshold=0.1),
            max_per_img=50,
        )
        raw = head.predict_by_feat(*outs, batch_img_metas=metas(batch=1), cfg=cfg, with_nms=False)[
            0
        ]
        scaled = head.predict_by_feat(
            *outs,
            batch_img_metas=metas(batch=1, scale=(2.0, 0.5)),
            cfg=cfg,
            rescale=True,
            with_nms=False,
        )[0]
    expected = raw.bboxes.clone()
    expected.rescale_((0.5, 2.0))
    assert torch.allclose(scaled.bboxes.tensor, expected.tensor, atol=1e-4)
