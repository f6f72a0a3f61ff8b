"""Deploy tests' helpers: a toy model's images and PyTorch detections, and the comparison of a
backend's detections with them (the ``TOP_K`` best each way).

``toy_model`` is a deploy test file's fixture: (deploy config, model config, checkpoint, image,
SDK modules, task), task one of 'detection', 'instance-seg', 'rotated'."""

import warnings

from mmengine.config import Config
from mmengine.structures import InstanceData

from rtmdet_plus.apis import inference_detector, init_detector
from tests.helpers import SHARED_DATA
from tools.analysis_tools.detection_agreement import detection_disagreements

TOP_K = 60  # the best detections compared each way
# task -> real sample images under ../shared/data
SAMPLE_IMAGES = {
    'detection': ['coco_sample/det.jpg', 'coco_sample/tiger.jpeg'],
    'instance-seg': ['coco_sample/det.jpg', 'coco_sample/tiger.jpeg'],
    'rotated': ['dota_sample/images/P2805__1024__0___0.png'],
}


def task_images(toy_model) -> list:
    """The generated image and the task's real samples from ../shared/data; a missing sample
    (a clone without ../shared) is left out with a warning naming it, the generated image still
    compared."""
    real = [SHARED_DATA / name for name in SAMPLE_IMAGES[toy_model[5]]]
    missing = [str(path) for path in real if not path.is_file()]
    if missing:
        warnings.warn(f'real samples not found, compared without them: {missing}')
    return [toy_model[3]] + [str(path) for path in real if path.is_file()]


def pytorch_detections(toy_model, images) -> list:
    model = init_detector(toy_model[1], toy_model[2], device='cpu')
    return [inference_detector(model, image).pred_instances for image in images]


def nms_iou_thr(model_cfg: str) -> float:
    return Config.fromfile(model_cfg).model.test_cfg.nms.iou_threshold


def assert_agree(
    reference: InstanceData, other: InstanceData, what: str, nms_iou_thr: float
) -> dict:
    """The ``TOP_K`` best of each matched the other way too: same labels, box IoU >= 0.99,
    scores within 1e-3, masks (of at least 64 pixels) at IoU >= 0.98; a detection or two that
    tie at the NMS threshold (float noise decides which NMS keeps) may be on one side only."""
    for ref, oth, direction in ((reference, other, 'reference'), (other, reference, 'other')):
        stats, problems = detection_disagreements(
            ref,
            oth,
            top_k=TOP_K,
            min_iou=0.99,
            max_score_diff=1e-3,
            min_mask_iou=0.98,
            nms_iou_thr=nms_iou_thr,
        )
        assert not problems, f'{what}, {direction} best: {problems} {stats}'
    return stats


def worst(stats: list) -> str:
    """The weakest agreement over ``stats`` of :func:`assert_agree`, as a line."""
    line = (
        f"box IoU >= {min(s['min_iou'] for s in stats):.5f}, "
        f"scores within {max(s['max_score_diff'] for s in stats):.1e}, "
        f"NMS-boundary ties {sum(s['nms_ties'] for s in stats)}"
    )
    mask_ious = [s['min_mask_iou'] for s in stats]
    return line + (f', mask IoU >= {min(mask_ious):.4f}' if min(mask_ious) < 1 else '')
