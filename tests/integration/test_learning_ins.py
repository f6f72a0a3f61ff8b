"""RTMDet-Ins learns masks: RTMDet-Ins-tiny trained from scratch on the generated shapes dataset
(polygon masks) through mmengine's Runner, evaluated on the val split with pycocotools (mmdet's
CocoMetric, metric=['bbox', 'segm']). Under `make test` the recipe is cut to 8 epochs (400
iterations, about 3 minutes at one thread): segm / bbox mAP rise from 0 to at least 0.06 / 0.08
(measured 0.139 / 0.179), and the model goes through tools/infer.py, whose picture must show the
predicted masks; `make test-slow` holds the whole recipe's bars. Also: tools/demo.py --task ins
end to end."""

import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.logging import MessageHub
from pycocotools.coco import COCO

from tests import REPO
from tests.helpers import run_tool, tool_env
from tests.helpers.learning import deployed_metrics, train_on_shapes

INS_CONFIG = REPO / 'configs' / 'rtmdet' / 'rtmdet-ins_tiny_1xb8-20e_shapes.py'
# The bars show learning (an untrained model scores ~0), with room for run-to-run spread. On
# this schedule the spread across seeds and CPUs is wide for mmdet's own classes too (same
# config, overridden names taken from mmdet): segm / bbox 0.554/0.610, 0.526/0.587, 0.302/0.313
# for seeds 0-2 on an AVX2 machine. Ours there: 0.391/0.425, 0.431/0.494, 0.393/0.428 (0.521/0.563
# with ATEN_CPU_CAPABILITY=default); on an AVX-512 machine 0.554/0.611 and 0.501/0.571. Loss and
# gradients of ours and mmdet's agree step by step (tests/test_parity_ins.py; teacher-forced
# over 60 steps when this was measured: loss 3.2e-7, gradients 1.9e-5 relative), so the spread
# is float noise amplified by training, not a difference between the two.
MIN_SEGM_MAP = 0.25
MIN_BBOX_MAP = 0.3
# the recipe cut to SHORT_EPOCHS (make test): an untrained model scores 0
SHORT_EPOCHS = 8
MIN_SHORT_SEGM_MAP = 0.06
MIN_SHORT_BBOX_MAP = 0.08


def train_ins_on_shapes(tmp_path, max_epochs=None):
    """Train INS_CONFIG (cut to ``max_epochs``) on its generated dataset; (segm mAP, bbox mAP,
    iterations, minutes)."""
    bbox_map, _, iters, minutes = train_on_shapes(INS_CONFIG, tmp_path, max_epochs)
    hub = MessageHub.get_current_instance()  # the runner's
    return hub.get_scalar('val/coco/segm_mAP').current(), bbox_map, iters, minutes


def infer_val_picture(tmp_path):
    """tools/infer.py on the val image with the most objects among the first 10, with the
    checkpoint of the run in ``tmp_path``; returns (log, picture, input image, ground-truth
    masks (G, H, W) bool)."""
    root = tmp_path / 'shapes'
    coco = COCO(str(root / 'annotations' / 'instances_val.json'))
    image_id = max(sorted(coco.getImgIds())[:10], key=lambda i: len(coco.getAnnIds(imgIds=[i])))
    image_path = root / 'val' / coco.loadImgs([image_id])[0]['file_name']
    masks = np.array(
        [coco.annToMask(ann) for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))],
        dtype=bool,
    )
    checkpoint = (tmp_path / 'work' / 'last_checkpoint').read_text().strip()
    out_file = tmp_path / 'infer.png'
    log = run_tool(
        [
            REPO / 'tools' / 'infer.py',
            image_path,
            INS_CONFIG,
            checkpoint,
            '--out-file',
            out_file,
            '--score-thr',
            '0.3',
        ],
        cwd=tmp_path,
    )
    return log, cv2.imread(str(out_file)), cv2.imread(str(image_path)), masks


def train_and_report(tmp_path, report_figure, max_epochs, min_segm, min_bbox):
    segm_map, bbox_map, iters, minutes = train_ins_on_shapes(tmp_path, max_epochs)
    report_figure(
        f'[learning] {INS_CONFIG.name}: {iters} iterations in {minutes:.1f} min, val '
        f'segm mAP {segm_map:.3f} (need >= {min_segm}), bbox mAP {bbox_map:.3f} '
        f'(need >= {min_bbox})'
    )
    assert segm_map >= min_segm and bbox_map >= min_bbox
    return segm_map, bbox_map


@pytest.mark.slow
def test_rtmdet_ins_reaches_the_bars_of_the_whole_recipe(tmp_path, report_figure):
    """1000 iterations (20 epochs of 400 128x128 images), about 4.3 min at one thread on a
    half-busy 2-core machine (8.7 min on a fully loaded one); the figures above MIN_SEGM_MAP.
    Slow: `make test-slow`."""
    train_and_report(tmp_path, report_figure, None, MIN_SEGM_MAP, MIN_BBOX_MAP)


def test_rtmdet_ins_learns_masks_on_a_short_schedule(tmp_path, report_figure):
    """400 iterations (SHORT_EPOCHS of 400 128x128 images): segm and bbox mAP above the short
    bars; the inference picture covers the objects' pixels (measured: 12 detections drawn,
    99.6 % of the object pixels covered; the bar is 60 %)."""
    train_and_report(tmp_path, report_figure, SHORT_EPOCHS, MIN_SHORT_SEGM_MAP, MIN_SHORT_BBOX_MAP)

    # The inference entry point draws the masks: most pixels of the objects are tinted.
    log, picture, image, gt_masks = infer_val_picture(tmp_path)
    kept = int(re.search(r'(\d+) detection\(s\) with masks', log).group(1))
    assert kept >= 1
    changed = np.abs(picture.astype(int) - image.astype(int)).max(axis=-1) > 20
    covered = changed[gt_masks.any(axis=0)].mean()
    assert covered >= 0.6, f'only {covered:.0%} of the object pixels are drawn over'


@pytest.mark.slow
@pytest.mark.int8
def test_int8_keeps_the_trained_ins_models_map(tmp_path, report_figure):
    """The trained RTMDet-Ins-tiny deployed to ONNX Runtime FP32, ONNX Runtime INT8 and
    OpenVINO INT8 (calibrated on its 100 val images; neck, mask feature head and mask assembly
    in float), each evaluated by the COCO metric over the val split through the deployed
    backend: INT8 segm and bbox mAP within 1 point of FP32 (measured 0.391 / 0.425 in FP32,
    0.392 / 0.427 ONNX Runtime INT8, 0.394 / 0.430 OpenVINO INT8). Slow (trains again):
    `make test-slow`."""
    segm_map, bbox_map, _, _ = train_ins_on_shapes(tmp_path)
    metrics = deployed_metrics(
        tmp_path / 'work',
        str(sorted(tmp_path.glob('shapes/val/*.jpg'))[0]),
        {
            'ONNX Runtime FP32': 'instance-seg_rtmdet-ins_onnxruntime_static-640x640.py',
            'ONNX Runtime INT8': 'instance-seg_rtmdet-ins_onnxruntime-int8_static-640x640.py',
            'OpenVINO INT8': 'instance-seg_rtmdet-ins_openvino-int8_static-640x640.py',
        },
        tmp_path,
    )
    report_figure(
        f'[int8] {INS_CONFIG.name} val segm / bbox mAP through the deployed backend: '
        + ', '.join(
            f'{name} {values["coco/segm_mAP"]:.3f} / {values["coco/bbox_mAP"]:.3f}'
            for name, values in metrics.items()
        )
        + f' (PyTorch {segm_map:.3f} / {bbox_map:.3f}); INT8 needs >= FP32 - 0.010'
    )
    for key in ('coco/segm_mAP', 'coco/bbox_mAP'):
        for name, values in metrics.items():
            assert values[key] >= metrics['ONNX Runtime FP32'][key] - 0.010, (name, metrics)


def test_demo_ins_runs_end_to_end_on_a_tiny_schedule(tmp_path):
    """tools/demo.py --task ins on 16 images for one epoch (2 iterations): segm and bbox mAP
    lines, picture. The score threshold is lowered so that the barely trained model keeps
    predictions to evaluate (with none, CocoMetric gives no mAP)."""
    options = [
        'shapes_dataset.num_train=16',
        'shapes_dataset.num_val=4',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'model.test_cfg.score_thr=0.001',
    ]
    env = tool_env()
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools/demo.py'),
            '--task',
            'ins',
            '--work-dir',
            str(tmp_path / 'work'),
            '--data-root',
            str(tmp_path / 'data'),
            '--cfg-options',
            *options,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r'COCO segm mAP on the val split \(4 images\): \d\.\d{3}', proc.stdout)
    assert re.search(r'COCO bbox mAP on the val split \(4 images\): \d\.\d{3}', proc.stdout)
    picture = re.search(r'saved to (\S+\.png)', proc.stdout).group(1)
    image = cv2.imread(picture)
    assert image is not None and image.shape[1] == 2 * image.shape[0]  # truth | predictions
