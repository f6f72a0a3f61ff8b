"""RTMDet-R tiny learns rotated boxes: trained from scratch on the generated rotated shapes
dataset (DOTA format) through mmengine's Runner, evaluated with DOTAMetric (VOC mAP at rotated
IoU 0.5) on its val split: under `make test` the recipe cut to 8 epochs (400 iterations, about
2.5 minutes at one thread) lifts DOTA mAP@0.5 from 0 to at least 0.25 (measured 0.483) and its
tools/infer.py Task1 files score as the runner; `make test-slow` holds the whole recipe's bar,
DOTA mAP@0.5 >= 0.6 after 20 epochs."""

import time
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from rtmdet_plus.datasets import RotatedShapesConfig, generate_rotated_shapes_dataset
from tests import REPO
from tests.helpers import shorten_schedule
from tests.helpers.learning import deployed_metrics

CONFIGS = REPO / 'configs' / 'rotated_rtmdet'
FULL_CONFIG = CONFIGS / 'rotated_rtmdet_tiny_1xb8-20e_rshapes.py'
MIN_MAP50 = 0.6
# the recipe cut to SHORT_EPOCHS (make test): an untrained model scores 0
SHORT_EPOCHS = 8
MIN_SHORT_MAP50 = 0.25


pytestmark = pytest.mark.usefixtures('one_thread')


def train_on_rotated_shapes(config: Path, work: Path, options=None, max_epochs=None):
    """Generate the config's dataset under ``work``, train, validate at the end.

    Returns (DOTA mAP@0.5 after the last epoch, iterations, minutes); the config as trained is
    dumped as ``trained_config.py`` beside the checkpoints."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    if max_epochs is not None:
        shorten_schedule(cfg, max_epochs)
    data_root = f'{work / "rotated_shapes"}/'
    generate_rotated_shapes_dataset(data_root, RotatedShapesConfig(**cfg.rotated_shapes_dataset))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.work_dir = str(work / 'work')
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    minutes = (time.perf_counter() - start) / 60
    assert runner.iter == cfg.train_cfg.max_epochs * len(runner.train_dataloader)
    cfg.dump(str(work / 'work' / 'trained_config.py'))
    return runner.message_hub.get_scalar('val/dota/mAP').current(), runner.iter, minutes


def check(config: Path, tmp_path, report_figure, bar: float, max_epochs=None) -> float:
    map50, iters, minutes = train_on_rotated_shapes(config, tmp_path, max_epochs=max_epochs)
    report_figure(
        f'[rotated learning] {config.name}: {iters} iterations in {minutes:.1f} min, '
        f'val DOTA mAP@0.5 {map50:.3f}; need >= {bar}'
    )
    assert map50 >= bar
    return map50


def task1_map(task1_dir: Path, cfg: Config) -> float:
    """DOTA mAP@0.5 of the ``Task1_<class>.txt`` files in ``task1_dir`` against the ground
    truth of ``cfg``'s val dataset, read back as a user of the files would."""
    from mmengine.registry import init_default_scope

    from rtmdet_plus.evaluation.functional.rotated_map import eval_rbbox_map
    from rtmdet_plus.registry import DATASETS

    init_default_scope('rtmdet_plus')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    classes = list(dataset.metainfo['classes'])
    lines = {}
    for label, name in enumerate(classes):
        for line in (task1_dir / f'Task1_{name}.txt').read_text().splitlines():
            image, score, *corners = line.split()
            lines.setdefault(image, [[] for _ in classes])[label].append(
                [float(v) for v in corners] + [float(score)]
            )
    detections, annotations = [], []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        stem = Path(info['img_path']).stem
        per_class = lines.get(stem, [[] for _ in classes])
        detections.append([np.array(rows, np.float32).reshape(-1, 9) for rows in per_class])
        kept = [obj for obj in info['instances'] if not obj['ignore_flag']]
        annotations.append(
            dict(
                bboxes=np.array([obj['bbox'] for obj in kept], np.float32).reshape(-1, 8),
                labels=np.array([obj['bbox_label'] for obj in kept], np.int64),
            )
        )
    return eval_rbbox_map(detections, annotations, iou_thr=0.5, box_type='qbox')[0]


@pytest.mark.slow
def test_rotated_rtmdet_tiny_reaches_map50_on_rotated_shapes(tmp_path, report_figure):
    """DOTA mAP@0.5 >= 0.6 after 20 epochs (1000 iterations, measured 0.877 with randomness
    seed 0; about 4 minutes on one thread of an idle 2-core machine; 12 epochs gave 0.674 /
    0.567 for seeds 0 / 1, too close to the bar). Slow: `make test-slow`."""
    check(FULL_CONFIG, tmp_path, report_figure, MIN_MAP50)


def test_rotated_rtmdet_tiny_learns_on_a_short_schedule(tmp_path, report_figure):
    """DOTA mAP@0.5 >= MIN_SHORT_MAP50 after SHORT_EPOCHS (400 iterations); tools/infer.py
    --format dota over the val images writes Task1 files that score as the runner."""
    map50 = check(FULL_CONFIG, tmp_path, report_figure, MIN_SHORT_MAP50, SHORT_EPOCHS)

    # tools/infer.py --format dota over the val images: the Task1 files score as the runner
    from tools import infer

    work = tmp_path / 'work'
    checkpoint = (work / 'last_checkpoint').read_text().strip()
    out = tmp_path / 'infer'
    assert (
        infer.main(
            [
                str(tmp_path / 'rotated_shapes' / 'val' / 'images'),
                str(work / 'trained_config.py'),
                checkpoint,
                '--out-dir',
                str(out),
                '--format',
                'dota',
                '--save-vis',
            ]
        )
        == 0
    )
    files_map = task1_map(out / 'dota', Config.fromfile(work / 'trained_config.py'))
    report_figure(
        f'[infer] {FULL_CONFIG.name}: tools/infer.py --format dota, Task1 files '
        f'DOTA mAP@0.5 {files_map:.3f} (runner {map50:.3f})'
    )
    assert abs(files_map - map50) <= 0.005
    assert len(list((out / 'vis').iterdir())) == len(list((out / 'preds').glob('*.json'))) > 0


@pytest.mark.slow
@pytest.mark.int8
def test_int8_keeps_the_trained_rotated_models_map(tmp_path, report_figure):
    """The trained RTMDet-R-tiny deployed to ONNX Runtime FP32, ONNX Runtime INT8 and OpenVINO
    INT8 (calibrated on its val images; decoding and rotated NMS in float), each evaluated by
    DOTAMetric over the val split through the deployed backend: INT8 mAP@0.5 within 1 point of
    FP32. Slow (trains again): `make test-slow`."""
    map50, _, _ = train_on_rotated_shapes(FULL_CONFIG, tmp_path)
    metrics = deployed_metrics(
        tmp_path / 'work',
        str(sorted(tmp_path.glob('rotated_shapes/val/images/*.png'))[0]),
        {
            'ONNX Runtime FP32': 'rotated-detection_onnxruntime_static-1024x1024.py',
            'ONNX Runtime INT8': 'rotated-detection_onnxruntime-int8_static-1024x1024.py',
            'OpenVINO INT8': 'rotated-detection_openvino-int8_static-1024x1024.py',
        },
        tmp_path,
    )
    maps = {name: values['dota/mAP'] for name, values in metrics.items()}
    report_figure(
        f'[int8] {FULL_CONFIG.name} val DOTA mAP@0.5 through the deployed backend: '
        + ', '.join(f'{name} {value:.3f}' for name, value in maps.items())
        + f' (PyTorch {map50:.3f}); INT8 needs >= FP32 - 0.010'
    )
    for name, value in maps.items():
        assert value >= maps['ONNX Runtime FP32'] - 0.010, (name, maps)
