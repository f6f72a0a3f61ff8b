"""The RTMDet and RTMDet-Ins configs: parity with mmdet 3.3.0's published configs, scope, metafile.

mmdet's shipped configs (``mmdet/.mim/configs/rtmdet`` inside the installed wheel) are the oracle.
After mmengine has merged each config with its bases, ours must equal mmdet's in every key but:

* ``default_scope``: ours is ``'rtmdet_plus'`` (mmdet's is ``'mmdet'``), by design;
* ``custom_imports``: ours registers rtmdet_plus; mmdet's configs have none;
* ``checkpoint``: a top-level variable of mmdet's tiny/s configs holding the backbone's
  ImageNet URL, read by nothing but their own ``init_cfg``; ours writes the URL into
  ``init_cfg`` directly, and ``model`` (``init_cfg`` included) is compared;
* ``default_hooks``: ours add the fault-tolerance hooks (``non_finite``, ``epoch_seed``,
  ``resume_fallback``, ``bad_samples``) and atomic checkpoint writes
  (``checkpoint.backend_args``); they change no number of the recipe and are taken out before
  the comparison (``test_fault_tolerance_hooks_are_on_everywhere`` checks they are there).

Nothing else is ignored: dataset paths and ``backend_args`` are the same as mmdet's too.
"""

import copy
import functools
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import mmcv.ops
import mmdet
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import TASK_UTILS as ROOT_TASK_UTILS
from mmengine.registry import WEIGHT_INITIALIZERS as ROOT_WEIGHT_INITIALIZERS
from mmengine.registry import DefaultScope, Registry
from mmengine.runner import Runner

from tests import REPO

OUR_CONFIGS = REPO / 'configs' / 'rtmdet'
MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs' / 'rtmdet'

# Detection configs by size ('tiny', ...), instance-segmentation ones as 'ins_<size>'.
SIZES = {
    'tiny': 'rtmdet_tiny_8xb32-300e_coco.py',
    's': 'rtmdet_s_8xb32-300e_coco.py',
    'm': 'rtmdet_m_8xb32-300e_coco.py',
    'l': 'rtmdet_l_8xb32-300e_coco.py',
    'x': 'rtmdet_x_8xb32-300e_coco.py',
    'x_p6': 'rtmdet_x_p6_4xb8-300e_coco.py',
    'ins_tiny': 'rtmdet-ins_tiny_8xb32-300e_coco.py',
    'ins_s': 'rtmdet-ins_s_8xb32-300e_coco.py',
    'ins_m': 'rtmdet-ins_m_8xb32-300e_coco.py',
    'ins_l': 'rtmdet-ins_l_8xb32-300e_coco.py',
    'ins_x': 'rtmdet-ins_x_8xb16-300e_coco.py',
    'l_convnext_b': 'rtmdet_l_convnext_b_4xb32-100e_coco.py',
    'l_swin_b': 'rtmdet_l_swin_b_4xb32-100e_coco.py',
    'l_swin_b_p6': 'rtmdet_l_swin_b_p6_4xb16-100e_coco.py',
}
INS_SIZES = [size for size in SIZES if size.startswith('ins_')]
# RTMDet-l with ConvNeXt-B / Swin-B backbones: their detector parity is in
# test_parity_large_backbones.py (mmdet's ConvNeXt config needs mmpretrain).
LARGE_BACKBONES = [size for size in SIZES if size.startswith('l_')]
# Models of mmdet's RTMDet README that its metafile lacks: name -> (weights, box AP).
_ORANGE = (
    'https://github.com/orange0-jp/orange-weights/releases/download/v0.1.0rtmdet-swin-convnext/'
)
README_ONLY = {
    'rtmdet_l_convnext_b_4xb32-100e_coco': (
        _ORANGE + 'rtmdet_l_convnext_b_4xb32-100e_coco-d4731b3d.pth',
        53.1,
    ),
    'rtmdet_l_swin_b_4xb32-100e_coco': (
        _ORANGE + 'rtmdet_l_swin_b_4xb32-100e_coco-0828ce5d.pth',
        52.4,
    ),
    'rtmdet_l_swin_b_p6_4xb16-100e_coco': (
        _ORANGE + 'rtmdet_l_swin_b_p6_4xb16-100e_coco-a1486b6f.pth',
        56.4,
    ),
}
# mmdet's configs name mmpretrain's ConvNeXt; ours registers its own under the same name.
MMDET_TYPE_NAMES = {'mmpretrain.ConvNeXt': 'ConvNeXt'}
# Keys allowed to differ from mmdet's merged config; the module docstring says why.
IGNORED_KEYS = {'default_scope', 'custom_imports', 'checkpoint'}
# default_hooks our configs add to mmdet's (configs/_base_/default_runtime.py)
OUR_DEFAULT_HOOKS = {
    'non_finite': 'rtmdet_plus.NonFiniteLossHook',
    'epoch_seed': 'rtmdet_plus.EpochSeedHook',
    'resume_fallback': 'rtmdet_plus.ResumeFallbackHook',
    'bad_samples': 'rtmdet_plus.BadSampleReportHook',
}
# The sections a training run reads, compared one by one for a readable failure.
SECTIONS = [
    'model',
    'train_dataloader',
    'val_dataloader',
    'test_dataloader',
    'train_cfg',
    'val_cfg',
    'test_cfg',
    'optim_wrapper',
    'param_scheduler',
    'auto_scale_lr',
    'default_hooks',
    'custom_hooks',
    'val_evaluator',
    'test_evaluator',
    'tta_model',
    'tta_pipeline',
]
# Types that rtmdet_plus defines itself; in its scope they must not resolve to mmdet's classes.
OWN_TYPES = [
    'CSPNeXt',
    'CSPNeXtPAFPN',
    'RTMDetHead',
    'RTMDetSepBNHead',
    'RTMDetInsHead',
    'RTMDetInsSepBNHead',
    'DynamicSoftLabelAssigner',
]

needs_mmdet_configs = pytest.mark.skipif(
    not MMDET_CONFIGS.is_dir(),
    reason=f'mmdet was installed without its configs ({MMDET_CONFIGS} is missing)',
)


@functools.lru_cache(maxsize=None)
def load(path: Path) -> Dict[str, Any]:
    """The merged config at ``path`` as plain dicts/lists (cached: configs are read-only here).
    ``custom_imports`` are not imported: mmdet's ConvNeXt config names mmpretrain."""
    return Config.fromfile(str(path), import_custom_modules=False).to_dict()


def ours(size: str) -> Dict[str, Any]:
    return load(OUR_CONFIGS / SIZES[size])


def without_our_hooks(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """``cfg`` less the fault-tolerance additions to ``default_hooks`` (module docstring)."""
    cfg = copy.deepcopy(cfg)
    hooks = cfg['default_hooks']
    for key, hook_type in OUR_DEFAULT_HOOKS.items():
        assert hooks.pop(key)['type'] == hook_type, key
    assert hooks['checkpoint'].pop('backend_args') == dict(backend='atomic_local')
    return cfg


def renamed_types(node: Any) -> Any:
    """``node`` with mmdet's type names spelled as in our scope (``MMDET_TYPE_NAMES``)."""
    if isinstance(node, dict):
        return {
            key: MMDET_TYPE_NAMES.get(value, value) if key == 'type' else renamed_types(value)
            for key, value in node.items()
        }
    if isinstance(node, (list, tuple)):
        return type(node)(renamed_types(value) for value in node)
    return node


def mmdets(size: str) -> Dict[str, Any]:
    return renamed_types(load(MMDET_CONFIGS / SIZES[size]))


@needs_mmdet_configs
@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('section', SECTIONS)
def test_section_equals_mmdet(size: str, section: str) -> None:
    assert section in mmdets(size), f'mmdet config has no {section!r}: update SECTIONS'
    assert without_our_hooks(ours(size)).get(section) == mmdets(size)[section]


@needs_mmdet_configs
@pytest.mark.parametrize('size', SIZES)
def test_whole_config_equals_mmdet_but_scope(size: str) -> None:
    our_cfg = {k: v for k, v in without_our_hooks(ours(size)).items() if k not in IGNORED_KEYS}
    mmdet_cfg = {k: v for k, v in mmdets(size).items() if k not in IGNORED_KEYS}
    assert sorted(our_cfg) == sorted(mmdet_cfg)
    assert our_cfg == mmdet_cfg
    assert mmdets(size)['default_scope'] == 'mmdet'


@pytest.mark.parametrize('size', SIZES)
def test_fault_tolerance_hooks_are_on_everywhere(size: str) -> None:
    """Every config has the fault-tolerance hooks, named with their scope so that they build
    from mmdet's scope too (an mmdet project with custom_imports), and atomic checkpoints."""
    hooks = ours(size)['default_hooks']
    assert {key: hooks[key]['type'] for key in OUR_DEFAULT_HOOKS} == OUR_DEFAULT_HOOKS
    assert hooks['non_finite']['action'] == 'stop'
    assert hooks['checkpoint']['backend_args'] == dict(backend='atomic_local')


def test_recipe_facts() -> None:
    """A few published numbers spelled out, so a change to both configs would still show."""
    cfg = ours('l')
    model = cfg['model']
    assert model['test_cfg'] == dict(
        nms_pre=30000,
        min_bbox_size=0,
        score_thr=0.001,
        nms=dict(type='nms', iou_threshold=0.65),
        max_per_img=300,
    )
    assert cfg['optim_wrapper']['optimizer'] == dict(type='AdamW', lr=0.004, weight_decay=0.05)
    warmup, cosine = cfg['param_scheduler']
    assert (warmup['type'], warmup['end'], warmup['by_epoch']) == ('LinearLR', 1000, False)
    assert (cosine['type'], cosine['begin'], cosine['end']) == ('CosineAnnealingLR', 150, 300)
    ema, switch = cfg['custom_hooks']
    assert (ema['type'], ema['ema_type']) == ('EMAHook', 'ExpMomentumEMA')
    assert (switch['type'], switch['switch_epoch']) == ('PipelineSwitchHook', 280)
    stage1 = [t['type'] for t in cfg['train_dataloader']['dataset']['pipeline']]
    stage2 = [t['type'] for t in switch['switch_pipeline']]
    assert {'CachedMosaic', 'CachedMixUp'} <= set(stage1)
    assert not {'CachedMosaic', 'CachedMixUp'} & set(stage2)
    # P6 scales the lr to its 4x8 batch and the cosine floor with it.
    p6 = ours('x_p6')
    assert p6['optim_wrapper']['optimizer']['lr'] == pytest.approx(0.004 * 32 / 256)
    assert p6['param_scheduler'][1]['eta_min'] == pytest.approx(0.004 * 32 / 256 * 0.05)


def test_ins_recipe_facts() -> None:
    """The RTMDet-Ins recipe spelled out, so a change to both configs would still show."""
    cfg = ours('ins_l')
    assert cfg['model']['test_cfg'] == dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100,
        mask_thr_binary=0.5,
    )
    assert cfg['model']['bbox_head']['type'] == 'RTMDetInsSepBNHead'
    assert cfg['model']['bbox_head']['loss_mask']['type'] == 'DiceLoss'
    assert cfg['val_evaluator']['metric'] == ['bbox', 'segm']
    for size in INS_SIZES:
        stage1 = ours(size)['train_dataloader']['dataset']['pipeline']
        stage2 = ours(size)['custom_hooks'][1]['switch_pipeline']
        for pipeline in (stage1, stage2):
            load_ann = next(t for t in pipeline if t['type'] == 'LoadAnnotations')
            assert load_ann['with_mask'], size
            assert dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)) in pipeline, size
    assert ours('ins_x')['optim_wrapper']['optimizer']['lr'] == 0.002


def detector_configs() -> List[Path]:
    """Every complete model config under configs/ (``_base_`` files, the TTA fragment and the
    deploy configs of configs/deploy/ excluded)."""
    return sorted(
        p
        for p in (REPO / 'configs').rglob('*.py')
        if '_base_' not in p.parts and not p.name.endswith('_tta.py') and p.parent.name != 'deploy'
    )


@pytest.mark.parametrize('path', detector_configs(), ids=lambda p: p.name)
def test_every_config_uses_rtmdet_plus_scope(path: Path) -> None:
    cfg = load(path)
    assert 'model' in cfg, f'{path} defines no model: a fragment? exclude it in detector_configs'
    assert cfg['default_scope'] == 'rtmdet_plus', path
    assert cfg['custom_imports'] == dict(imports=['rtmdet_plus'], allow_failed_imports=False)


def _sizes(pipeline) -> Dict[str, Any]:
    """Resize scale / Pad size of a pipeline, by transform type."""
    return {
        step['type']: step.get('scale', step.get('size'))
        for step in pipeline or []
        if step.get('type') in ('Resize', 'Pad')
    }


@pytest.mark.parametrize('path', detector_configs(), ids=lambda p: p.name)
def test_test_pipeline_resizes_as_the_test_dataloader(path: Path) -> None:
    """The top-level ``test_pipeline`` (what inference, DetInferencer and MMDeploy's export read)
    resizes and pads as the test dataloader the model is evaluated with: a config that changes
    its loaders' size must change it too (or a deployed model silently sees other inputs)."""
    cfg = load(path)
    loader = cfg.get('test_dataloader') or {}
    loader_pipeline = loader.get('dataset', {}).get('pipeline')
    if 'test_pipeline' not in cfg or not loader_pipeline or 'TestTimeAug' in str(loader_pipeline):
        pytest.skip('no test_pipeline beside a test dataloader pipeline')
    assert _sizes(cfg['test_pipeline']) == _sizes(loader_pipeline), path


def typed_dicts(node: Any, key: str = '') -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Yield (key the dict sits under, dict) for every dict with a ``type`` below ``node``."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield key, node
        for child_key, child in node.items():
            yield from typed_dicts(child, child_key)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from typed_dicts(child, key)


def registry_for(key: str) -> Registry:
    """The root registry mmdet builds a sub-config from, by the key it sits under."""
    if key in ('assigner', 'sampler', 'anchor_generator', 'prior_generator', 'bbox_coder'):
        return ROOT_TASK_UTILS
    if key == 'init_cfg':
        return ROOT_WEIGHT_INITIALIZERS
    return ROOT_MODELS


def resolve_in_scope(root: Registry, type_name: str, scope: str) -> type:
    """Resolve ``type_name`` the way the Runner does under ``default_scope=scope``."""
    with DefaultScope.overwrite_default_scope(scope):
        with root.switch_scope_and_registry(None) as registry:
            assert registry.scope == scope, f'no {root.name!r} registry in scope {scope!r}'
            return registry.get(type_name)


@pytest.mark.parametrize('size', SIZES)
def test_every_model_type_resolves_in_rtmdet_plus_scope(size: str) -> None:
    for key, sub_cfg in typed_dicts(ours(size)['model']):
        type_name = sub_cfg['type']
        if key == 'nms':  # an mmcv.ops function name, not a registered type
            assert hasattr(mmcv.ops, type_name), f'{type_name!r} is not in mmcv.ops'
            continue
        resolved = resolve_in_scope(registry_for(key), type_name, 'rtmdet_plus')
        assert resolved is not None, f'{key}: type {type_name!r} does not resolve in rtmdet_plus'


@pytest.mark.parametrize('type_name', OWN_TYPES)
def test_own_types_shadow_mmdet_in_rtmdet_plus_scope(type_name: str) -> None:
    root = ROOT_TASK_UTILS if type_name.endswith('Assigner') else ROOT_MODELS
    ours_cls = resolve_in_scope(root, type_name, 'rtmdet_plus')
    mmdet_cls = resolve_in_scope(root, type_name, 'mmdet')
    assert ours_cls.__module__.startswith('rtmdet_plus.'), ours_cls
    assert mmdet_cls.__module__.startswith('mmdet.'), mmdet_cls


def build_detector(cfg: Dict[str, Any], scope: str) -> torch.nn.Module:
    """Build ``cfg['model']`` under ``scope`` with random weights (pretrained init removed)."""
    model_cfg = Config(dict(model=cfg['model'])).model  # a fresh copy
    model_cfg.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(scope):
        return ROOT_MODELS.build(model_cfg)


def param_shapes(model: torch.nn.Module) -> Dict[str, Tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


@needs_mmdet_configs
@pytest.mark.parametrize('size', [size for size in SIZES if size not in LARGE_BACKBONES])
def test_model_builds_with_mmdet_state_dict_layout(size: str) -> None:
    """Our classes under our config have mmdet's parameter names and shapes: the published
    checkpoints load into them."""
    our_model = build_detector(ours(size), 'rtmdet_plus')
    assert type(our_model.backbone).__module__.startswith('rtmdet_plus.')
    assert type(our_model.bbox_head).__module__.startswith('rtmdet_plus.')
    mmdet_model = build_detector(mmdets(size), 'mmdet')
    assert param_shapes(our_model) == param_shapes(mmdet_model)


def test_ins_tiny_forward_shapes() -> None:
    """RTMDet-Ins-tiny in eval mode: prototypes at stride 8, 169 dynamic-conv parameters per
    prior."""
    model = build_detector(ours('ins_tiny'), 'rtmdet_plus').eval()
    assert type(model.bbox_head).__name__ == 'RTMDetInsSepBNHead'
    with torch.no_grad():
        cls_scores, bbox_preds, kernels, prototypes = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert prototypes.shape == (1, 8, 8, 8)
    assert [tuple(k.shape) for k in kernels] == [(1, 169, 8, 8), (1, 169, 4, 4), (1, 169, 2, 2)]


def test_tiny_forward_on_cpu_with_syncbn() -> None:
    """SyncBN in one CPU process: train-mode forward works and yields one map per stride."""
    model = build_detector(ours('tiny'), 'rtmdet_plus')
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    model.train()
    cls_scores, bbox_preds = model(torch.rand(2, 3, 64, 64), mode='tensor')
    strides = ours('tiny')['model']['bbox_head']['anchor_generator']['strides']
    num_classes = ours('tiny')['model']['bbox_head']['num_classes']
    assert [tuple(s.shape) for s in cls_scores] == [
        (2, num_classes, 64 // s, 64 // s) for s in strides
    ]
    assert [tuple(b.shape) for b in bbox_preds] == [(2, 4, 64 // s, 64 // s) for s in strides]
    assert all(torch.isfinite(t).all() for t in (*cls_scores, *bbox_preds))


def test_runner_builds_from_tiny_config(tmp_path: Path, restore_default_scope: None) -> None:
    """mmengine's Runner accepts the config as is: every runtime type (hooks, visualizer, loops)
    resolves from the rtmdet_plus scope, and single-process SyncBN becomes BN."""
    from mmdet.visualization import DetLocalVisualizer

    cfg = Config.fromfile(str(OUR_CONFIGS / SIZES['tiny']))
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.init_cfg = None
    runner = Runner.from_cfg(cfg)
    hook_names = {type(hook).__name__ for hook in runner.hooks}
    assert {'EMAHook', 'PipelineSwitchHook', 'DetVisualizationHook', 'CheckpointHook'} <= hook_names
    assert isinstance(runner.visualizer, DetLocalVisualizer)
    assert type(runner.model.backbone).__module__.startswith('rtmdet_plus.')
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in runner.model.modules())


def test_model_index_lists_every_config() -> None:
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    assert index['Import'] == [
        'configs/rtmdet/metafile.yml',
        'configs/cspnext_classification/metafile.yml',
    ]
    metafile = yaml.safe_load((REPO / index['Import'][0]).read_text())
    listed = {model['Config'] for model in metafile['Models']}
    assert listed == {f'configs/rtmdet/{name}' for name in SIZES.values()}
    for model in metafile['Models']:
        assert (REPO / model['Config']).is_file(), model['Config']
        assert model['Name'] == Path(model['Config']).stem
        assert model['In Collection'] == 'RTMDet'


@needs_mmdet_configs
def test_metafile_weights_and_ap_match_mmdet() -> None:
    """Same checkpoints as mmdet's metafile. Our box AP is the README figure for the current
    post-processing, at most 0.3 above mmdet's metafile (measured with the earlier one)."""
    ours_meta = yaml.safe_load((OUR_CONFIGS / 'metafile.yml').read_text())['Models']
    mmdet_meta = yaml.safe_load((MMDET_CONFIGS / 'metafile.yml').read_text())['Models']
    mmdet_by_name = {model['Name']: model for model in mmdet_meta}
    for model in ours_meta:
        if model['Name'] in README_ONLY:  # not in mmdet's metafile: the README's row
            weights, box_ap = README_ONLY[model['Name']]
            assert model['Weights'] == weights
            assert model['Results'][0]['Metrics']['box AP'] == box_ap
            continue
        published = mmdet_by_name[model['Name']]
        assert model['Weights'] == published['Weights']
        if model['Name'].startswith('rtmdet-ins'):  # box and mask AP as published
            assert model['Results'] == published['Results'], model['Name']
            assert {r['Task'] for r in model['Results']} == {
                'Object Detection',
                'Instance Segmentation',
            }
            continue
        our_ap = model['Results'][0]['Metrics']['box AP']
        mmdet_ap = published['Results'][0]['Metrics']['box AP']
        assert 0 <= our_ap - mmdet_ap <= 0.3 + 1e-9, (model['Name'], our_ap, mmdet_ap)


def test_overridden_mmdet_names_are_documented() -> None:
    """Every type name our scope registers that mmdet or mmcv also registers is listed, with
    its reason, in ``rtmdet_plus.registry.OVERRIDDEN_NAMES``, and nothing else is."""
    import mmcv.transforms  # noqa: F401  (registers mmcv's transforms)
    from mmdet import registry as mmdet_registry
    from mmdet.utils import register_all_modules

    from rtmdet_plus import registry

    register_all_modules(init_default_scope=False)
    for name in ('MODELS', 'TASK_UTILS', 'DATASETS', 'TRANSFORMS', 'METRICS', 'HOOKS'):
        ours, theirs = getattr(registry, name), getattr(mmdet_registry, name)
        ours.import_from_location()
        known = set(theirs.module_dict)
        if theirs.parent is not None:
            known |= set(theirs.parent.module_dict)  # mmengine's root: mmcv's transforms
        shared = set(ours.module_dict) & known
        documented = registry.OVERRIDDEN_NAMES.get(ours.name, {})
        assert shared == set(documented), (ours.name, sorted(shared), sorted(documented))
        assert all(documented.values())
