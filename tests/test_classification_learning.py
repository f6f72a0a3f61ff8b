"""CSPNeXt-tiny as a classifier learns: trained from scratch through mmengine's Runner on
generated shapes (one of four per 64x64 image, 400 train / 100 val) with the reduced RSB
recipe, top-1 accuracy on the val split >= 90 %."""
import time
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from rtmdet_plus.datasets.shapes_classification import (generate_shape_classification_dataset,
                                                        shape_classification_config)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'configs' / 'cspnext_classification' / 'cspnext-tiny_1xb32-30e_shapes.py'
MIN_TOP1 = 90.0


def test_cspnext_tiny_classifier_reaches_90_top1_on_shapes(tmp_path, report_figure):
    data_root = f'{tmp_path / "shapes_cls"}/'
    generate_shape_classification_dataset(data_root, shape_classification_config(img_size=64))
    cfg = Config.fromfile(str(CONFIG))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.work_dir = str(tmp_path / 'work')
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    minutes = (time.perf_counter() - start) / 60
    top1 = runner.message_hub.get_scalar('val/accuracy/top1').current()
    report_figure(f'[learning] {CONFIG.name}: {runner.iter} iterations in {minutes:.1f} min, '
                  f'val top-1 {top1:.1f} %; need >= {MIN_TOP1}')
    assert runner.iter == cfg.train_cfg.max_epochs * len(runner.train_dataloader)
    assert top1 >= MIN_TOP1
