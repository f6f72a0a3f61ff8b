"""Evaluate a checkpoint on the config's test set with mmengine's Runner, by the config's
metrics (COCO bbox/segm mAP, DOTA mAP, or top-1/top-5 accuracy for the CSPNeXt classifiers).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--show-dir DIR] [--cfg-options key=value ...]
                         [--launcher none|pytorch|slurm]

Several processes: tools/dist_test.sh (torchrun) or tools/slurm_test.sh (srun).
"""

import argparse
import os

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

try:
    from mmdet.engine.hooks.utils import trigger_visualization_hook
    from mmdet.evaluation import DumpDetResults
    from mmengine.evaluator import DumpResults

    import rtmdet_plus  # noqa: F401  (registers every component)
    from rtmdet_plus.models.classifiers import ImageClassifier
    from rtmdet_plus.utils import load_tool_config
except ImportError as error:
    raise SystemExit(
        f'Cannot import rtmdet_plus ({error}): install it with `pip install -e .` '
        'from the repository root, or put the root on PYTHONPATH.'
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a detector or classifier (rtmdet_plus)'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (path or http(s) URL)')
    parser.add_argument(
        '--work-dir',
        help='where the metrics log goes '
        '(default: the config\'s work_dir, else work_dirs/CONFIG_NAME)',
    )
    parser.add_argument('--out', help='also dump the raw predictions to this .pkl file')
    parser.add_argument('--show', action='store_true', help='display each drawn prediction')
    parser.add_argument(
        '--show-dir', help='save drawn predictions under WORK_DIR/TIMESTAMP/SHOW_DIR'
    )
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds each image is displayed with --show'
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config entries, e.g. test_dataloader.batch_size=2',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='how the processes were started',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must name a .pkl or .pickle file, got {args.out}')
    return args


def main() -> None:
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        if 'visualization' not in cfg.get('default_hooks', {}):
            raise SystemExit(
                f'--show/--show-dir need default_hooks.visualization '
                f"(type='DetVisualizationHook') in {args.config}."
            )
        cfg = trigger_visualization_hook(cfg, args)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out is not None:
        # classifiers' data samples carry scores and labels, not instances: dump them as they are
        model = getattr(runner.model, 'module', runner.model)  # unwrapped from DDP
        dump = DumpResults if isinstance(model, ImageClassifier) else DumpDetResults
        runner.test_evaluator.metrics.append(dump(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
