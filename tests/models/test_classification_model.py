"""The CSPNeXt ImageNet classifier equals mmpretrain 1.2.0's ``ImageClassifier`` with mmdet's
``CSPNeXt`` (mmdet's classification config): state-dict names, logits, scores, loss; and its
pieces on their own: label smoothing, Mixup, CutMix, the data preprocessor."""

import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rtmdet_plus.models.classifiers.batch_augments import CutMix, Mixup, RandomBatchAugment
from rtmdet_plus.models.losses.label_smooth_loss import LabelSmoothLoss
from rtmdet_plus.registry import MODELS
from rtmdet_plus.structures.cls_data_sample import ClsDataSample
from tests import REPO

# mmdet's configs/rtmdet/classification/cspnext-s_8xb256-rsb-a1-600e_in1k.py, the model
CSPNEXT_S = dict(
    type='ImageClassifier',
    backbone=dict(
        type='CSPNeXt',
        arch='P5',
        out_indices=(4,),
        expand_ratio=0.5,
        deepen_factor=0.33,
        widen_factor=0.5,
        channel_attention=True,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU'),
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0),
        topk=(1, 5),
    ),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)]),
)


def build_ours(cfg: dict):
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        return MODELS.build(copy.deepcopy(cfg))


# mmdet's classification configs differ from the s one only here: deepen, widen, head channels
SIZES = {
    'tiny': (0.167, 0.375, 384),
    's': (0.33, 0.5, 512),
    'm': (0.67, 0.75, 768),
    'l': (1, 1, 1024),
    'x': (1.33, 1.25, 1280),
}
CONFIGS = REPO / 'configs' / 'cspnext_classification'


def mmdet_classifier_cfg(size: str) -> dict:
    """The model of mmdet's ``cspnext-{size}_8xb256-rsb-a1-600e_in1k.py``."""
    deepen, widen, channels = SIZES[size]
    cfg = copy.deepcopy(CSPNEXT_S)
    cfg['backbone'].update(deepen_factor=deepen, widen_factor=widen)
    cfg['head'].update(in_channels=channels)
    return cfg


@pytest.fixture(scope='module')
def mmpretrain_models():
    from tools.analysis_tools.mmpretrain_oracle import import_mmpretrain_models

    try:
        import_mmpretrain_models()
    except ImportError as error:
        pytest.skip(f'mmpretrain 1.2.0 is the oracle here: {error}')
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS

    return PRETRAIN_MODELS


def build_reference(registry, size: str):
    """mmpretrain's ImageClassifier with mmdet's CSPNeXt, as mmdet's config builds it."""
    cfg = mmdet_classifier_cfg(size)
    cfg['backbone'].update(type='mmdet.CSPNeXt', act_cfg=dict(type='mmdet.SiLU'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return registry.build(cfg)


def perturbed(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            noise = 0.05 * torch.randn(value.shape, generator=generator)
            value = (value + noise).abs() + 0.5 if key.endswith('running_var') else value + noise
        state[key] = value
    return state


def samples(labels):
    return [ClsDataSample().set_gt_label(int(label)) for label in labels]


@pytest.mark.parametrize('size', SIZES)
def test_state_dict_logits_scores_and_loss_equal_mmpretrain(mmpretrain_models, size, report_figure):
    reference = build_reference(mmpretrain_models, size)
    # ours from our config file: the configs themselves are what is compared
    ours = build_ours(
        Config.fromfile(str(CONFIGS / f'cspnext-{size}_8xb256-rsb-a1-600e_in1k.py')).model
    )
    assert list(ours.state_dict()) == list(reference.state_dict())
    assert {'head.fc.weight', 'head.fc.bias'} <= set(ours.state_dict())
    state = perturbed(reference)
    reference.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    reference.eval(), ours.eval()
    images = torch.randint(
        0, 256, (2, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )
    data = dict(inputs=list(images))
    with torch.no_grad():
        our_in = ours.data_preprocessor(copy.deepcopy(data))['inputs']
        their_in = reference.data_preprocessor(copy.deepcopy(data))['inputs']
        torch.testing.assert_close(our_in, their_in)
        our_logits, their_logits = ours(our_in), reference(their_in)
        torch.testing.assert_close(our_logits, their_logits, atol=1e-4, rtol=1e-4)
        report_figure(
            f'[parity] cspnext-{size} classifier vs mmpretrain: largest logit '
            f'difference {(our_logits - their_logits).abs().max():.1e}'
        )
        preds = ours(our_in, mode='predict')
        their_preds = reference(their_in, mode='predict')
    for mine, theirs in zip(preds, their_preds):
        torch.testing.assert_close(mine.pred_score, theirs.pred_score, atol=1e-5, rtol=1e-4)
        assert mine.pred_label.tolist() == theirs.pred_label.tolist()
    from mmpretrain.structures import DataSample

    labels = [3, 997]
    with torch.no_grad():
        our_loss = ours(our_in, samples(labels), mode='loss')['loss']
        their_loss = reference(
            their_in, [DataSample().set_gt_label(label) for label in labels], mode='loss'
        )['loss']
    assert our_loss.item() == pytest.approx(their_loss.item(), rel=1e-5)


def test_label_smoothing_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    labels = torch.tensor([0, 2])
    loss = LabelSmoothLoss(label_smooth_val=0.1)(logits, labels)
    targets = torch.tensor([[0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3], [0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3]])
    log_probs = logits - logits.exp().sum(1, keepdim=True).log()
    expected = -(targets * log_probs).sum(1).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_head_cal_acc_logs_training_accuracy_for_hard_labels_only():
    head = build_ours(
        dict(type='LinearClsHead', num_classes=3, in_channels=2, topk=(1, 2), cal_acc=True)
    )
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        head.fc.bias.zero_()
    feats = (torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.9], [0.0, 0.1]]),)
    # logits argmax: 0, 1, 0, 1; second best: 1, 0, 1, 0
    losses = head.loss(feats, samples([0, 1, 1, 2]))
    assert losses['accuracy_top-1'].item() == pytest.approx(50.0)
    assert losses['accuracy_top-2'].item() == pytest.approx(75.0)
    soft = [ClsDataSample().set_gt_score(torch.full((3,), 1 / 3)) for _ in range(4)]
    with pytest.raises(ValueError, match='cal_acc'):
        head.loss(feats, soft)


def test_mixup_and_cutmix_mix_targets_by_the_image_share():
    np.random.seed(0)
    torch.manual_seed(0)
    images = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 3, 32, 32).clone()
    scores = torch.eye(4)
    mixed, mixed_scores = Mixup(alpha=0.2)(images, scores)
    assert torch.allclose(mixed_scores.sum(1), torch.ones(4))
    # each image is lam * its own value + (1 - lam) * a partner's: the scores say the same
    torch.testing.assert_close(mixed[:, 0, 0, 0], mixed_scores @ torch.arange(4.0))
    for seed in range(5):
        np.random.seed(seed)
        cut, cut_scores = CutMix(alpha=1.0)(images, scores)
        assert torch.allclose(cut_scores.sum(1), torch.ones(4))
        for i in range(4):
            own = (cut[i, 0] == i).float().mean()
            if cut_scores[i].max() < 1:  # a partner differing from the image itself
                assert cut_scores[i, i].item() == pytest.approx(own.item(), abs=1e-6)
    with pytest.raises(ValueError, match='unknown batch augment'):
        RandomBatchAugment([dict(type='CutOut')])


def test_preprocessor_makes_one_hot_scores_and_augments_only_in_training():
    model = build_ours(
        dict(
            CSPNEXT_S,
            backbone=dict(CSPNEXT_S['backbone'], deepen_factor=0.167, widen_factor=0.375),
            head=dict(CSPNEXT_S['head'], num_classes=4, in_channels=384),
        )
    )
    images = [torch.full((3, 8, 8), float(i)) for i in range(4)]
    out = model.data_preprocessor(dict(inputs=images, data_samples=samples([0, 1, 2, 3])), False)
    assert torch.equal(torch.stack([s.gt_score for s in out['data_samples']]), torch.eye(4))
    np.random.seed(1)
    torch.manual_seed(1)
    changed = 0
    for _ in range(10):  # a batch may draw the identity permutation or an empty box
        out = model.data_preprocessor(dict(inputs=images, data_samples=samples([0, 1, 2, 3])), True)
        scores = torch.stack([s.gt_score for s in out['data_samples']])
        assert torch.allclose(scores.sum(1), torch.ones(4))
        changed += not torch.equal(scores, torch.eye(4))
    assert changed >= 5
    loss = model(out['inputs'], out['data_samples'], mode='loss')['loss']
    assert torch.isfinite(loss) and loss.item() > 0


def test_classifier_checkpoint_initialises_the_rtmdet_backbone(tmp_path):
    """A classification checkpoint's ``backbone.*`` tensors initialise RTMDet-tiny's CSPNeXt
    through ``init_cfg=dict(type='Pretrained', prefix='backbone.')``, every tensor loaded."""
    tiny = dict(
        CSPNEXT_S,
        backbone=dict(CSPNEXT_S['backbone'], deepen_factor=0.167, widen_factor=0.375),
        head=dict(CSPNEXT_S['head'], in_channels=384),
    )
    classifier = build_ours(tiny)
    classifier.load_state_dict(perturbed(classifier, seed=2))
    path = tmp_path / 'cspnext-tiny_in1k.pth'
    torch.save(dict(state_dict=classifier.state_dict(), meta=dict()), path)
    backbone_cfg = dict(
        tiny['backbone'],
        out_indices=(2, 3, 4),
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=str(path)),
    )
    backbone = build_ours(backbone_cfg)
    backbone.init_weights()
    expected = {
        k[len('backbone.') :]: v
        for k, v in classifier.state_dict().items()
        if k.startswith('backbone.')
    }
    assert set(backbone.state_dict()) == set(expected)
    for name, value in backbone.state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_accuracy_metric_counts_top1_and_top5_in_percent():
    from rtmdet_plus.evaluation import Accuracy

    metric = Accuracy(topk=(1, 5))
    metric.dataset_meta = {}
    scores = torch.eye(6)[[0, 1, 2, 3]] * 0.5 + torch.arange(6.0).flip(0) * 0.01
    # image 3: the label 5 is the last class, not among the 5 best
    labels = [0, 1, 4, 5]
    predictions = [
        dict(pred_score=s, gt_label=torch.tensor([label])) for s, label in zip(scores, labels)
    ]
    metric.process({}, predictions)
    result = metric.evaluate(len(predictions))
    assert result == {'accuracy/top1': pytest.approx(50.0), 'accuracy/top5': pytest.approx(75.0)}
