"""The RTMDet-Ins configs: parity with mmdet 3.3.0's published configs, types, metafile.

As in ``test_configs.py``: after mmengine has merged each config with its bases, ours must equal
mmdet's in every key but ``default_scope`` (ours is ``'rtmdet_plus'``), ``custom_imports`` (ours
registers rtmdet_plus) and ``checkpoint`` (a top-level variable of mmdet's tiny/s configs that
only their own backbone ``init_cfg`` reads; ours writes the URL into ``init_cfg`` directly).
"""
import functools
from pathlib import Path
from typing import Any, Dict

import mmdet
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope

REPO = Path(__file__).resolve().parents[1]
OUR_CONFIGS = REPO / 'configs' / 'rtmdet'
MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs' / 'rtmdet'

SIZES = {
    'tiny': 'rtmdet-ins_tiny_8xb32-300e_coco.py',
    's': 'rtmdet-ins_s_8xb32-300e_coco.py',
    'm': 'rtmdet-ins_m_8xb32-300e_coco.py',
    'l': 'rtmdet-ins_l_8xb32-300e_coco.py',
    'x': 'rtmdet-ins_x_8xb16-300e_coco.py',
}
IGNORED_KEYS = {'default_scope', 'custom_imports', 'checkpoint'}
SECTIONS = [
    'model', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg', 'val_cfg',
    'test_cfg', 'optim_wrapper', 'param_scheduler', 'auto_scale_lr', 'default_hooks',
    'custom_hooks', 'val_evaluator', 'test_evaluator', 'tta_model', 'tta_pipeline'
]

needs_mmdet_configs = pytest.mark.skipif(
    not MMDET_CONFIGS.is_dir(),
    reason=f'mmdet was installed without its configs ({MMDET_CONFIGS} is missing)')


@functools.lru_cache(maxsize=None)
def load(path: Path) -> Dict[str, Any]:
    return Config.fromfile(str(path)).to_dict()


def ours(size: str) -> Dict[str, Any]:
    return load(OUR_CONFIGS / SIZES[size])


def mmdets(size: str) -> Dict[str, Any]:
    return load(MMDET_CONFIGS / SIZES[size])


@needs_mmdet_configs
@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('section', SECTIONS)
def test_section_equals_mmdet(size: str, section: str) -> None:
    assert section in mmdets(size), f'mmdet config has no {section!r}: update SECTIONS'
    assert ours(size).get(section) == mmdets(size)[section]


@needs_mmdet_configs
@pytest.mark.parametrize('size', SIZES)
def test_whole_config_equals_mmdet_but_scope(size: str) -> None:
    our_cfg = {k: v for k, v in ours(size).items() if k not in IGNORED_KEYS}
    mmdet_cfg = {k: v for k, v in mmdets(size).items() if k not in IGNORED_KEYS}
    assert sorted(our_cfg) == sorted(mmdet_cfg)
    assert our_cfg == mmdet_cfg
    assert ours(size)['default_scope'] == 'rtmdet_plus'


def test_published_recipe_facts() -> None:
    """The issue's recipe spelled out, so a change to both configs would still show."""
    cfg = ours('l')
    assert cfg['model']['test_cfg'] == dict(
        nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100, mask_thr_binary=0.5)
    assert cfg['model']['bbox_head']['type'] == 'RTMDetInsSepBNHead'
    assert cfg['model']['bbox_head']['loss_mask']['type'] == 'DiceLoss'
    assert cfg['val_evaluator']['metric'] == ['bbox', 'segm']
    for size in SIZES:
        stage1 = ours(size)['train_dataloader']['dataset']['pipeline']
        stage2 = ours(size)['custom_hooks'][1]['switch_pipeline']
        for pipeline in (stage1, stage2):
            load_ann = next(t for t in pipeline if t['type'] == 'LoadAnnotations')
            assert load_ann['with_mask'], size
            assert dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)) in pipeline, size
    assert ours('x')['optim_wrapper']['optimizer']['lr'] == 0.002


@pytest.mark.parametrize('size', SIZES)
def test_model_builds_with_our_ins_head(size: str) -> None:
    model_cfg = Config(dict(model=ours(size)['model'])).model
    model_cfg.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        model = ROOT_MODELS.build(model_cfg)
    assert type(model.bbox_head).__name__ == 'RTMDetInsSepBNHead'
    assert type(model.bbox_head).__module__.startswith('rtmdet_plus.')
    if size == 'tiny':
        model.eval()
        with torch.no_grad():
            cls_scores, bbox_preds, kernels, prototypes = model(torch.rand(1, 3, 64, 64), mode='tensor')
        assert prototypes.shape == (1, 8, 8, 8)
        assert [tuple(k.shape) for k in kernels] == [(1, 169, 8, 8), (1, 169, 4, 4), (1, 169, 2, 2)]


@needs_mmdet_configs
def test_metafile_lists_ins_models_as_mmdet() -> None:
    """Every Ins config is in our metafile with mmdet's weights and box/mask AP."""
    ours_meta = yaml.safe_load((OUR_CONFIGS / 'metafile.yml').read_text())['Models']
    mmdet_meta = yaml.safe_load((MMDET_CONFIGS / 'metafile.yml').read_text())['Models']
    mmdet_meta = {m['Name']: m for m in mmdet_meta}
    ours_by_config = {m['Config']: m for m in ours_meta}
    for name in SIZES.values():
        model = ours_by_config[f'configs/rtmdet/{name}']
        assert (REPO / model['Config']).is_file()
        published = mmdet_meta[model['Name']]
        assert model['Name'] == Path(name).stem
        assert model['Weights'] == published['Weights']
        assert model['Results'] == published['Results']
        assert {r['Task'] for r in model['Results']} == {'Object Detection', 'Instance Segmentation'}
