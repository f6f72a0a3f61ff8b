"""DOTAMetric and the rotated VOC mAP: perfect predictions, a hand-computed case in both AP
modes, difficult objects, agreement with mmdet's eval_map on axis-aligned boxes, merging of
patch predictions and the submission files."""

import math
import zipfile

import numpy as np
import pytest
import torch
from mmdet.evaluation.functional import eval_map
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from rtmdet_plus.evaluation import DOTAMetric, merge_patch_detections, parse_patch_name
from rtmdet_plus.evaluation.functional import eval_rbbox_map
from rtmdet_plus.registry import METRICS
from rtmdet_plus.structures.bbox import RotatedBoxes, rbox2hbox, rbox2qbox

CLASSES = ('plane', 'ship', 'harbor')


def sample(img_id, gt_boxes, gt_labels, pred_boxes, scores, pred_labels, ignored=None) -> dict:
    """A data sample as the evaluator hands it to ``process`` (``DetDataSample.to_dict()``)."""
    data = DetDataSample(metainfo=dict(img_id=img_id))
    data.gt_instances = InstanceData(
        bboxes=RotatedBoxes(torch.tensor(gt_boxes).reshape(-1, 5)),
        labels=torch.tensor(gt_labels, dtype=torch.long),
    )
    ignored_boxes, ignored_labels = ignored or (torch.zeros(0, 5), [])
    data.ignored_instances = InstanceData(
        bboxes=RotatedBoxes(torch.as_tensor(ignored_boxes).reshape(-1, 5)),
        labels=torch.tensor(ignored_labels, dtype=torch.long),
    )
    data.pred_instances = InstanceData(
        bboxes=torch.tensor(pred_boxes).reshape(-1, 5),
        scores=torch.tensor(scores),
        labels=torch.tensor(pred_labels, dtype=torch.long),
    )
    return data.to_dict()


def evaluate(samples, **kwargs) -> dict:
    metric = DOTAMetric(**kwargs)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def random_rboxes(rng, count, angle=True):
    boxes = np.c_[
        rng.uniform(20, 180, (count, 2)),
        rng.uniform(8, 40, (count, 2)),
        rng.uniform(-math.pi / 2, math.pi / 2, count) if angle else np.zeros(count),
    ]
    return boxes.astype(np.float32)


@pytest.mark.parametrize('eval_mode', ['11points', 'area'])
def test_perfect_predictions_give_map_one(eval_mode):
    rng = np.random.default_rng(0)
    samples = []
    for index in range(3):
        boxes = random_rboxes(rng, 4)
        labels = rng.integers(0, 3, 4)
        samples.append(sample(f'img{index}', boxes, labels, boxes, rng.uniform(0.3, 1, 4), labels))
    results = evaluate(samples, eval_mode=eval_mode, iou_thrs=[0.5, 0.75])
    assert results['mAP'] == pytest.approx(1.0)
    assert results['AP50'] == 1.0 and results['AP75'] == 1.0


def hand_case():
    """2 ground truths of one class (30 degree boxes), 3 detections by falling score:
    A on gt 1 exactly (IoU 1), B on nothing (IoU 0), C on gt 2 shifted 2.5 px along its
    10 px side (IoU 7.5 * 10 / (2 * 100 - 75) = 0.6)."""
    angle = math.radians(30)
    gt1 = [40.0, 40.0, 10.0, 10.0, angle]
    gt2 = [120.0, 80.0, 10.0, 10.0, angle]
    det_c = [120.0 + 2.5 * math.cos(angle), 80.0 + 2.5 * math.sin(angle), 10.0, 10.0, angle]
    det_b = [160.0, 20.0, 10.0, 10.0, angle]
    return sample('img', [gt1, gt2], [1, 1], [gt1, det_b, det_c], [0.9, 0.8, 0.7], [1, 1, 1])


def test_hand_computed_case_iou_of_the_shifted_detection():
    boxes = hand_case()['pred_instances']['bboxes']
    gts = hand_case()['gt_instances']['bboxes'].tensor
    iou = RotatedBoxes.overlaps(RotatedBoxes(boxes[2:]), RotatedBoxes(gts[1:]))
    assert float(iou) == pytest.approx(0.6, abs=1e-4)


@pytest.mark.parametrize(
    'iou_thr, area_ap, points11_ap',
    [
        # C matches: TP, FP, TP -> recall .5 .5 1, precision 1 .5 2/3
        (0.5, 0.5 * 1 + 0.5 * (2 / 3), (6 * 1 + 5 * (2 / 3)) / 11),
        # C too far: TP, FP, FP -> recall .5 .5 .5, precision 1 .5 1/3; recall 1 is never reached
        (0.7, 0.5 * 1, 6 * 1 / 11),
    ],
)
def test_hand_computed_case(iou_thr, area_ap, points11_ap):
    # only class 'ship' has ground truth, so mAP is its AP
    area = evaluate([hand_case()], iou_thrs=iou_thr, eval_mode='area')
    points11 = evaluate([hand_case()], iou_thrs=iou_thr, eval_mode='11points')
    assert area['mAP'] == pytest.approx(area_ap, abs=1e-6)
    assert points11['mAP'] == pytest.approx(points11_ap, abs=1e-6)
    legacy = evaluate([hand_case()], iou_thrs=iou_thr, use_07_metric=False)
    assert legacy['mAP'] == pytest.approx(area_ap, abs=1e-6)


def test_detection_of_a_difficult_object_is_neither_tp_nor_fp():
    box = [50.0, 50.0, 20.0, 10.0, 0.4]
    other = [150.0, 50.0, 20.0, 10.0, 0.4]
    data = sample('img', [other], [0], [box, other], [0.9, 0.5], [0, 0], ignored=([box], [0]))
    assert evaluate([data], eval_mode='area')['mAP'] == pytest.approx(1.0)
    # the same detection without the difficult ground truth is a false positive
    data = sample('img', [other], [0], [box, other], [0.9, 0.5], [0, 0])
    assert evaluate([data], eval_mode='area')['mAP'] == pytest.approx(0.5)


@pytest.mark.parametrize('use_07_metric', [True, False])
def test_agrees_with_mmdet_eval_map_on_axis_aligned_boxes(use_07_metric):
    """Angle-0 rotated boxes are horizontal boxes: our mAP equals mmdet's (one image, so mmdet
    uses no worker pool), with difficult objects and per-size ranges."""
    rng = np.random.default_rng(3)
    gts = random_rboxes(rng, 30, angle=False)
    gt_labels = rng.integers(0, 2, 30)
    ignore = random_rboxes(rng, 4, angle=False)
    ignore_labels = rng.integers(0, 2, 4)
    dets = np.concatenate(
        [
            gts + rng.normal(0, 3, gts.shape).astype(np.float32) * [1, 1, 1, 1, 0],
            random_rboxes(rng, 20, angle=False),
        ]
    )
    dets[:, 2:4] = np.abs(dets[:, 2:4]) + 1
    det_labels = np.r_[gt_labels, rng.integers(0, 2, 20)]
    scores = rng.uniform(0, 1, len(dets)).astype(np.float32)

    def per_class(boxes):
        return [np.c_[boxes[det_labels == c], scores[det_labels == c]] for c in range(2)]

    to_h = lambda b: rbox2hbox(torch.from_numpy(b)).numpy()  # noqa: E731
    ours_ann = dict(bboxes=gts, labels=gt_labels, bboxes_ignore=ignore, labels_ignore=ignore_labels)
    mmdet_ann = dict(
        bboxes=to_h(gts), labels=gt_labels, bboxes_ignore=to_h(ignore), labels_ignore=ignore_labels
    )
    for scale_ranges in (None, [(0, 20), (20, 1000)]):
        ours, _ = eval_rbbox_map(
            [per_class(dets)],
            [ours_ann],
            scale_ranges=scale_ranges,
            use_07_metric=use_07_metric,
            logger='silent',
        )
        mode = '11points' if use_07_metric else 'area'
        reference, _ = eval_map(
            [per_class(to_h(dets))],
            [mmdet_ann],
            scale_ranges=scale_ranges,
            eval_mode=mode,
            logger='silent',
        )
        np.testing.assert_allclose(ours, reference, atol=1e-6)
        assert 0.2 < np.min(ours) < 1.0  # a non-trivial case


def test_parse_patch_name():
    assert parse_patch_name('P0001__1024__0___824') == ('P0001', 0, 824)
    assert parse_patch_name('P2805__2048__1648___0') == ('P2805', 1648, 0)
    with pytest.raises(ValueError, match='P0001.png'):
        parse_patch_name('P0001.png')


def two_overlapping_patches():
    """Patches at x 0 and 824 of image P0001. A ship at full-image x 900 lies in both (found
    with scores 0.9 and 0.8); a plane at 300 only in the first, a harbor at 1500 only in the
    second; a plane box at the ship's place must survive the ship NMS (other class)."""
    ship = np.array([900.0, 500.0, 60.0, 20.0, 0.3], np.float32)
    first = dict(
        img_id='P0001__1024__0___0',
        bboxes=np.stack([ship, [300.0, 200.0, 50.0, 30.0, -0.2], ship]),
        scores=np.array([0.9, 0.7, 0.4], np.float32),
        labels=np.array([1, 0, 0]),
    )
    in_second = ship - [824, 0, 0, 0, 0]
    in_second[:2] += 0.5  # the second patch sees it half a pixel off
    second = dict(
        img_id='P0001__1024__824___0',
        bboxes=np.stack([in_second, [676.0, 100.0, 40.0, 40.0, 0.0]]),
        scores=np.array([0.8, 0.6], np.float32),
        labels=np.array([1, 2]),
    )
    return [first, second], ship


def test_merge_of_overlapping_patches_removes_duplicates():
    patches, ship = two_overlapping_patches()
    merged = merge_patch_detections(patches, num_classes=3, iou_thr=0.1)
    assert list(merged) == ['P0001']
    planes, ships, harbors = merged['P0001']
    assert len(ships) == 1
    np.testing.assert_allclose(ships[0], np.r_[ship, 0.9], atol=1e-5)  # the best copy
    assert len(planes) == 2  # the plane at the ship's place is another class
    np.testing.assert_allclose(planes[:, -1], [0.7, 0.4])
    np.testing.assert_allclose(harbors[0, :2], [1500.0, 100.0])  # offset (824, 0) added


def test_merge_patches_writes_task1_submission_files(tmp_path):
    patches, ship = two_overlapping_patches()
    samples = []
    for patch in patches:
        samples.append(
            sample(patch['img_id'], [], [], patch['bboxes'], patch['scores'], patch['labels'])
        )
    prefix = tmp_path / 'Task1'
    results = evaluate(samples, merge_patches=True, outfile_prefix=str(prefix), format_only=True)
    assert results == {}
    files = {name: (prefix / f'Task1_{name}.txt').read_text().splitlines() for name in CLASSES}
    assert len(files['plane']) == 2 and len(files['ship']) == 1 and len(files['harbor']) == 1
    fields = files['ship'][0].split()
    assert fields[0] == 'P0001' and len(fields) == 10
    assert float(fields[1]) == pytest.approx(0.9, abs=1e-4)
    corners = rbox2qbox(torch.from_numpy(ship)[None])[0].numpy()
    np.testing.assert_allclose([float(v) for v in fields[2:]], corners, atol=0.01)
    with zipfile.ZipFile(prefix / 'Task1.zip') as archive:
        assert sorted(archive.namelist()) == sorted(f'Task1_{name}.txt' for name in CLASSES)
    with pytest.raises(FileExistsError, match='Task1_plane.txt'):  # no silent overwrite
        evaluate(samples, merge_patches=True, outfile_prefix=str(prefix))


def test_format_only_writes_json(tmp_path):
    data = hand_case()
    assert evaluate([data], format_only=True, outfile_prefix=str(tmp_path / 'r')) == {}
    assert (tmp_path / 'r.bbox.json').is_file()


def test_registered_and_argument_errors():
    assert METRICS.get('DOTAMetric') is DOTAMetric
    with pytest.raises(KeyError, match='mAP'):
        DOTAMetric(metric='recall')
    with pytest.raises(ValueError, match='outfile_prefix'):
        DOTAMetric(format_only=True)
    with pytest.raises(ValueError, match='eval_mode'):
        DOTAMetric(eval_mode='101points')
    with pytest.raises(ValueError, match='predict_box_type'):
        DOTAMetric(predict_box_type='hbox')


def test_dataset_pipeline_to_metric_through_the_evaluator(tmp_path):
    """Generated DOTA data through PackDetInputs and mmengine's Evaluator: ground truth as the
    prediction scores 1.0, a detection of the difficult object included (neither TP nor FP)."""
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DefaultScope

    from rtmdet_plus.datasets import (
        ROTATED_SHAPE_CLASSES,
        RotatedShapesConfig,
        generate_rotated_shapes_dataset,
    )
    from rtmdet_plus.registry import DATASETS

    generate_rotated_shapes_dataset(
        str(tmp_path),
        RotatedShapesConfig(img_size=64, num_train=0, num_val=4, long_side_range=(0.2, 0.3)),
    )
    label_file = sorted((tmp_path / 'val' / 'labelTxt').glob('*.txt'))[0]
    lines = label_file.read_text().splitlines()
    label_file.write_text('\n'.join(lines[:-1] + [lines[-1][:-1] + '2']) + '\n')  # difficult
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
        dict(type='mmdet.PackDetInputs'),
    ]
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        dataset = DATASETS.build(
            dict(
                type='DOTADataset',
                data_root=str(tmp_path),
                ann_file='val/labelTxt/',
                data_prefix=dict(img_path='val/images/'),
                diff_thr=1,
                test_mode=True,
                metainfo=dict(classes=ROTATED_SHAPE_CLASSES),
                pipeline=pipeline,
            )
        )
        evaluator = Evaluator(dict(type='DOTAMetric', eval_mode='area'))
    evaluator.dataset_meta = dataset.metainfo
    num_ignored = 0
    for index in range(len(dataset)):
        data_sample = dataset[index]['data_samples']
        gt, ignored = data_sample.gt_instances, data_sample.ignored_instances
        num_ignored += len(ignored)
        boxes = torch.cat([gt.bboxes.tensor, ignored.bboxes.tensor])  # the difficult one too
        data_sample.pred_instances = InstanceData(
            bboxes=boxes,
            scores=torch.ones(len(boxes)),
            labels=torch.cat([gt.labels, ignored.labels]),
        )
        evaluator.process([data_sample])
    assert num_ignored == 1
    assert evaluator.evaluate(len(dataset))['dota/mAP'] == pytest.approx(1.0)


def test_quadrilateral_predictions():
    """predict_box_type='qbox': IoU of quadrilaterals; the hand case's quads give its AP."""
    data = hand_case()
    to_q = lambda b: rbox2qbox(torch.as_tensor(b))  # noqa: E731
    quad_sample = dict(
        img_id='img',
        gt_instances=dict(
            bboxes=to_q(data['gt_instances']['bboxes'].tensor),
            labels=data['gt_instances']['labels'],
        ),
        ignored_instances=dict(bboxes=torch.zeros(0, 8), labels=torch.zeros(0)),
        pred_instances=dict(
            bboxes=to_q(data['pred_instances']['bboxes']),
            scores=data['pred_instances']['scores'],
            labels=data['pred_instances']['labels'],
        ),
    )
    results = evaluate([quad_sample], predict_box_type='qbox', eval_mode='area')
    assert results['mAP'] == pytest.approx(0.5 * 1 + 0.5 * (2 / 3), abs=1e-5)
