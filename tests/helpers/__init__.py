"""Helpers shared by test files, in one place: ``tests.helpers``. A test module imports helpers
from here, never from another test module (shared fixtures are in ``tests/conftest.py``).

This module: the small shapes dataset's settings, a tiny COCO-format dataset and config, and
running the tools in subprocesses. By concern (imported as ``tests.helpers.<name>``, so that this
module stays light for ``conftest.py``):

- ``datasets``: a COCO dataset config over the small shapes dataset, rewriting its annotations;
- ``heads``: RTMDet-R tiny's head and its mmrotate 1.x state-dict names;
- ``learning``: training on the shapes dataset, metrics of the trained model's exports;
- ``deploy``: the deploy tests' comparison of backend and PyTorch detections;
- ``mim``: the installed distribution and the environment for ``mim``.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from rtmdet_plus.datasets.shapes import ShapesConfig
from tests import REPO

# Small and quick (about a second): 12 train and 6 val images of 128x128 (conftest's
# ``shapes_dataset``).
# the real sample images beside the repository (absent in a bare clone: tests skip or say so)
SHARED_DATA = REPO.parent / 'shared' / 'data'

SMALL_SHAPES = ShapesConfig(img_size=128, num_train=12, num_val=6, seed=7)

TINY_BASE_CONFIG = REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_8xb32-300e_coco.py'
CLASSES = ('square', 'bar')
IMAGE_SIZE = 96


def write_tiny_coco(root: Path, num_images: int = 4, seed: int = 0) -> Path:
    """Write ``root/images/*.png`` and ``root/ann.json``: 1-2 filled rectangles per image.

    Class 0 ('square') is a red square, class 1 ('bar') a green bar twice as wide as high.
    """
    rng = np.random.default_rng(seed)
    (root / 'images').mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 90, np.uint8)
        image += rng.integers(0, 40, image.shape, dtype=np.uint8)
        for _ in range(int(rng.integers(1, 3))):
            label = int(rng.integers(0, 2))
            height = int(rng.integers(20, 40))
            width = height if label == 0 else 2 * height
            width = min(width, IMAGE_SIZE - 4)
            x = int(rng.integers(0, IMAGE_SIZE - width))
            y = int(rng.integers(0, IMAGE_SIZE - height))
            color = (40, 40, 230) if label == 0 else (40, 200, 40)  # BGR
            cv2.rectangle(image, (x, y), (x + width - 1, y + height - 1), color, -1)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=label + 1,
                    bbox=[x, y, width, height],
                    area=width * height,
                    iscrowd=0,
                )
            )
        file_name = f'{image_id:04d}.png'
        cv2.imwrite(str(root / 'images' / file_name), image)
        images.append(dict(id=image_id, file_name=file_name, width=IMAGE_SIZE, height=IMAGE_SIZE))
    categories = [dict(id=index + 1, name=name) for index, name in enumerate(CLASSES)]
    (root / 'ann.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=categories))
    )
    return root


TINY_CONFIG = '''\
_base_ = {base!r}

data_root = {data_root!r}
metainfo = dict(classes={classes!r}, palette=[(220, 20, 60), (0, 128, 0)])
size = ({size}, {size})

model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes={num_classes}))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=size, keep_ratio=True),
    dict(type='Pad', size=size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
dataset = dict(data_root=data_root, metainfo=metainfo, ann_file='ann.json',
               data_prefix=dict(img='images/'))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, pin_memory=False,
    dataset=dict(**dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(**dataset, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'ann.json')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=2),
                     logger=dict(interval=1))
custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002,
                     update_buffers=True, priority=49)]
log_processor = dict(by_epoch=False)
'''


def write_tiny_config(directory: Path, data_root: Path, base: Path = TINY_BASE_CONFIG) -> Path:
    """A config for ``data_root`` (see :func:`write_tiny_coco`) inheriting ``base``."""
    path = directory / 'rtmdet_tiny_toy.py'
    path.write_text(
        TINY_CONFIG.format(
            base=str(base),
            data_root=f'{data_root}/',
            classes=CLASSES,
            size=IMAGE_SIZE,
            num_classes=len(CLASSES),
        )
    )
    return path


def tool_env() -> dict:
    """The environment for tool subprocesses: the repository importable, one thread each."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def run_tool(
    args: List[str],
    cwd: Path,
    timeout: float = 300,
    check: bool = True,
    executable: Optional[str] = None,
) -> str:
    """Run ``python args...`` (or ``executable args...``); return stdout+stderr."""
    command = [executable] if executable else [sys.executable]
    proc = subprocess.run(
        command + [str(arg) for arg in args],
        cwd=cwd,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f'{command + args} failed ({proc.returncode}):\n{proc.stdout[-6000:]}')
    return proc.stdout


def train_iterations(log: str) -> List[int]:
    """The iteration numbers of the ``Iter(train) [i/N]`` log lines."""
    return [int(i) for i in re.findall(r'Iter\(train\)\s*\[\s*(\d+)/\d+\]', log)]


def shorten_schedule(cfg, max_epochs: int) -> None:
    """Cut an epoch-based shapes recipe (``[warm-up, cosine]`` schedulers) to ``max_epochs`` in
    place: the warm-up as it is, the cosine re-stretched to end at the last epoch, one validation
    and one checkpoint at the end."""
    warmup, cosine = cfg.param_scheduler
    assert cosine.type == 'CosineAnnealingLR' and warmup.end <= cosine.begin < max_epochs, (
        f'shorten_schedule expects [warm-up, cosine] ending before epoch {max_epochs}: '
        f'{cfg.param_scheduler}'
    )
    assert 'dynamic_intervals' not in cfg.train_cfg, 'a recipe with dynamic_intervals'
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    cfg.default_hooks.checkpoint.interval = max_epochs
    cosine.end = max_epochs
    cosine.T_max = max_epochs - cosine.begin
