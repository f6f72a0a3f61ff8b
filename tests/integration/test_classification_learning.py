"""CSPNeXt-tiny as a classifier learns, through the commands users run: ``mim train rtmdet_plus``
of the shapes classification config (from scratch, generated one-shape 64x64 grey images of
four classes, the RSB recipe reduced to a few CPU minutes), then ``mim test`` of its checkpoint.
Under `make test` the recipe is cut to 12 epochs (about a minute): top-1 on the val split >= 60 %
(chance is 25 %; measured 80.0 %); `make test-slow` holds the whole recipe's bar, 30 epochs and
top-1 >= 90 %."""

import re
import subprocess
import sys
import time

import mmengine
import pytest

from rtmdet_plus.datasets.shapes_classification import (
    generate_shape_classification_dataset,
    shape_classification_config,
)
from tests.helpers.mim import installed_location, mim_env

CONFIG = 'cspnext-tiny_1xb32-30e_shapes.py'
# (epochs, top-1 bar in %): the whole recipe (slow) and the recipe cut short (make test)
WHOLE, SHORT = (30, 90.0), (12, 60.0)


def mim(command: str, *args, cwd, timeout=1800) -> str:
    proc = subprocess.run(
        [sys.executable, '-m', 'mim', command, 'rtmdet_plus', CONFIG, *map(str, args)],
        cwd=cwd,
        env=mim_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


@pytest.mark.parametrize(
    'schedule',
    [pytest.param(WHOLE, id='30e', marks=pytest.mark.slow), pytest.param(SHORT, id='12e')],
)
def test_cspnext_tiny_classifier_learns_through_mim(tmp_path, report_figure, schedule):
    epochs, min_top1 = schedule
    installed_location()  # skips without an installed rtmdet_plus
    data_root = tmp_path / 'shapes_cls'
    generate_shape_classification_dataset(str(data_root), shape_classification_config(img_size=64))
    options = ['--cfg-options'] + [
        f'{loader}.dataset.data_root={data_root}/'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    if epochs != WHOLE[0]:  # the cosine after the 1-epoch warm-up re-stretched to the end
        options += [
            f'train_cfg.max_epochs={epochs}',
            f'train_cfg.val_interval={epochs}',
            f'default_hooks.checkpoint.interval={epochs}',
            f'param_scheduler.1.end={epochs}',
            f'param_scheduler.1.T_max={epochs - 1}',
        ]
    start = time.perf_counter()
    log = mim('train', '--work-dir', tmp_path / 'work', *options, cwd=tmp_path)
    minutes = (time.perf_counter() - start) / 60
    iterations = re.findall(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]', log)
    assert iterations and iterations[-1][0] == str(epochs), log[-3000:]
    trained = re.findall(r'accuracy/top1: ([\d.]+)', log)
    assert trained, log[-3000:]

    checkpoint = tmp_path / 'work' / f'epoch_{epochs}.pth'
    log = mim(
        'test', '--checkpoint', checkpoint, '--out', tmp_path / 'preds.pkl', *options, cwd=tmp_path
    )
    top1 = float(re.findall(r'accuracy/top1: ([\d.]+)', log)[-1])
    # --out dumps each val image's scores and label; their accuracy is the one printed
    predictions = mmengine.load(tmp_path / 'preds.pkl')
    val = shape_classification_config(img_size=64).num_val
    assert len(predictions) == val
    correct = [int(p['pred_label'][0]) == int(p['gt_label'][0]) for p in predictions]
    assert all(p['pred_score'].shape == (4,) for p in predictions)
    assert 100 * sum(correct) / val == pytest.approx(top1, abs=1e-3)
    report_figure(
        f'[learning] {CONFIG}: {epochs} epochs through mim train, val top-1 {top1:.1f} % '
        f'(mim test; {float(trained[-1]):.1f} % at the end of training); need >= '
        f'{min_top1}; trained in {minutes:.1f} min'
    )
    assert abs(top1 - float(trained[-1])) < 1e-6  # the checkpoint holds the trained weights
    assert top1 >= min_top1
