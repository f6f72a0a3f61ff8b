"""The agreement check of the deploy tests: a detection that ties at the NMS threshold (float
noise decides which NMS keeps it) is told apart from a detection that is really missing."""

import torch
from mmengine.structures import InstanceData

from tools.analysis_tools.detection_agreement import detection_disagreements


def detections(boxes, scores, labels=None):
    return InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        scores=torch.tensor(scores),
        labels=torch.tensor(labels or [0] * len(scores)),
    )


def shifted(x):
    return [x, 100.0, 10.0 + x, 110.0]


# boxes 0..9 far apart; box 10 overlaps box 0 at IoU (10 - x) / (10 + x)
FAR = [[30.0 * i, 100.0, 30.0 * i + 10, 110.0] for i in range(10)]
SCORES = [0.9 - 0.01 * i for i in range(10)]


def test_a_tie_at_the_nms_threshold_is_excused_only_when_the_threshold_is_given():
    x = 10 * (1 - 0.5995) / 1.5995  # IoU with box 0: 0.5995, under the 0.6 threshold
    reference = detections(FAR + [shifted(x)], SCORES + [0.85])
    other = detections(FAR, SCORES)  # the other NMS saw 0.6001 and dropped it
    stats, problems = detection_disagreements(reference, other, top_k=11)
    assert problems == ['1 reference detections unmatched']
    stats, problems = detection_disagreements(reference, other, top_k=11, nms_iou_thr=0.6)
    assert not problems and stats['nms_ties'] == 1 and stats['matched'] == 10
    # the same the other way: kept by the other model only
    stats, problems = detection_disagreements(other, reference, top_k=10, nms_iou_thr=0.6)
    assert not problems and stats['nms_ties'] == 1


def test_a_missing_detection_away_from_the_threshold_still_fails():
    x = 10 * (1 - 0.3) / 1.3  # IoU 0.3: NMS at 0.6 keeps it on both sides
    reference = detections(FAR + [shifted(x)], SCORES + [0.85])
    other = detections(FAR, SCORES)
    _, problems = detection_disagreements(reference, other, top_k=11, nms_iou_thr=0.6)
    assert problems == ['1 reference detections unmatched']
    # a tie with a detection of another label is no tie
    reference = detections(
        FAR + [shifted(10 * (1 - 0.5995) / 1.5995)], SCORES + [0.85], [0] * 10 + [1]
    )
    _, problems = detection_disagreements(reference, other, top_k=11, nms_iou_thr=0.6)
    assert problems == ['1 reference detections unmatched']


def test_many_ties_are_not_float_noise():
    x = 10 * (1 - 0.5995) / 1.5995
    ties = [[30.0 * i + x, 100.0, 30.0 * i + 10 + x, 110.0] for i in range(4)]
    reference = detections(FAR + ties, SCORES + [0.85] * 4)
    other = detections(FAR, SCORES)
    _, problems = detection_disagreements(reference, other, top_k=14, nms_iou_thr=0.6)
    assert any('tie at the NMS boundary' in problem for problem in problems)
