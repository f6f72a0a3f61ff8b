"""The metrics of a deployed model over a dataloader of its model config, as MMDeploy's
``tools/test.py`` computes them: the backend model's ``test_step`` on each batch (data
preprocessor, backend, post-processing to the original image) into the config's evaluator."""

import copy
from typing import Dict

from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar


def evaluate_backend(
    detector,
    dataloader: str = 'val_dataloader',
    evaluator: str = 'val_evaluator',
    progress: bool = False,
) -> Dict[str, float]:
    """``evaluator``'s metrics (e.g. ``coco/bbox_mAP``) of ``detector`` (a
    :class:`~rtmdet_plus.deploy.BackendDetector`) over ``model_cfg[dataloader]``, one image per
    batch (static exports take one)."""
    cfg = detector.model_cfg
    for key in (dataloader, evaluator):
        if key not in cfg:
            raise KeyError(f'the model config has no {key!r} to evaluate with')
    init_default_scope(cfg.get('default_scope', 'rtmdet_plus'))
    loader_cfg = copy.deepcopy(cfg[dataloader])
    loader_cfg.update(batch_size=1, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg)
    metrics = Evaluator(copy.deepcopy(cfg[evaluator]))
    metrics.dataset_meta = loader.dataset.metainfo
    bar = ProgressBar(len(loader.dataset)) if progress else None
    for batch in loader:
        metrics.process(detector.model.test_step(batch), batch)
        if bar is not None:
            bar.update()
    return metrics.evaluate(len(loader.dataset))
