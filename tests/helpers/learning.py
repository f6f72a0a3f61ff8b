"""Learning tests' helpers: train a shapes recipe through mmengine's Runner, and evaluate the
trained model's exports through the deployed backends."""

import importlib.util
import time
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset, use_data_root
from tests import REPO
from tests.helpers import shorten_schedule


def train_on_shapes(config: Path, tmp_path, max_epochs=None):
    """Generate the config's shapes dataset, train through mmengine's Runner, validate once.

    Returns (COCO bbox mAP, mAP@0.5, iterations, minutes); the config as trained is dumped as
    ``trained_config.py`` beside the checkpoints."""
    cfg = Config.fromfile(config)
    data_root = f'{tmp_path / "shapes"}/'
    generate_shapes_dataset(data_root, ShapesConfig(**cfg.shapes_dataset))
    use_data_root(cfg, data_root)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.logger.interval = 50
    if max_epochs is not None:
        shorten_schedule(cfg, max_epochs)
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    minutes = (time.perf_counter() - start) / 60
    assert runner.iter == cfg.train_cfg.max_epochs * len(runner.train_dataloader)
    cfg.dump(str(tmp_path / 'work' / 'trained_config.py'))
    hub = runner.message_hub
    return (
        hub.get_scalar('val/coco/bbox_mAP').current(),
        hub.get_scalar('val/coco/bbox_mAP_50').current(),
        runner.iter,
        minutes,
    )


def deployed_metrics(trained: Path, image: str, deploys: dict, work_dir: Path) -> dict:
    """``deploys`` (name -> deploy config file name under configs/deploy) -> the val metrics of
    the model trained in ``trained`` (its ``trained_config.py`` and last checkpoint) exported with
    each (calibrated on its val images for INT8 configs),
    evaluated through the deployed backend; OpenVINO configs are left out when openvino is
    not installed."""
    from rtmdet_plus.deploy import BackendDetector, export_model
    from rtmdet_plus.deploy.evaluation import evaluate_backend

    model_cfg = str(trained / 'trained_config.py')
    checkpoint = (trained / 'last_checkpoint').read_text().strip()
    metrics = {}
    for name, deploy in deploys.items():
        if 'openvino' in deploy and not importlib.util.find_spec('openvino'):
            continue
        deploy_cfg = str(REPO / 'configs' / 'deploy' / deploy)
        files = export_model(
            deploy_cfg,
            model_cfg,
            checkpoint,
            image,
            str(work_dir / deploy.replace('.py', '')),
            dump_info=False,
        )
        metrics[name] = evaluate_backend(BackendDetector(deploy_cfg, model_cfg, files))
    return metrics
