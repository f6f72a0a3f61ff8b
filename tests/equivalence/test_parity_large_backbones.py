"""RTMDet-l with ConvNeXt-B, Swin-B and Swin-B-P6 equals mmdet 3.3.0's models built from mmdet's
own configs (mmpretrain's ConvNeXt as the oracle backbone): strict loading of the same perturbed
weights, raw outputs, predictions, losses and gradients; mmdet's layer-wise lr decay; a few
training steps learn, and activation checkpointing lowers the step's memory.

Small inputs under ``make test``; the published input sizes under ``make test-slow``.
"""

import copy
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from rtmdet_plus.models.backbones import ConvNeXt
from tools.analysis_tools.benchmarking import peak_heap_mib, saved_for_backward_mib
from tools.analysis_tools.mmdet_oracle import CONFIGS as CONFIG_DIR
from tools.analysis_tools.mmdet_oracle import (
    build_ours,
    build_reference,
    loss_value,
    max_abs_diff,
    perturbed_state_dict,
    synthetic_batch,
)
from tools.analysis_tools.mmpretrain_oracle import import_mmpretrain_models

CONFIGS = {
    'convnext_b': ('rtmdet/rtmdet_l_convnext_b_4xb32-100e_coco.py', 640),
    'swin_b': ('rtmdet/rtmdet_l_swin_b_4xb32-100e_coco.py', 640),
    'swin_b_p6': ('rtmdet/rtmdet_l_swin_b_p6_4xb16-100e_coco.py', 1280),
}
SMALL_INPUT = 128
TOL = 1e-4


def relative_close(ours: float, theirs: float) -> bool:
    """Within TOL, relative to the value when it is above 1."""
    return abs(ours - theirs) <= TOL * max(1.0, abs(theirs))


@pytest.fixture(scope='module', params=list(CONFIGS))
def model_pair(request):
    config, full_size = CONFIGS[request.param]
    if request.param == 'convnext_b':
        try:
            import_mmpretrain_models()  # mmdet's config imports mmpretrain.models
        except ImportError as error:
            pytest.skip(f'the reference ConvNeXt is mmpretrain 1.2.0: {error}')
    torch.manual_seed(0)
    reference, ours = build_reference(config), build_ours(config)
    state = perturbed_state_dict(reference, seed=1)
    reference.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    return request.param, reference, ours, full_size


def compare_outputs_and_predictions(reference, ours, size: int) -> None:
    reference.eval(), ours.eval()
    inputs = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref_cls, ref_reg = reference._forward(inputs)
        our_cls, our_reg = ours._forward(inputs)
        assert max_abs_diff(ref_cls, our_cls) < TOL
        assert max_abs_diff(ref_reg, our_reg) < TOL * max(
            1.0, max(r.abs().max().item() for r in ref_reg)
        )
        batch = synthetic_batch(1, size, 0, seed=3, scale_factor=(0.8, 0.5))
        for model in (reference, ours):
            model.bbox_head.test_cfg['score_thr'] = 0.01
        ref = reference.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
        our = ours.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
    a, b = ref[0].pred_instances, our[0].pred_instances
    assert len(a) == len(b) > 0
    assert torch.equal(a.labels, b.labels)
    assert (a.scores - b.scores).abs().max().item() < TOL
    assert (a.bboxes - b.bboxes).abs().max().item() < TOL * max(1.0, a.bboxes.abs().max().item())


def test_state_dict_layout_equals_mmdet(model_pair):
    name, reference, ours, _ = model_pair
    if name == 'convnext_b':
        assert type(ours.backbone) is ConvNeXt
        assert type(reference.backbone).__module__.startswith('mmpretrain.')
    ref_state, our_state = reference.state_dict(), ours.state_dict()
    assert list(ref_state) == list(our_state)
    assert all(ref_state[k].shape == our_state[k].shape for k in ref_state)
    assert type(ours.bbox_head).__module__.startswith('rtmdet_plus.')


def test_outputs_and_predictions_equal_mmdet(model_pair):
    _, reference, ours, _ = model_pair
    compare_outputs_and_predictions(reference, ours, SMALL_INPUT)


@pytest.mark.slow
def test_outputs_and_predictions_equal_mmdet_at_the_published_size(model_pair):
    _, reference, ours, full_size = model_pair
    compare_outputs_and_predictions(reference, ours, full_size)


def test_losses_and_gradients_equal_mmdet(model_pair):
    _, reference, ours, _ = model_pair
    reference.train(), ours.train()
    batch = synthetic_batch(2, SMALL_INPUT, [6, 2], seed=4)
    # the same stochastic-depth draws in both (drop_path_rate 0.7 / 0.3 in training)
    torch.manual_seed(5)
    ref_losses = reference.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    torch.manual_seed(5)
    our_losses = ours.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    for name in ('loss_cls', 'loss_bbox'):
        assert relative_close(our_losses[name].item(), loss_value(ref_losses[name]).item()), name
    sum(our_losses.values()).backward()
    sum(loss_value(v) for v in ref_losses.values()).backward()
    ref_params = dict(reference.named_parameters())
    pairs = [(p.grad, ref_params[n].grad) for n, p in ours.named_parameters() if p.grad is not None]
    assert len(pairs) == sum(p.grad is not None for p in reference.parameters()) > 0
    largest = max(ref.abs().max().item() for _, ref in pairs)
    worst = max((mine - ref).abs().max().item() for mine, ref in pairs)
    assert worst <= TOL * max(largest, 1.0)
    reference.zero_grad(), ours.zero_grad()


def test_layer_wise_lr_decay_groups_the_convnext_backbone():
    """mmdet's LearningRateDecayOptimizerConstructor, as the ConvNeXt config asks: stem at
    0.8**13 of the lr, the last stage at 0.8, neck and head at the full lr 0.001."""
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, CONFIGS['convnext_b'][0]))
    model = build_ours(CONFIGS['convnext_b'][0])
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr_of = {}
    for group in optim_wrapper.optimizer.param_groups:
        for name in group['param_names']:
            lr_of[name] = group['lr']
    assert len(lr_of) == sum(1 for _ in model.parameters())
    base_lr = 0.001
    assert lr_of['backbone.downsample_layers.0.0.weight'] == pytest.approx(base_lr * 0.8**13)
    assert lr_of['backbone.stages.2.26.pointwise_conv1.weight'] == pytest.approx(
        base_lr * 0.8 ** (14 - (3 + 26 // 3) - 1)
    )
    assert lr_of['backbone.stages.3.0.gamma'] == pytest.approx(base_lr * 0.8)
    assert lr_of['neck.out_convs.0.conv.weight'] == pytest.approx(base_lr)
    assert len(set(lr_of.values())) == 14


def set_with_cp(model: torch.nn.Module, with_cp: bool) -> None:
    for module in model.backbone.modules():
        if hasattr(module, 'with_cp'):
            module.with_cp = with_cp


def seeded_loss(model, batch, seed: int = 7) -> torch.Tensor:
    """The training loss with the same stochastic-depth draws whenever it is called."""
    torch.manual_seed(seed)
    return sum(model.loss(batch['inputs'], copy.deepcopy(batch['data_samples'])).values())


def test_a_few_steps_learn(model_pair):
    """Three AdamW steps on one generated batch lower its loss (measured with the same
    stochastic-depth draws before and after)."""
    name, _, ours, _ = model_pair
    state = copy.deepcopy(ours.state_dict())
    ours.train()
    batch = synthetic_batch(2, SMALL_INPUT, [5, 3], seed=5)
    optimizer = torch.optim.AdamW(ours.parameters(), lr=1e-4)
    with torch.no_grad():
        before = seeded_loss(ours, batch).item()
    for step in range(3):
        seeded_loss(ours, batch, seed=step).backward()
        optimizer.step()
        optimizer.zero_grad()
    with torch.no_grad():
        after = seeded_loss(ours, batch).item()
    ours.load_state_dict(state)
    assert after < before, (name, before, after)


def checkpointing_memory(model_pair, with_peak: bool):
    """MiB of tensors kept for backward, and (``with_peak``) the step's peak heap, without and
    with ``with_cp`` (256x256, batch 1)."""
    _, _, ours, _ = model_pair
    ours.train()
    batch = synthetic_batch(1, 256, [5], seed=6)

    def step():
        seeded_loss(ours, batch).backward()
        ours.zero_grad()

    kept, peak = {}, {}
    for with_cp in (False, True):
        set_with_cp(ours, with_cp)
        kept[with_cp] = saved_for_backward_mib(lambda: seeded_loss(ours, batch))
        ours.zero_grad()
        peak[with_cp] = peak_heap_mib(step) if with_peak else None
    return kept, peak


def test_checkpointing_lowers_step_memory(model_pair, report_figure):
    """``with_cp=True`` (the published configs) keeps far fewer tensors for the backward pass
    than ``with_cp=False`` (256x256, batch 1); both are reported."""
    kept, _ = checkpointing_memory(model_pair, with_peak=False)
    report_figure(
        f'{model_pair[0]}: tensors kept for backward {kept[False]:.0f} MiB without / '
        f'{kept[True]:.0f} MiB with checkpointing (256x256, batch 1)'
    )
    assert kept[True] < 0.6 * kept[False], kept


@pytest.mark.slow
def test_checkpointing_step_peak_heap(model_pair, report_figure):
    """The same, with the forward+backward peak heap of each (a heap reading after every large
    operation: slow, `make test-slow`)."""
    kept, peak = checkpointing_memory(model_pair, with_peak=True)
    peaks = ' / '.join('n/a' if p is None else f'{p:.0f}' for p in peak.values())
    report_figure(
        f'{model_pair[0]}: tensors kept for backward {kept[False]:.0f} MiB without / '
        f'{kept[True]:.0f} MiB with checkpointing; forward+backward peak heap above '
        f'the model {peaks} MiB (256x256, batch 1)'
    )
    assert kept[True] < 0.6 * kept[False], kept
