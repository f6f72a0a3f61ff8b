"""Train a detector with mmengine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--amp]
                                 [--auto-scale-lr] [--cfg-options key=value ...]
                                 [--launcher none|pytorch|slurm]

Several processes: tools/dist_train.sh (torchrun) or tools/slurm_train.sh (srun).
"""

import argparse
import os

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

try:
    import rtmdet_plus  # noqa: F401  (registers every component)
    from rtmdet_plus.utils import enable_amp, load_tool_config
except ImportError as error:
    raise SystemExit(
        f'Cannot import rtmdet_plus ({error}): install it with `pip install -e .` '
        'from the repository root, or put the root on PYTHONPATH.'
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector (rtmdet_plus)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go '
        '(default: the config\'s work_dir, else work_dirs/CONFIG_NAME)',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: float16 with loss scaling on a GPU, bfloat16 autocast on the CPU',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by (total batch size / auto_scale_lr.base_batch_size)',
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CHECKPOINT',
        help='resume from CHECKPOINT, or, without a value, from the latest '
        'checkpoint in the work dir (model, optimizer, schedulers, counters)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config entries, e.g. train_cfg.max_epochs=12 '
        'train_dataloader.batch_size=4 "model.backbone.init_cfg=None"',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='how the processes were started',
    )
    # torch.distributed.launch passes --local-rank (torchrun sets LOCAL_RANK instead)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)

    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise SystemExit(
                f'--auto-scale-lr needs auto_scale_lr.base_batch_size in '
                f'{args.config}: add auto_scale_lr = dict(base_batch_size=...).'
            )
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None  # the Runner finds the latest checkpoint in the work dir
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
