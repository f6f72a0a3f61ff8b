"""projects/mmdet_custom_imports: rtmdet_plus's components inside an mmdet-scoped config.

The config keeps ``default_scope='mmdet'`` and names our classes with the ``rtmdet_plus.``
prefix. Built through mmdet's own MODELS registry, the prefixed parts must be our classes and
every unprefixed part mmdet's.
"""

from pathlib import Path
from typing import Any, Dict

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from mmengine.utils import import_modules_from_strings

from tests import REPO

EXAMPLE = (
    REPO
    / 'projects'
    / 'mmdet_custom_imports'
    / 'configs'
    / 'rtmdet_tiny_mmdet-scope_8xb32-300e_coco.py'
)
PREFIXED = {
    ('backbone',): 'rtmdet_plus.CSPNeXt',
    ('neck',): 'rtmdet_plus.CSPNeXtPAFPN',
    ('bbox_head',): 'rtmdet_plus.RTMDetSepBNHead',
    ('train_cfg', 'assigner'): 'rtmdet_plus.DynamicSoftLabelAssigner',
}


def load_example() -> Config:
    """The example config, its custom_imports run by hand as mmengine's Runner would."""
    cfg = Config.fromfile(str(EXAMPLE), import_custom_modules=False)
    import_modules_from_strings(**cfg.custom_imports)
    return cfg


def build_in_mmdet_scope(model_cfg: Dict[str, Any]) -> torch.nn.Module:
    model_cfg = Config(dict(model=model_cfg)).model  # a fresh copy
    model_cfg.backbone.pop('init_cfg', None)  # random weights: no download
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MMDET_MODELS.build(model_cfg)


@pytest.fixture(scope='module')
def example_cfg() -> Config:
    return load_example()


@pytest.fixture(scope='module')
def example_model(example_cfg: Config) -> torch.nn.Module:
    return build_in_mmdet_scope(example_cfg.model)


def test_config_is_mmdet_scoped(example_cfg: Config) -> None:
    assert example_cfg.default_scope == 'mmdet'
    assert example_cfg.custom_imports == dict(imports=['rtmdet_plus'], allow_failed_imports=False)
    for path, type_name in PREFIXED.items():
        node = example_cfg.model
        for key in path:
            node = node[key]
        assert node['type'] == type_name, path


def test_prefixed_types_build_rtmdet_plus_classes(example_model: torch.nn.Module) -> None:
    from mmdet.models.backbones import CSPNeXt as MmdetCSPNeXt
    from mmdet.models.dense_heads import RTMDetSepBNHead as MmdetRTMDetSepBNHead
    from mmdet.models.necks import CSPNeXtPAFPN as MmdetCSPNeXtPAFPN
    from mmdet.models.task_modules import DynamicSoftLabelAssigner as MmdetAssigner

    from rtmdet_plus.models.backbones import CSPNeXt
    from rtmdet_plus.models.dense_heads import RTMDetSepBNHead
    from rtmdet_plus.models.necks import CSPNeXtPAFPN
    from rtmdet_plus.models.task_modules import DynamicSoftLabelAssigner

    built = {
        'backbone': (example_model.backbone, CSPNeXt, MmdetCSPNeXt),
        'neck': (example_model.neck, CSPNeXtPAFPN, MmdetCSPNeXtPAFPN),
        'bbox_head': (example_model.bbox_head, RTMDetSepBNHead, MmdetRTMDetSepBNHead),
        'assigner': (example_model.bbox_head.assigner, DynamicSoftLabelAssigner, MmdetAssigner),
    }
    for part, (module, ours, theirs) in built.items():
        assert isinstance(module, ours), f'{part} is {type(module)}, not rtmdet_plus {ours}'
        assert not isinstance(module, theirs), f'{part} is mmdet\'s {theirs}'


def test_unprefixed_types_stay_mmdets(example_model: torch.nn.Module) -> None:
    from mmdet.models.detectors import RTMDet
    from mmdet.models.losses import GIoULoss, QualityFocalLoss

    assert type(example_model) is RTMDet
    assert type(example_model.bbox_head.loss_cls) is QualityFocalLoss
    assert type(example_model.bbox_head.loss_bbox) is GIoULoss


def test_without_prefix_the_same_names_are_mmdets(example_cfg: Config) -> None:
    """Control: the prefix, not the type name, is what selects rtmdet_plus in an mmdet scope."""
    model_cfg = Config(dict(model=example_cfg.model)).model
    for node in (
        model_cfg.backbone,
        model_cfg.neck,
        model_cfg.bbox_head,
        model_cfg.train_cfg.assigner,
    ):
        node.type = node.type.split('.', 1)[1]
    model = build_in_mmdet_scope(model_cfg)
    for module in (model.backbone, model.neck, model.bbox_head, model.bbox_head.assigner):
        assert type(module).__module__.startswith('mmdet.'), type(module)


def test_train_step_loss_in_mmdet_scope(example_model: torch.nn.Module) -> None:
    """One loss computation runs our head and assigner under the mmdet scope."""
    torch.manual_seed(0)
    size = 64
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(size, size), pad_shape=(size, size), batch_input_shape=(size, size)
        )
    )
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[4.0, 6.0, 30.0, 40.0], [20.0, 10.0, 60.0, 58.0]]),
        labels=torch.tensor([3, 17]),
    )
    example_model.train()
    losses = example_model.loss(torch.rand(1, 3, size, size), [sample])
    assert set(losses) == {'loss_cls', 'loss_bbox'}
    summed = {name: sum(v) if isinstance(v, (list, tuple)) else v for name, v in losses.items()}
    assert summed['loss_bbox'] > 0, 'the assigner matched no prior to the two boxes'
    total = summed['loss_cls'] + summed['loss_bbox']
    assert torch.isfinite(total) and total > 0
    total.backward()
    grads = [p.grad for p in example_model.bbox_head.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_runner_builds_in_mmdet_scope(tmp_path: Path, restore_default_scope: None) -> None:
    """mmdet's tools/train.py path: the Runner takes the config as is, in the mmdet scope."""
    from rtmdet_plus.models.backbones import CSPNeXt

    cfg = Config.fromfile(str(EXAMPLE))
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.init_cfg = None
    runner = Runner.from_cfg(cfg)
    assert DefaultScope.get_current_instance().scope_name == 'mmdet'
    assert isinstance(runner.model.backbone, CSPNeXt)
    assert {'EMAHook', 'PipelineSwitchHook'} <= {type(hook).__name__ for hook in runner.hooks}
