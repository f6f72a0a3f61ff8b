"""Train RTMDet-tiny on the generated shapes dataset on the CPU, report COCO bbox mAP and draw
its predictions on a validation image (``make demo``); with ``--task ins``, RTMDet-Ins-tiny,
reporting COCO segm and bbox mAP and drawing the masks too (``make demo-ins``).

    python tools/demo.py --work-dir work_dirs/demo [--task det|ins] [--data-root data/shapes]
                         [--config configs/rtmdet/rtmdet_tiny_1xb4-20e_shapes.py]

Steps: generate the dataset the config describes (``shapes_dataset``) unless it is already
there; train from scratch with mmengine's Runner (progress lines with loss and ETA, and the
val mAP every few epochs); evaluate the final (EMA) weights on the val split with pycocotools
(CocoMetric); save ground truth and predictions side by side as a PNG in the work dir; for
detection, export the trained model with configs/deploy/detection_onnxruntime_static.py (ONNX
Runtime, NMS in the graph, MMDeploy SDK files) into ``<work-dir>/deploy``, run MMDeploy SDK
inference on the same val image and save its picture, then export it to OpenVINO FP32 and INT8
(calibrated on the val split), print the CPU latency of the three exports on that image and save
the INT8 model's picture (``--no-export`` skips all this).
"""

import argparse
import copy
import os
import os.path as osp
import sys
import time
from typing import Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TASK_CONFIGS = dict(
    det=osp.join(REPO, 'configs', 'rtmdet', 'rtmdet_tiny_1xb4-20e_shapes.py'),
    ins=osp.join(REPO, 'configs', 'rtmdet', 'rtmdet-ins_tiny_1xb8-20e_shapes.py'),
)

try:
    import rtmdet_plus  # noqa: F401  (registers our components)
except ImportError as error:
    sys.exit(
        f'Cannot import rtmdet_plus ({error}): run `make demo`, or install the package '
        '(`pip install -e .`) or put the repository root on PYTHONPATH.'
    )

import mmcv
import numpy as np
import torch
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

from rtmdet_plus.apis import inference_detector, init_detector
from rtmdet_plus.datasets.shapes import ShapesConfig, ensure_shapes_dataset, use_data_root


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        '--work-dir', required=True, help='where logs, checkpoints and the picture go'
    )
    parser.add_argument(
        '--task',
        choices=sorted(TASK_CONFIGS),
        default='det',
        help='det: RTMDet-tiny (boxes); ins: RTMDet-Ins-tiny (boxes and masks)',
    )
    parser.add_argument(
        '--config', default=None, help="a shapes config (default: the task's, see TASK_CONFIGS)"
    )
    parser.add_argument(
        '--data-root',
        default=None,
        help='dataset folder (default: the config\'s data_root); generated if '
        'absent or made with other settings',
    )
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='draw predictions scoring at least this'
    )
    parser.add_argument(
        '--no-export',
        action='store_true',
        help='skip the ONNX Runtime export and MMDeploy SDK inference (det task)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config entries, e.g. train_cfg.max_epochs=2',
    )
    return parser.parse_args()


def pick_val_image(ann_file: str) -> dict:
    """The val image with the most objects among the first 20 (ties: the first)."""
    coco = COCO(ann_file)
    image_ids = sorted(coco.getImgIds())[:20]
    best = max(image_ids, key=lambda i: len(coco.getAnnIds(imgIds=[i])))
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[best]))
    label_of = {cat_id: index for index, cat_id in enumerate(sorted(coco.getCatIds()))}
    boxes = [[x, y, x + w, y + h] for x, y, w, h in (ann['bbox'] for ann in anns)]
    return dict(
        info=coco.loadImgs([best])[0],
        boxes=boxes,
        labels=[label_of[ann['category_id']] for ann in anns],
        masks=[coco.annToMask(ann) for ann in anns],
    )


def draw(
    cfg: Config,
    checkpoint: str,
    data_root: str,
    out_file: str,
    score_thr: float,
    min_side: int = 480,
) -> Tuple[int, str]:
    """Draw ground truth (left) and predictions (right) on a val image, blown up to at least
    ``min_side`` pixels; returns the number of predictions drawn and the image's path."""
    ann_file = osp.join(data_root, cfg.val_dataloader.dataset.ann_file)
    picked = pick_val_image(ann_file)
    image_path = osp.join(
        data_root, cfg.val_dataloader.dataset.data_prefix['img'], picked['info']['file_name']
    )
    # a copy: mmdet's inference_detector rewrites its model's test pipeline for arrays
    # (LoadImageFromNDArray), which the config saved for export and DetInferencer must not get
    model = init_detector(copy.deepcopy(cfg), checkpoint, device='cpu')
    image = mmcv.imread(image_path)
    result = inference_detector(model, image)

    scale = max(1, -(-min_side // min(image.shape[:2])))  # integer zoom, pixels stay sharp
    result.pred_instances.bboxes = result.pred_instances.bboxes * scale
    result.gt_instances = InstanceData(
        bboxes=torch.tensor(picked['boxes'], dtype=torch.float32).reshape(-1, 4) * scale,
        labels=torch.tensor(picked['labels'], dtype=torch.long),
    )
    if 'masks' in result.pred_instances:  # an instance-segmentation model: masks too

        def zoom(masks):  # (N, H, W) -> (N, H * scale, W * scale), nearest
            return masks.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)

        result.pred_instances.masks = zoom(result.pred_instances.masks)
        gt_masks = torch.from_numpy(
            np.array(picked['masks'], dtype=bool).reshape(-1, *image.shape[:2])
        )
        result.gt_instances.masks = zoom(gt_masks)
    zoomed = mmcv.imrescale(image, scale, interpolation='nearest')
    visualizer = DetLocalVisualizer.get_instance('rtmdet_plus_demo')
    visualizer.dataset_meta = model.dataset_meta
    visualizer.add_datasample(
        osp.basename(image_path),
        mmcv.bgr2rgb(zoomed),
        data_sample=result,
        draw_gt=True,
        draw_pred=True,
        show=False,
        pred_score_thr=score_thr,
        out_file=out_file,
    )
    return int((result.pred_instances.scores >= score_thr).sum()), image_path


def export_and_run_sdk(
    cfg: Config, checkpoint: str, image_path: str, work_dir: str, score_thr: float
) -> None:
    """ONNX Runtime export of the trained detector, MMDeploy SDK inference on ``image_path``,
    picture saved; prints what it wrote."""
    from rtmdet_plus.deploy import export_and_run_sdk as export_and_infer

    model_cfg = osp.join(work_dir, 'demo_model_config.py')
    cfg.dump(model_cfg)  # the trained config as run (data root, options), for the export
    deploy_dir = osp.join(work_dir, 'deploy')
    out_file = osp.abspath(osp.join(work_dir, 'demo_sdk_predictions.png'))
    start = time.perf_counter()
    result = export_and_infer(
        model_cfg, checkpoint, image_path, deploy_dir, out_file=out_file, score_thr=score_thr
    )
    kept = int((result.scores >= score_thr).sum())
    print(
        f'[demo] exported to {osp.join(deploy_dir, "end2end.onnx")} with the MMDeploy SDK files '
        f'({time.perf_counter() - start:.1f} s); the SDK found {kept} object(s) with score >= '
        f'{score_thr} on {osp.basename(image_path)}: picture saved to {out_file}',
        flush=True,
    )


def main() -> None:
    args = parse_args()
    args.config = args.config or TASK_CONFIGS[args.task]
    start = time.perf_counter()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'rtmdet_plus'))
    data_root = args.data_root or cfg.data_root
    shapes = ShapesConfig(**cfg.shapes_dataset)
    print(f'[demo] dataset: {data_root}', flush=True)
    if ensure_shapes_dataset(data_root, shapes):
        print(
            f'[demo] generated {shapes.num_train} train + {shapes.num_val} val images '
            f'({shapes.img_size}x{shapes.img_size}, classes {", ".join(shapes.classes)})',
            flush=True,
        )
    else:
        print('[demo] found an up-to-date generated dataset there', flush=True)
    use_data_root(cfg, data_root)
    cfg.work_dir = args.work_dir

    print(
        f'[demo] training {osp.basename(args.config)} on the CPU '
        f'({torch.get_num_threads()} threads); logs in {args.work_dir}',
        flush=True,
    )
    runner = Runner.from_cfg(cfg)
    runner.train()
    bbox_map, bbox_map50 = (
        val_metric(runner, f'val/coco/bbox_mAP{suffix}') for suffix in ('', '_50')
    )
    train_minutes = (time.perf_counter() - start) / 60

    with open(osp.join(args.work_dir, 'last_checkpoint')) as file:
        checkpoint = file.read().strip()  # written by mmengine's CheckpointHook
    out_file = osp.abspath(osp.join(args.work_dir, 'demo_predictions.png'))
    drawn, image_path = draw(cfg, checkpoint, data_root, out_file, args.score_thr)
    if 'val/coco/segm_mAP' in runner.message_hub.log_scalars:  # an Ins model
        segm_map, segm_map50 = (
            val_metric(runner, f'val/coco/segm_mAP{suffix}') for suffix in ('', '_50')
        )
        print(
            f'[demo] COCO segm mAP on the val split ({shapes.num_val} images): {segm_map:.3f} '
            f'(mAP@0.5: {segm_map50:.3f})',
            flush=True,
        )
    print(
        f'[demo] COCO bbox mAP on the val split ({shapes.num_val} images): {bbox_map:.3f} '
        f'(mAP@0.5: {bbox_map50:.3f}); {train_minutes:.1f} min in all',
        flush=True,
    )
    print(
        f'[demo] ground truth (left) and {drawn} prediction(s) with score >= '
        f'{args.score_thr} (right) saved to {out_file}',
        flush=True,
    )
    if args.task == 'det' and not args.no_export:
        export_and_run_sdk(cfg, checkpoint, image_path, args.work_dir, args.score_thr)
        cpu_latency(checkpoint, image_path, args.work_dir, args.score_thr)


CPU_DEPLOY_CONFIGS = (
    ('ONNX Runtime FP32', 'detection_onnxruntime_static.py', 'deploy'),
    ('OpenVINO FP32', 'detection_openvino_static-640x640.py', 'openvino'),
    ('OpenVINO INT8', 'detection_openvino-int8_static-640x640.py', 'openvino-int8'),
)


def cpu_latency(
    checkpoint: str, image_path: str, work_dir: str, score_thr: float, rounds: int = 20
) -> None:
    """Export to OpenVINO FP32 and INT8 (calibrated on the val split) beside the ONNX Runtime
    export, print each one's latency on ``image_path`` (image in, detections on the image out;
    median of ``rounds`` after a warm-up, this process's threads) and save the INT8 model's
    picture."""
    import statistics

    from mmdeploy.codebase.mmdet.deploy.object_detection import _get_dataset_metainfo
    from mmdet.structures import DetDataSample

    from rtmdet_plus.apis import draw_detections
    from rtmdet_plus.deploy import BackendDetector, export_model

    model_cfg = osp.join(work_dir, 'demo_model_config.py')  # written by export_and_run_sdk
    for name, deploy_name, folder in CPU_DEPLOY_CONFIGS:
        deploy_cfg = osp.join(REPO, 'configs', 'deploy', deploy_name)
        if folder == 'deploy':  # exported by export_and_run_sdk
            files = [osp.join(work_dir, folder, 'end2end.onnx')]
        else:
            files = export_model(
                deploy_cfg,
                model_cfg,
                checkpoint,
                image_path,
                osp.join(work_dir, folder),
                dump_info=False,
            )
        detector = BackendDetector(deploy_cfg, model_cfg, files)
        result = detector(image_path)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            detector(image_path)
            times.append(time.perf_counter() - start)
        print(
            f'[demo] CPU latency, {name} ({osp.relpath(files[0], work_dir)}): '
            f'{statistics.median(times) * 1e3:.1f} ms per image (median of {rounds}, '
            f'{torch.get_num_threads()} threads, image decoding and pipeline included)',
            flush=True,
        )
    out_file = osp.abspath(osp.join(work_dir, 'demo_int8_predictions.png'))
    meta = _get_dataset_metainfo(Config.fromfile(model_cfg)) or {}
    draw_detections(
        mmcv.imread(image_path),
        DetDataSample(pred_instances=result),
        meta,
        score_thr=score_thr,
        out_file=out_file,
    )
    print(
        f'[demo] the OpenVINO INT8 model found {int((result.scores >= score_thr).sum())} '
        f'object(s) with score >= {score_thr}: picture saved to {out_file}',
        flush=True,
    )


def val_metric(runner, key: str) -> float:
    """The last validation's ``key``; SystemExit with what to do when validation logged none
    (CocoMetric logs no mAP when the model predicted nothing on the val split)."""
    if key not in runner.message_hub.log_scalars:
        raise SystemExit(
            f'[demo] validation logged no {key}: the model predicted nothing on the '
            f'val split (see the log in {runner.work_dir}); train longer '
            '(--cfg-options train_cfg.max_epochs=...) or check the data'
        )
    return runner.message_hub.get_scalar(key).current()


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    main()
