"""tools/train.py, tools/test.py and tools/infer.py run end to end in subprocesses.

A tiny COCO-format dataset (96x96 images of filled rectangles, two classes) and a config
inheriting configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py (no Mosaic/MixUp, batch 2, a few
iterations) are written to a temporary directory. The dataset and config
writers live in tests/helpers.py.
"""

import pickle
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from rtmdet_plus.utils import CPUAmpOptimWrapper, enable_amp, load_checkpoint_file
from tests import REPO
from tests.helpers import run_tool, train_iterations, write_tiny_coco, write_tiny_config


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 2-iteration run of tools/train.py; its work dir, config, data and log."""
    root = tmp_path_factory.mktemp('tools')
    data_root = write_tiny_coco(root / 'data')
    config = write_tiny_config(root, data_root)
    work_dir = root / 'work'
    log = run_tool(
        [
            REPO / 'tools' / 'train.py',
            config,
            '--work-dir',
            work_dir,
            '--cfg-options',
            'train_cfg.max_iters=2',
            'randomness.seed=0',
        ],
        cwd=root,
    )
    return dict(root=root, config=config, data_root=data_root, work_dir=work_dir, log=log)


def test_train_runs_and_saves_checkpoint(trained):
    assert train_iterations(trained['log']) == [1, 2]
    assert (trained['work_dir'] / 'iter_2.pth').is_file()
    assert (trained['work_dir'] / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    # the merged config is dumped with the --cfg-options value applied
    dumped = (trained['work_dir'] / trained['config'].name).read_text()
    assert 'max_iters=2' in dumped


def test_resume_continues_iteration_counter(trained):
    log = run_tool(
        [
            REPO / 'tools' / 'train.py',
            trained['config'],
            '--work-dir',
            trained['work_dir'],
            '--resume',
            '--cfg-options',
            'train_cfg.max_iters=3',
        ],
        cwd=trained['root'],
    )
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
    log = run_tool(
        [
            REPO / 'tools' / 'test.py',
            trained['config'],
            trained['work_dir'] / 'iter_2.pth',
            '--work-dir',
            tmp_path / 'test',
            '--out',
            out,
            '--cfg-options',
            'test_dataloader.batch_size=4',
        ],
        cwd=trained['root'],
    )
    match = re.search(r'coco/bbox_mAP: (-?\d+\.\d+)', log)
    assert match, log[-3000:]
    assert -1.0 <= float(match.group(1)) <= 1.0
    assert 'Average Precision' in log  # pycocotools' summary table
    with open(out, 'rb') as file:
        predictions = pickle.load(file)
    assert len(predictions) == 4 and 'pred_instances' in predictions[0]


def test_test_tool_show_dir_saves_drawings(trained, tmp_path):
    run_tool(
        [
            REPO / 'tools' / 'test.py',
            trained['config'],
            trained['work_dir'] / 'iter_2.pth',
            '--work-dir',
            tmp_path,
            '--show-dir',
            'shown',
        ],
        cwd=trained['root'],
    )
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
    log = run_tool(
        [
            REPO / 'tools' / 'infer.py',
            image_path,
            trained['config'],
            checkpoint,
            '--out-file',
            out_file,
            '--score-thr',
            '0',
            '--device',
            'cpu',
        ],
        cwd=trained['root'],
    )
    assert re.search(rf'^{len(predicted)} \S+ with score >= 0\.0 drawn', log, re.MULTILINE), log
    drawn = cv2.imread(str(out_file))
    assert drawn.shape == original.shape
    changed = np.abs(drawn.astype(int) - original.astype(int)).sum(axis=2) > 0
    x1, y1, x2, y2 = predicted.bboxes[predicted.scores.argmax()].round().int().tolist()
    height, width = changed.shape
    x1, x2 = np.clip([x1, x2], 0, width - 1)
    y1, y2 = np.clip([y1, y2], 0, height - 1)
    edges = [
        changed[max(y1 - 2, 0) : y1 + 3, x1 : x2 + 1],
        changed[max(y2 - 2, 0) : y2 + 3, x1 : x2 + 1],
        changed[y1 : y2 + 1, max(x1 - 2, 0) : x1 + 3],
        changed[y1 : y2 + 1, max(x2 - 2, 0) : x2 + 3],
    ]
    assert all(edge.any(axis=0).mean() > 0.8 or edge.any(axis=1).mean() > 0.8 for edge in edges)

    log = run_tool(
        [
            REPO / 'tools' / 'infer.py',
            image_path,
            trained['config'],
            checkpoint,
            '--out-file',
            out_file,
            '--score-thr',
            '1.01',
            '--device',
            'cpu',
        ],
        cwd=trained['root'],
    )
    assert re.search(r'^0 \S+ with score >= 1\.01 drawn', log, re.MULTILINE), log
    assert np.array_equal(cv2.imread(str(out_file)), original)


def test_infer_missing_image_is_a_clear_error(trained, tmp_path):
    log = run_tool(
        [
            REPO / 'tools' / 'infer.py',
            tmp_path / 'nope.png',
            trained['config'],
            trained['work_dir'] / 'iter_2.pth',
            '--out-file',
            tmp_path / 'o.png',
        ],
        cwd=trained['root'],
        check=False,
    )
    assert 'nope.png does not exist' in log


def test_train_amp_on_cpu_uses_bfloat16_autocast(trained, tmp_path):
    log = run_tool(
        [
            REPO / 'tools' / 'train.py',
            trained['config'],
            '--work-dir',
            tmp_path,
            '--amp',
            '--cfg-options',
            'train_cfg.max_iters=1',
        ],
        cwd=trained['root'],
    )
    assert train_iterations(log) == [1]
    dumped = (tmp_path / trained['config'].name).read_text()
    assert 'CPUAmpOptimWrapper' in dumped and 'bfloat16' in dumped
    loss = float(re.search(r'Iter\(train\).*? loss: (\S+)', log).group(1))
    assert np.isfinite(loss)


def test_missing_config_is_a_clear_error(tmp_path):
    log = run_tool(
        [REPO / 'tools' / 'train.py', tmp_path / 'missing.py'], cwd=tmp_path, check=False
    )
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
    runner = SimpleNamespace(
        message_hub=MessageHub.get_instance('test_demo_val_metric'), work_dir='/somewhere/work'
    )
    with pytest.raises(
        SystemExit,
        match=r'no val/coco/bbox_mAP: the model predicted nothing.*'
        r'/somewhere/work.*train longer',
    ):
        demo.val_metric(runner, 'val/coco/bbox_mAP')
    runner.message_hub.update_scalar('val/coco/bbox_mAP', 0.25)
    assert demo.val_metric(runner, 'val/coco/bbox_mAP') == 0.25
