"""tools/train.py, tools/test.py and tools/infer.py run end to end in subprocesses.

A tiny COCO-format dataset (96x96 images of filled rectangles, two classes) and a config
inheriting configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py (no Mosaic/MixUp, batch 2, a few
iterations) are written to a temporary directory. The helpers are reused by
tests/test_dist_train.py and tests/test_mim.py.
"""
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from rtmdet_plus.utils import CPUAmpOptimWrapper, enable_amp, load_checkpoint_file

REPO = Path(__file__).resolve().parents[1]
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
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                    category_id=label + 1, bbox=[x, y, width, height],
                                    area=width * height, iscrowd=0))
        file_name = f'{image_id:04d}.png'
        cv2.imwrite(str(root / 'images' / file_name), image)
        images.append(dict(id=image_id, file_name=file_name, width=IMAGE_SIZE,
                           height=IMAGE_SIZE))
    categories = [dict(id=index + 1, name=name) for index, name in enumerate(CLASSES)]
    (root / 'ann.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=categories)))
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
    path.write_text(TINY_CONFIG.format(base=str(base), data_root=f'{data_root}/',
                                       classes=CLASSES, size=IMAGE_SIZE,
                                       num_classes=len(CLASSES)))
    return path


def tool_env() -> dict:
    """The environment for tool subprocesses: the repository importable, one thread each."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def run_tool(args: List[str], cwd: Path, timeout: float = 300,
             check: bool = True, executable: Optional[str] = None) -> str:
    """Run ``python args...`` (or ``executable args...``); return stdout+stderr."""
    command = [executable] if executable else [sys.executable]
    proc = subprocess.run(command + [str(arg) for arg in args], cwd=cwd, env=tool_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{command + args} failed ({proc.returncode}):\n{proc.stdout[-6000:]}')
    return proc.stdout


def train_iterations(log: str) -> List[int]:
    """The iteration numbers of the ``Iter(train) [i/N]`` log lines."""
    return [int(i) for i in re.findall(r'Iter\(train\)\s*\[\s*(\d+)/\d+\]', log)]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 2-iteration run of tools/train.py; its work dir, config, data and log."""
    root = tmp_path_factory.mktemp('tools')
    data_root = write_tiny_coco(root / 'data')
    config = write_tiny_config(root, data_root)
    work_dir = root / 'work'
    log = run_tool([REPO / 'tools' / 'train.py', config, '--work-dir', work_dir,
                    '--cfg-options', 'train_cfg.max_iters=2', 'randomness.seed=0'], cwd=root)
    return dict(root=root, config=config, data_root=data_root, work_dir=work_dir, log=log)


def test_train_runs_and_saves_checkpoint(trained):
    assert train_iterations(trained['log']) == [1, 2]
    assert (trained['work_dir'] / 'iter_2.pth').is_file()
    assert (trained['work_dir'] / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    # the merged config is dumped with the --cfg-options value applied
    dumped = (trained['work_dir'] / trained['config'].name).read_text()
    assert 'max_iters=2' in dumped


def test_resume_continues_iteration_counter(trained):
    log = run_tool([REPO / 'tools' / 'train.py', trained['config'], '--work-dir',
                    trained['work_dir'], '--resume', '--cfg-options', 'train_cfg.max_iters=3'],
                   cwd=trained['root'])
    assert 'resumed' in log.lower()
    assert train_iterations(log) == [3]
    before = load_checkpoint_file(trained['work_dir'] / 'iter_2.pth')
    after = load_checkpoint_file(trained['work_dir'] / 'iter_3.pth')
    assert before['meta']['iter'] == 2 and after['meta']['iter'] == 3
    # the optimizer state was restored and advanced, not restarted
    steps = [state['step'] for state in after['optimizer']['state'].values()]
    assert steps and all(float(torch.as_tensor(step)) == 3 for step in steps)


def test_test_tool_prints_coco_metrics(trained, tmp_path):
    out = tmp_path / 'predictions.pkl'
    log = run_tool([REPO / 'tools' / 'test.py', trained['config'],
                    trained['work_dir'] / 'iter_2.pth', '--work-dir', tmp_path / 'test',
                    '--out', out, '--cfg-options', 'test_dataloader.batch_size=4'],
                   cwd=trained['root'])
    match = re.search(r'coco/bbox_mAP: (-?\d+\.\d+)', log)
    assert match, log[-3000:]
    assert -1.0 <= float(match.group(1)) <= 1.0
    assert 'Average Precision' in log  # pycocotools' summary table
    with open(out, 'rb') as file:
        predictions = pickle.load(file)
    assert len(predictions) == 4 and 'pred_instances' in predictions[0]


def test_test_tool_show_dir_saves_drawings(trained, tmp_path):
    run_tool([REPO / 'tools' / 'test.py', trained['config'], trained['work_dir'] / 'iter_2.pth',
              '--work-dir', tmp_path, '--show-dir', 'shown'], cwd=trained['root'])
    drawings = list(tmp_path.glob('*/shown/*.png'))
    assert len(drawings) == 4


def test_infer_writes_picture_with_boxes(trained, tmp_path):
    """--score-thr 0 draws every detection the model gives (the count printed is PyTorch's, and
    the best box's outline is on the picture); a threshold above every score draws nothing. The
    weights are the toy models' (image-dependent boxes of real sizes): after 2 iterations of
    training every box can still be a sliver, too thin to show an outline."""
    from rtmdet_plus.apis import inference_detector, init_detector
    from tools.analysis_tools.toy_models import write_checkpoint
    image_path = trained['data_root'] / 'images' / '0001.png'
    checkpoint = tmp_path / 'toy.pth'
    write_checkpoint(Config.fromfile(str(trained['config'])), str(checkpoint))
    original = cv2.imread(str(image_path))
    model = init_detector(str(trained['config']), str(checkpoint), device='cpu')
    predicted = inference_detector(model, str(image_path)).pred_instances
    assert len(predicted) > 0

    out_file = tmp_path / 'out.png'
    log = run_tool([REPO / 'tools' / 'infer.py', image_path, trained['config'], checkpoint,
                    '--out-file', out_file, '--score-thr', '0', '--device', 'cpu'],
                   cwd=trained['root'])
    assert re.search(rf'^{len(predicted)} \S+ with score >= 0\.0 drawn', log, re.MULTILINE), log
    drawn = cv2.imread(str(out_file))
    assert drawn.shape == original.shape
    changed = np.abs(drawn.astype(int) - original.astype(int)).sum(axis=2) > 0
    x1, y1, x2, y2 = predicted.bboxes[predicted.scores.argmax()].round().int().tolist()
    height, width = changed.shape
    x1, x2 = np.clip([x1, x2], 0, width - 1)
    y1, y2 = np.clip([y1, y2], 0, height - 1)
    edges = [changed[max(y1 - 2, 0):y1 + 3, x1:x2 + 1], changed[max(y2 - 2, 0):y2 + 3, x1:x2 + 1],
             changed[y1:y2 + 1, max(x1 - 2, 0):x1 + 3], changed[y1:y2 + 1, max(x2 - 2, 0):x2 + 3]]
    assert all(edge.any(axis=0).mean() > 0.8 or edge.any(axis=1).mean() > 0.8 for edge in edges)

    log = run_tool([REPO / 'tools' / 'infer.py', image_path, trained['config'], checkpoint,
                    '--out-file', out_file, '--score-thr', '1.01', '--device', 'cpu'],
                   cwd=trained['root'])
    assert re.search(r'^0 \S+ with score >= 1\.01 drawn', log, re.MULTILINE), log
    assert np.array_equal(cv2.imread(str(out_file)), original)


def test_infer_missing_image_is_a_clear_error(trained, tmp_path):
    log = run_tool([REPO / 'tools' / 'infer.py', tmp_path / 'nope.png', trained['config'],
                    trained['work_dir'] / 'iter_2.pth', '--out-file', tmp_path / 'o.png'],
                   cwd=trained['root'], check=False)
    assert 'nope.png does not exist' in log


def test_train_amp_on_cpu_uses_bfloat16_autocast(trained, tmp_path):
    log = run_tool([REPO / 'tools' / 'train.py', trained['config'], '--work-dir', tmp_path,
                    '--amp', '--cfg-options', 'train_cfg.max_iters=1'], cwd=trained['root'])
    assert train_iterations(log) == [1]
    dumped = (tmp_path / trained['config'].name).read_text()
    assert 'CPUAmpOptimWrapper' in dumped and 'bfloat16' in dumped
    loss = float(re.search(r'Iter\(train\).*? loss: (\S+)', log).group(1))
    assert np.isfinite(loss)


def test_missing_config_is_a_clear_error(tmp_path):
    log = run_tool([REPO / 'tools' / 'train.py', tmp_path / 'missing.py'], cwd=tmp_path,
                   check=False)
    assert 'missing.py does not exist' in log


def test_cpu_amp_optim_wrapper_autocasts_to_bfloat16():
    layer = torch.nn.Linear(4, 2)
    wrapper = CPUAmpOptimWrapper(optimizer=torch.optim.SGD(layer.parameters(), lr=0.1))
    with wrapper.optim_context(layer):
        out = layer(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    before = layer.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert layer.weight.dtype == torch.float32 and not torch.equal(layer.weight, before)
    with pytest.raises(ValueError, match='bfloat16'):
        CPUAmpOptimWrapper(dtype='float16', optimizer=torch.optim.SGD(layer.parameters(), lr=0.1))

    if not torch.cuda.is_available():
        cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD'))))
        assert enable_amp(cfg) == 'CPUAmpOptimWrapper'
        assert cfg.optim_wrapper.dtype == 'bfloat16'


def test_demo_says_what_to_do_when_validation_logged_no_map():
    """CocoMetric logs no mAP when the model predicted nothing: the demo stops with a message
    naming the metric and what to do, instead of a KeyError."""
    import importlib.util
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    spec = importlib.util.spec_from_file_location('rtmdet_plus_demo', REPO / 'tools' / 'demo.py')
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    runner = SimpleNamespace(message_hub=MessageHub.get_instance('test_demo_val_metric'),
                             work_dir='/somewhere/work')
    with pytest.raises(SystemExit, match=r'no val/coco/bbox_mAP: the model predicted nothing.*'
                                         r'/somewhere/work.*train longer'):
        demo.val_metric(runner, 'val/coco/bbox_mAP')
    runner.message_hub.update_scalar('val/coco/bbox_mAP', 0.25)
    assert demo.val_metric(runner, 'val/coco/bbox_mAP') == 0.25
