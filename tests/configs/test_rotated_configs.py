"""The RTMDet-R configs (``configs/rotated_rtmdet``): mmrotate 1.x's recipe numbers, models that
build with mmrotate's state-dict layout, a forward/predict pass and a short learning check."""

import math

import pytest
import torch
from mmdet.models.backbones import CSPNeXt as MMDetCSPNeXt
from mmdet.models.necks import CSPNeXtPAFPN as MMDetCSPNeXtPAFPN
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from rtmdet_plus.models.dense_heads import RotatedRTMDetSepBNHead
from rtmdet_plus.models.task_modules import (
    DistanceAnglePointCoder,
    DynamicSoftLabelAssigner,
    RBboxOverlaps2D,
)
from rtmdet_plus.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from rtmdet_plus.structures.bbox import RotatedBoxes
from tests import REPO
from tests.helpers.heads import expected_sepbn_keys

CONFIGS = REPO / 'configs' / 'rotated_rtmdet'
# size -> (deepen, widen, channels of the head, exp_on_reg, neck CSP blocks, batch per GPU)
SIZES = {
    'tiny': (0.167, 0.375, 96, False, 1, 8),
    's': (0.33, 0.5, 128, False, 1, 8),
    'm': (0.67, 0.75, 192, True, 2, 8),
    'l': (1, 1, 256, True, 3, 4),
}
SIZE_CONFIGS = [
    (size, f'rotated_rtmdet_{size}-3x-dota{ms}.py') for size in SIZES for ms in ('', '_ms')
]
ALL_CONFIGS = [name for _, name in SIZE_CONFIGS] + [
    'rotated_rtmdet_l-coco_pretrain-3x-dota_ms.py',
    'rotated_rtmdet_l-100e-aug-dota.py',
]
# Reduced configs for the generated rotated shapes dataset (tests/test_rotated_learning.py).
RSHAPES_CONFIGS = [
    'rotated_rtmdet_tiny_1xb8-12e_rshapes.py',
    'rotated_rtmdet_tiny_1xb8-20e_rshapes.py',
]
# Registered by the DOTA data work (datasets/evaluation); not required to exist yet.
DOTA_TYPES = {'DOTADataset', 'DOTAMetric', 'ConvertBoxType', 'RandomRotate'}


pytestmark = pytest.mark.usefixtures('one_thread')


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIGS / name))


def build_model(name: str):
    """The config's model, built in the config's scope (as the Runner does)."""
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        return MODELS.build(load(name).model)


def test_every_config_file_is_listed():
    assert sorted(p.name for p in CONFIGS.glob('*.py')) == sorted(ALL_CONFIGS + RSHAPES_CONFIGS)


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_published_recipe(name):
    cfg = load(name)
    assert cfg.default_scope == 'rtmdet_plus'
    head = cfg.model.bbox_head
    assert cfg.model.type == 'RTMDet' and head.type == 'RotatedRTMDetSepBNHead'
    assert cfg.model.data_preprocessor.boxtype2tensor is False
    assert head.num_classes == 15
    assert head.angle_version == 'le90' and head.bbox_coder.angle_version == 'le90'
    assert head.bbox_coder.type == 'DistanceAnglePointCoder'
    assert head.loss_bbox == dict(type='RotatedIoULoss', mode='linear', loss_weight=2.0)
    assert head.loss_cls == dict(
        type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0
    )
    assert head.loss_angle is None and head.use_hbbox_loss is False and head.scale_angle is False
    assert (head.stacked_convs, head.share_conv, head.pred_kernel_size) == (2, True, 1)
    assert cfg.model.train_cfg.assigner == dict(
        type='DynamicSoftLabelAssigner', iou_calculator=dict(type='RBboxOverlaps2D'), topk=13
    )
    assert cfg.model.test_cfg == dict(
        nms_pre=2000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms_rotated', iou_threshold=0.1),
        max_per_img=2000,
    )
    # AdamW 0.004 / 16, cosine to 5 % over the second half after 1000 warm-up iterations
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=0.004 / 16, weight_decay=0.05)
    assert cfg.optim_wrapper.paramwise_cfg.bypass_duplicate is True
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.by_epoch) == ('LinearLR', 1000, False)
    max_epochs = cfg.train_cfg.max_epochs
    assert max_epochs == (100 if '100e' in name else 36)
    assert cosine.type == 'CosineAnnealingLR' and math.isclose(cosine.eta_min, 0.004 / 16 * 0.05)
    half = max_epochs // 2
    assert (cosine.begin, cosine.end, cosine.T_max) == (half, max_epochs, half)
    ema = [hook for hook in cfg.custom_hooks if hook.type == 'EMAHook']
    assert len(ema) == 1 and ema[0].ema_type == 'ExpMomentumEMA' and ema[0].momentum == 0.0002
    # 1024 input, DOTA patches, DOTA metric
    pipelines = [
        cfg.train_dataloader.dataset.pipeline,
        cfg.val_dataloader.dataset.pipeline,
        cfg.test_pipeline,
    ]
    for pipeline in pipelines:
        pad = [t for t in pipeline if t.type == 'Pad']
        assert pad and pad[0].size == (1024, 1024)
    assert cfg.train_dataloader.dataset.type == 'DOTADataset'
    assert cfg.val_evaluator == dict(type='DOTAMetric', metric='mAP')
    assert cfg.train_dataloader.dataset.data_root == (
        'data/split_ms_dota/' if '_ms' in name else 'data/split_ss_dota/'
    )
    train_types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert 'ConvertBoxType' in train_types
    rotate = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomRotate'][0]
    assert (rotate.prob, rotate.angle_range, rotate.rect_obj_labels) == (0.5, 180, [9, 11])


@pytest.mark.parametrize('size,name', SIZE_CONFIGS)
def test_size_settings(size, name):
    deepen, widen, channels, exp_on_reg, csp_blocks, batch = SIZES[size]
    model = load(name).model
    assert (model.backbone.deepen_factor, model.backbone.widen_factor) == (deepen, widen)
    assert model.neck.out_channels == channels and model.neck.num_csp_blocks == csp_blocks
    assert model.neck.in_channels == [channels, channels * 2, channels * 4]
    assert (model.bbox_head.in_channels, model.bbox_head.feat_channels) == (channels, channels)
    assert model.bbox_head.exp_on_reg is exp_on_reg
    assert load(name).train_dataloader.batch_size == batch


def test_variants():
    coco = load('rotated_rtmdet_l-coco_pretrain-3x-dota_ms.py')
    for part in ('backbone', 'neck', 'bbox_head'):
        init = coco.model[part].init_cfg
        assert init.type == 'Pretrained' and init.prefix == f'{part}.'
        assert init.checkpoint.endswith('rtmdet_l_8xb32-300e_coco_20220719_112030-5a0be7c4.pth')
    aug = load('rotated_rtmdet_l-100e-aug-dota.py')
    train_types = [t.type for t in aug.train_dataloader.dataset.pipeline]
    assert train_types[3] == 'CachedMosaic' and 'CachedMixUp' in train_types
    switch = [hook for hook in aug.custom_hooks if hook.type == 'PipelineSwitchHook'][0]
    assert switch.switch_epoch == 90
    assert 'CachedMosaic' not in [t.type for t in switch.switch_pipeline]
    assert aug.train_cfg.val_interval == 20


@pytest.mark.parametrize('name', ALL_CONFIGS + RSHAPES_CONFIGS)
def test_component_types_resolve_in_our_scope(name):
    """Every type resolves in the rtmdet_plus scope, except the DOTA data types, which must be
    rtmdet_plus's own once registered."""
    cfg = load(name)
    pipeline = cfg.train_dataloader.dataset.pipeline + cfg.val_dataloader.dataset.pipeline
    for transform in pipeline:
        found = TRANSFORMS.get(transform.type)
        assert found is not None or transform.type in DOTA_TYPES, transform.type
        if found is not None and transform.type in DOTA_TYPES:
            assert found.__module__.startswith('rtmdet_plus'), transform.type
    for registry, type_name in ((DATASETS, 'DOTADataset'), (METRICS, 'DOTAMetric')):
        found = registry.get(type_name)
        assert found is None or found.__module__.startswith('rtmdet_plus')


@pytest.fixture(scope='module')
def models():
    """Each size's model built from its config (no pretrained weights are loaded)."""
    built = {}
    for size, name in SIZE_CONFIGS[::2]:
        built[size] = build_model(name)
    return built


@pytest.mark.parametrize('size', list(SIZES))
def test_model_builds_with_mmrotate_state_dict_layout(models, size):
    model = models[size]
    channels = SIZES[size][2]
    head = model.bbox_head
    assert type(head) is RotatedRTMDetSepBNHead
    assert type(head.assigner) is DynamicSoftLabelAssigner
    assert isinstance(head.assigner.iou_calculator, RBboxOverlaps2D)
    assert isinstance(head.bbox_coder, DistanceAnglePointCoder)
    state = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    head_keys = {
        name[len('bbox_head.') :]: shape
        for name, shape in state.items()
        if name.startswith('bbox_head.')
    }
    assert head_keys == expected_sepbn_keys(channels=channels)
    # backbone and neck: mmdet's CSPNeXt / CSPNeXtPAFPN, as mmrotate's configs use them
    cfg = load(f'rotated_rtmdet_{size}-3x-dota.py').model
    backbone_args = {k: v for k, v in cfg.backbone.items() if k not in ('type', 'init_cfg')}
    neck_args = {k: v for k, v in cfg.neck.items() if k != 'type'}
    for prefix, reference in (
        ('backbone.', MMDetCSPNeXt(**backbone_args)),
        ('neck.', MMDetCSPNeXtPAFPN(**neck_args)),
    ):
        ours = {
            name[len(prefix) :]: shape for name, shape in state.items() if name.startswith(prefix)
        }
        assert ours == {name: tuple(value.shape) for name, value in reference.state_dict().items()}


def synthetic_batch(size: int = 128, batch: int = 2, seed: int = 0):
    """Images with bright rotated rectangles and their RotatedBoxes."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing='ij')
    for _ in range(batch):
        image = torch.rand(3, size, size, generator=gen) * 40
        boxes = []
        for _ in range(3):
            cx, cy = (torch.rand(2, generator=gen) * (size - 48) + 24).tolist()
            w, h = (torch.rand(2, generator=gen) * 20 + 14).tolist()
            angle = (torch.rand(1, generator=gen).item() - 0.5) * math.pi
            along = (xs - cx) * math.cos(angle) + (ys - cy) * math.sin(angle)
            across = -(xs - cx) * math.sin(angle) + (ys - cy) * math.cos(angle)
            image[:, (along.abs() < w / 2) & (across.abs() < h / 2)] = 220
            boxes.append([cx, cy, w, h, angle])
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                pad_shape=(size, size),
                ori_shape=(size, size),
                scale_factor=(1.0, 1.0),
                batch_input_shape=(size, size),
            )
        )
        sample.gt_instances = InstanceData(
            bboxes=RotatedBoxes(torch.tensor(boxes)),
            labels=torch.randint(0, 15, (3,), generator=gen),
        )
        inputs.append(image)
        samples.append(sample)
    return torch.stack(inputs), samples


def test_tiny_forward_and_predict_at_128(models):
    model = revert_sync_batchnorm(models['tiny']).eval()
    with torch.no_grad():
        cls_scores, bbox_preds, angle_preds = model(torch.rand(1, 3, 128, 128), mode='tensor')
        assert [tuple(s.shape) for s in cls_scores] == [
            (1, 15, 16, 16),
            (1, 15, 8, 8),
            (1, 15, 4, 4),
        ]
        assert [s.shape[1] for s in bbox_preds] == [4] * 3
        assert [s.shape[1] for s in angle_preds] == [1] * 3
        inputs, samples = synthetic_batch(batch=1)
        results = model.predict(inputs, samples)
    pred = results[0].pred_instances
    # the head gives RotatedBoxes; mmdet's detector hands them on as (N, 5) tensors
    assert pred.bboxes.dim() == 2 and pred.bboxes.shape[1] == 5
    assert len(pred.scores) == len(pred.labels) == len(pred.bboxes)


def test_tiny_learns_on_a_synthetic_rotated_batch():
    """Loss on one synthetic batch is finite and falls over 20 Adam steps (tiny, 128 px; BN as
    the Runner makes it outside distributed training)."""
    torch.manual_seed(0)
    model = revert_sync_batchnorm(build_model('rotated_rtmdet_tiny-3x-dota.py'))
    model.bbox_head.init_weights()
    model.train()
    inputs, samples = synthetic_batch()
    inputs = (inputs - 100) / 60
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    totals = []
    for _ in range(20):
        losses = model.loss(inputs, samples)
        assert set(losses) == {'loss_cls', 'loss_bbox'}
        total = sum(losses.values())
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    # tiny decodes distances as reg * stride: the boxes start near zero size, nothing overlaps
    # the ground truth and the loss is tiny; it peaks once boxes grow and positives appear,
    # then falls as the model fits the batch.
    assert losses['loss_bbox'] > 0
    assert min(totals[-3:]) < 0.5 * max(totals[:5]), totals
