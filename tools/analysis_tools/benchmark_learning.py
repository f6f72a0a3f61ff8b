"""Learning curves over seeds: mmdet 3.3.0's RTMDet-tiny against ours, trained the same way.

Both sides start from their own COCO config (``rtmdet/rtmdet_tiny_8xb32-300e_coco.py``) with the
same changes: a generated shapes set (3 classes, ``--size`` pixels), BN, no pretrained backbone,
flip-only pipeline, batch ``--batch``, AdamW ``--lr`` with a linear warm-up, the recipe's EMA,
``--iters`` iterations through mmengine's Runner, COCO bbox mAP of the EMA weights on the val
split at every ``--val-interval``. Each run is a fresh process; runs alternate (mmdet seed 0,
ours seed 0, mmdet seed 1, ...). Printed per evaluated iteration count: mean ± standard deviation
of each side over the seeds, and the difference ours - mmdet with its standard error
(sqrt(sd_mmdet^2 / K + sd_ours^2 / K)): a difference within two standard errors is no evidence
that the two learn differently (with K = 5, about a 92 % interval of Welch's t on ~8 degrees of
freedom).

    python tools/analysis_tools/benchmark_learning.py                      # 5 seeds, 300 iterations
    python tools/analysis_tools/benchmark_learning.py --seeds 3 --iters 200 --json curves.json
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile

# the repository root, so that the helpers import as tools.analysis_tools.*
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tools.analysis_tools.benchmarking import run_worker as _run_worker

CONFIG = 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
SHAPES_CONFIG = 'rtmdet/rtmdet_tiny_1xb4-12e_shapes.py'
CLASSES = ('ellipse', 'rectangle', 'star')
VERDICT = {True: 'yes', False: 'no', None: 'n/a (one seed)'}


def recipe(
    cfg,
    data_root: str,
    size: int,
    batch: int,
    lr: float,
    iters: int,
    val_interval: int,
    seed: int,
    work_dir: str,
) -> None:
    """The changes both sides get (in place on an mmengine ``Config``)."""
    from mmengine.config import Config

    from tools.analysis_tools.mmdet_oracle import CONFIGS, single_process_model_cfg

    cfg.model = single_process_model_cfg(cfg.model)
    cfg.model.bbox_head.num_classes = len(CLASSES)
    # the shapes recipe's flip-only pipelines, at this size
    shapes = Config.fromfile(os.path.join(CONFIGS, SHAPES_CONFIG))
    train_pipeline, test_pipeline = (
        [
            dict(t, scale=(size, size))
            if t['type'] == 'Resize'
            else dict(t, size=(size, size))
            if t['type'] == 'Pad'
            else t
            for t in pipeline
        ]
        for pipeline in (shapes.train_pipeline, shapes.test_pipeline)
    )
    metainfo = dict(classes=CLASSES)
    for loader, split, pipeline in (
        ('train_dataloader', 'train', train_pipeline),
        ('val_dataloader', 'val', test_pipeline),
    ):
        cfg[loader].update(num_workers=0, persistent_workers=False, pin_memory=False)
        cfg[loader].pop('batch_sampler', None)
        cfg[loader].dataset.update(
            data_root=data_root,
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'{split}/'),
            metainfo=metainfo,
            pipeline=pipeline,
        )
    cfg.train_dataloader.batch_size = batch
    cfg.val_dataloader.batch_size = 8
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator = dict(
        type='CocoMetric',
        metric='bbox',
        format_only=False,
        ann_file=os.path.join(data_root, 'annotations', 'instances_val.json'),
    )
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=val_interval)
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=max(iters // 10, 1))
    ]
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'].split('.')[-1] == 'EMAHook']
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=iters, by_epoch=False, save_last=False
    )
    cfg.default_hooks.logger.interval = 50
    cfg.log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir


def train_once(
    side: str,
    seed: int,
    data_root: str,
    size: int,
    batch: int,
    lr: float,
    iters: int,
    val_interval: int,
) -> dict:
    """In a worker process: one training run; returns {iteration: bbox mAP}."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    import rtmdet_plus  # noqa: F401 (registers our scope)
    from tools.analysis_tools.mmdet_oracle import CONFIGS, MMDET_CONFIGS

    path = os.path.join(MMDET_CONFIGS if side == 'mmdet' else CONFIGS, CONFIG)
    cfg = Config.fromfile(path)
    with tempfile.TemporaryDirectory() as work_dir:
        recipe(cfg, data_root, size, batch, lr, iters, val_interval, seed, work_dir)
        cfg.default_scope = 'mmdet' if side == 'mmdet' else 'rtmdet_plus'
        curve = {}

        class Collect(Hook):
            def after_val_epoch(self, runner, metrics=None):
                # CocoMetric returns nothing when no box passed the score threshold: mAP 0
                curve[runner.iter] = metrics['coco/bbox_mAP'] if metrics else 0.0

        runner = Runner.from_cfg(cfg)
        runner.register_hook(Collect(), priority='LOWEST')
        runner.train()
    return curve


def summary(values_mmdet: list, values_ours: list) -> dict:
    """Means, standard deviations and the difference ours - mmdet with its standard error."""
    k_mmdet, k_ours = len(values_mmdet), len(values_ours)
    sd_mmdet = statistics.stdev(values_mmdet) if k_mmdet > 1 else float('nan')
    sd_ours = statistics.stdev(values_ours) if k_ours > 1 else float('nan')
    difference = statistics.mean(values_ours) - statistics.mean(values_mmdet)
    standard_error = math.sqrt(sd_mmdet**2 / k_mmdet + sd_ours**2 / k_ours)
    return dict(
        mean_mmdet=statistics.mean(values_mmdet),
        sd_mmdet=sd_mmdet,
        mean_ours=statistics.mean(values_ours),
        sd_ours=sd_ours,
        difference=difference,
        standard_error=standard_error,
        # None: one seed per side gives no standard error, so no verdict
        within_two_se=None if math.isnan(standard_error) else abs(difference) <= 2 * standard_error,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--seeds', type=int, default=5, help='runs per side (seeds 0..K-1)')
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--val-interval', type=int, default=100)
    parser.add_argument('--size', type=int, default=160, help='image and input side (pixels)')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--lr', type=float, default=0.004)
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--data-root', help='generate the shapes set here (default: a temp dir)')
    parser.add_argument('--json', help='also write every run and the summary to this file')
    parser.add_argument('--device', default='cpu', help=argparse.SUPPRESS)
    parser.add_argument('--worker', nargs=8, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        side, seed, data_root, size, batch, lr, iters, interval = args.worker
        curve = train_once(
            side, int(seed), data_root, int(size), int(batch), float(lr), int(iters), int(interval)
        )
        print(json.dumps(curve))
        return

    from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset

    with tempfile.TemporaryDirectory() as temp:
        data_root = args.data_root or os.path.join(temp, 'shapes')
        generate_shapes_dataset(
            data_root,
            ShapesConfig(
                img_size=args.size, num_train=args.num_train, num_val=100, classes=CLASSES, seed=0
            ),
        )
        print(
            f'# RTMDet-tiny, shapes {args.size} px ({args.num_train} train / 100 val images, '
            f'{len(CLASSES)} classes), batch {args.batch}, AdamW {args.lr}, EMA, flip only, '
            f'{args.iters} iterations, {args.seeds} seeds per side',
            flush=True,
        )
        runs = {'mmdet': [], 'ours': []}
        for seed in range(args.seeds):
            for side in ('mmdet', 'ours'):
                curve = _run_worker(
                    __file__,
                    [
                        side,
                        str(seed),
                        data_root,
                        str(args.size),
                        str(args.batch),
                        str(args.lr),
                        str(args.iters),
                        str(args.val_interval),
                    ],
                    args.device,
                )
                curve = {int(k): v for k, v in curve.items()}
                runs[side].append(curve)
                print(
                    f'{side} seed {seed}: '
                    + ', '.join(f'{k}: {v:.3f}' for k, v in sorted(curve.items())),
                    flush=True,
                )
    print('| iterations | mmdet bbox mAP | ours bbox mAP | ours - mmdet | within 2 SE |')
    print('|---|---|---|---|---|')
    table = {}
    for iteration in sorted(runs['mmdet'][0]):
        row = summary([c[iteration] for c in runs['mmdet']], [c[iteration] for c in runs['ours']])
        table[iteration] = row
        print(
            f"| {iteration} | {row['mean_mmdet']:.3f} ± {row['sd_mmdet']:.3f} "
            f"| {row['mean_ours']:.3f} ± {row['sd_ours']:.3f} "
            f"| {row['difference']:+.3f} ± {row['standard_error']:.3f} "
            f"| {VERDICT[row['within_two_se']]} |"
        )
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(settings=vars(args), runs=runs, summary=table), f, indent=1)


if __name__ == '__main__':
    main()
