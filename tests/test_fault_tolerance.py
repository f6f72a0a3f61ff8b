"""Training that survives faults: a non-finite loss stops the run before the optimizer step
(naming the iteration, the loss terms and the images) or is skipped and counted."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset, use_data_root

REPO = Path(__file__).resolve().parents[1]
SHAPES_CONFIG = REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_1xb4-12e_shapes.py'
SIZE = 64


def small_config(tmp_path: Path, max_epochs: int = 3, num_train: int = 8, **options) -> Config:
    """The shapes recipe at 64 pixels on ``num_train`` generated images (2 iterations an
    epoch at batch 4), a checkpoint every epoch, logging every iteration, seed 0,
    deterministic."""
    cfg = Config.fromfile(SHAPES_CONFIG)
    data_root = f'{tmp_path / "shapes"}/'
    generate_shapes_dataset(data_root, ShapesConfig(**dict(
        cfg.shapes_dataset, img_size=SIZE, num_train=num_train, num_val=4)))
    use_data_root(cfg, data_root)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.pipeline = [
            dict(t, scale=(SIZE, SIZE)) if t['type'] == 'Resize' else
            dict(t, size=(SIZE, SIZE)) if t['type'] == 'Pad' else t
            for t in cfg[loader].dataset.pipeline]
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = 1000
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook')
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict(options)
    return cfg


def test_non_finite_loss_stops_before_the_step_naming_iteration_terms_and_images(tmp_path):
    """A learning rate of 1e30 makes the weights huge after the first step, and the second
    iteration's loss is not finite: the run stops there with the terms and the images named,
    the weights as the first step left them, and no checkpoint written."""
    cfg = small_config(tmp_path, max_epochs=2, optim_wrapper=dict(optimizer=dict(lr=1e30)))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'non-finite' in message and 'at iteration 2 (epoch 1)' in message, message
    assert ('loss_cls=' in message or 'loss_bbox=' in message or 'gradients' in message), message
    assert message.count(str(tmp_path / 'shapes' / 'train')) == 4, message  # the batch's images
    assert 'the last checkpoint is none yet' in message
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_non_finite_loss_skip_counts_the_skipped_steps(tmp_path):
    """action='skip': the run ends, every non-finite step is dropped (weights stay finite) and
    counted in the log's train/skipped_steps and at each epoch's end."""
    cfg = small_config(tmp_path, max_epochs=2, optim_wrapper=dict(optimizer=dict(lr=1e30)))
    cfg.default_hooks.non_finite = dict(type='NonFiniteLossHook', action='skip')
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'NonFiniteLossHook')
    assert hook.skipped == 3  # iterations 2-4: the first step made the weights huge
    assert runner.message_hub.get_scalar('train/skipped_steps').current() == 3
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'step skipped (3 so far)' in log and 'epoch 2: 2 step(s) with a non-finite' in log
