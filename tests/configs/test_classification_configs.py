"""The CSPNeXt ImageNet classification configs: each size builds in our scope with its head
matching its backbone, the RSB-A1 recipe is spelled as published, and the sizes differ only in
depth, width and head channels."""

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rtmdet_plus.registry import MODELS
from tests import REPO

CONFIGS = REPO / 'configs' / 'cspnext_classification'
SIZES = {
    'tiny': (0.167, 0.375, 384),
    's': (0.33, 0.5, 512),
    'm': (0.67, 0.75, 768),
    'l': (1, 1, 1024),
    'x': (1.33, 1.25, 1280),
}


# mmdet 3.x's RTMDet README, classification table: checkpoint, top-1, top-5
PUBLISHED = {
    'tiny': ('cspnext-tiny_imagenet_600e-3a2dd350.pth', 69.44, 89.45),
    's': ('cspnext-s_imagenet_600e-ea671761.pth', 74.41, 92.23),
    'm': ('cspnext-m_8xb256-rsb-a1-600e_in1k-ecb3bbd9.pth', 79.27, 94.79),
    'l': ('cspnext-l_8xb256-rsb-a1-600e_in1k-6a760974.pth', 81.30, 95.62),
    'x': ('cspnext-x_8xb256-rsb-a1-600e_in1k-b3f78edd.pth', 82.10, 95.69),
}
METAFILE = {
    model['Name']: model
    for model in yaml.safe_load((CONFIGS / 'metafile.yml').read_text())['Models']
}


def test_metafile_lists_each_size_with_the_published_figures():
    assert set(METAFILE) == {f'cspnext-{size}_8xb256-rsb-a1-600e_in1k' for size in SIZES}
    for size, (weights, top1, top5) in PUBLISHED.items():
        model = METAFILE[f'cspnext-{size}_8xb256-rsb-a1-600e_in1k']
        assert (CONFIGS.parents[1] / model['Config']).is_file()
        assert model['Weights'] == (
            f'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/{weights}'
        )
        metrics = model['Results'][0]['Metrics']
        assert (metrics['Top 1 Accuracy'], metrics['Top 5 Accuracy']) == (top1, top5)


def load(size: str) -> Config:
    return Config.fromfile(str(CONFIGS / f'cspnext-{size}_8xb256-rsb-a1-600e_in1k.py'))


@pytest.mark.parametrize('size', SIZES)
def test_each_size_builds_and_classifies(size):
    cfg = load(size)
    deepen, widen, channels = SIZES[size]
    assert (cfg.model.backbone.deepen_factor, cfg.model.backbone.widen_factor) == (deepen, widen)
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        model = MODELS.build(cfg.model).eval()
    assert type(model).__module__.startswith('rtmdet_plus.')
    assert model.head.fc.in_features == channels
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 64))
    assert logits.shape == (1, 1000)
    # the parameter count of the published table (millions, two decimals)
    published = METAFILE[f'cspnext-{size}_8xb256-rsb-a1-600e_in1k']['Metadata']['Parameters']
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == published / 1e6
    # only depth, width and head channels differ from the s config
    s_cfg = load('s').to_dict()
    ours = cfg.to_dict()
    for key in ('backbone', 'head'):
        s_cfg['model'][key].update(
            {
                k: ours['model'][key][k]
                for k in ('deepen_factor', 'widen_factor', 'in_channels')
                if k in ours['model'][key]
            }
        )
    assert ours == s_cfg


def test_rsb_a1_recipe_as_published():
    cfg = load('s')
    assert cfg.optim_wrapper.optimizer == dict(type='Lamb', lr=0.005, weight_decay=0.01)
    assert cfg.optim_wrapper.paramwise_cfg == dict(bias_decay_mult=0.0, norm_decay_mult=0.0)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.begin, cosine.end, cosine.T_max) == (5, 5, 600, 595)
    assert cfg.train_cfg.max_epochs == 600
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    assert cfg.train_dataloader.batch_size == 256
    assert cfg.model.train_cfg.augments == [
        dict(type='Mixup', alpha=0.2),
        dict(type='CutMix', alpha=1.0),
    ]
    assert cfg.model.head.loss == dict(
        type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0
    )
    randaug = cfg.train_pipeline[3]
    assert (
        randaug.policies,
        randaug.num_policies,
        randaug.magnitude_level,
        randaug.magnitude_std,
    ) == ('timm_increasing', 2, 7, 0.5)
    assert randaug.hparams.pad_val == [104, 116, 124]
    assert [t.type for t in cfg.test_pipeline] == [
        'LoadImageFromFile',
        'ResizeEdge',
        'CenterCrop',
        'PackClsInputs',
    ]
    assert cfg.val_evaluator == dict(type='Accuracy', topk=(1, 5))
