"""Our RTMDet-Ins equals mmdet 3.3.0's: strict loading of mmdet's (perturbed) weights, identical
raw head outputs, predictions (boxes, scores, labels, masks), losses and gradients, for every size.
Also: the mask rescaling to a non-square original image that mmdet 3.3.0 gets wrong (its issue
11230: width and height scale factors swapped), the per-image and batched assignment paths, and
the plain (shared-tower) ``RTMDetInsHead``."""

import copy

import pytest
import torch
from mmengine.config import Config

from rtmdet_plus.models.dense_heads.rtmdet_ins_head import mask_logits_to_image
from tools.analysis_tools.mmdet_oracle import (
    build_ours,
    build_reference,
    load_perturbed_pair,
    loss_value,
    max_abs_diff,
    perturbed_state_dict,
    single_process_model_cfg,
    synthetic_batch,
)

TOL = 1e-4
SIZES = [
    pytest.param(('rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py', 128), id='tiny'),
    pytest.param(('rtmdet/rtmdet-ins_s_8xb32-300e_coco.py', 128), id='s'),
    pytest.param(('rtmdet/rtmdet-ins_m_8xb32-300e_coco.py', 128), id='m', marks=pytest.mark.slow),
    pytest.param(('rtmdet/rtmdet-ins_l_8xb32-300e_coco.py', 128), id='l', marks=pytest.mark.slow),
    pytest.param(('rtmdet/rtmdet-ins_x_8xb16-300e_coco.py', 128), id='x', marks=pytest.mark.slow),
]
TINY = 'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py'


def loaded_pair(reference, ours):
    """mmdet's perturbed weights in both, strictly; score threshold 0.001 (random weights score
    every prior near the 0.01 prior: keep detections to compare)."""
    return load_perturbed_pair(reference, ours, seed=1, score_thr=0.001)


@pytest.fixture(scope='module', params=SIZES)
def model_pair(request):
    config, size = request.param
    torch.manual_seed(0)
    reference, ours = loaded_pair(build_reference(config), build_ours(config))
    return reference, ours, size


def test_state_dict_keys_and_shapes_match(model_pair):
    reference, ours, _ = model_pair
    ref_state, our_state = reference.state_dict(), ours.state_dict()
    assert list(ref_state) == list(our_state)
    assert all(ref_state[k].shape == our_state[k].shape for k in ref_state)
    # The SepBN quirk: the regression branch is the classification tower, under both names.
    head = ours.bbox_head
    assert any(k.startswith('bbox_head.reg_convs.') for k in our_state)
    assert all(reg is cls for reg, cls in zip(head.reg_convs, head.cls_convs))


def test_raw_head_outputs_match(model_pair):
    reference, ours, size = model_pair
    reference.eval(), ours.eval()
    inputs = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref_outs = reference._forward(inputs)
        our_outs = ours._forward(inputs)
    assert len(ref_outs) == len(our_outs) == 4
    for ref_out, our_out in zip(ref_outs[:3], our_outs[:3]):
        assert len(ref_out) == len(our_out) == 3
        assert max_abs_diff(ref_out, our_out) < TOL
    assert (ref_outs[3] - our_outs[3]).abs().max().item() < TOL  # prototypes

    # Mask logits of the dynamic convs on image 1's prototypes, for priors of every level and
    # unit-scale kernels (the perturbed model's kernels are ~0.01 and would hide errors).
    head = ours.bbox_head
    featmap_sizes = [out.shape[-2:] for out in our_outs[0]]
    priors = torch.cat(
        head.prior_generator.grid_priors(featmap_sizes, device='cpu', with_stride=True)
    )
    generator = torch.Generator().manual_seed(0)
    kernels = torch.randn(len(priors), head.num_gen_params, generator=generator)
    chosen = torch.randperm(len(priors), generator=generator)[:40]
    with torch.no_grad():
        ref_logits = reference.bbox_head._mask_predict_by_feat_single(
            ref_outs[3][1], kernels[chosen], priors[chosen]
        )
        our_logits = head.mask_logits(our_outs[3][1], kernels[chosen], priors[chosen])
    assert ref_logits.shape == our_logits.shape == (40, *our_outs[3].shape[-2:])
    assert (ref_logits - our_logits).abs().max().item() < TOL
    assert ref_logits.abs().max().item() > 0.1  # not a trivially small comparison


def assert_same_instances(ref, our):
    assert len(ref) == len(our) > 0
    assert torch.equal(ref.labels, our.labels)
    assert (ref.scores - our.scores).abs().max().item() < TOL
    assert (ref.bboxes - our.bboxes).abs().max().item() < TOL
    assert ref.masks.shape == our.masks.shape
    # Masks are thresholded logits: allow the odd pixel whose logit sits within rounding of 0.
    assert (ref.masks != our.masks).float().mean().item() < 1e-4


def test_predictions_match(model_pair):
    reference, ours, size = model_pair
    reference.eval(), ours.eval()
    # Equal horizontal and vertical scale factors: mmdet's issue-11230 swap does not apply.
    batch = synthetic_batch(2, size, 0, seed=3, scale_factor=(0.8, 0.8))
    with torch.no_grad():
        ref = reference.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
        our = ours.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
    for ref_sample, our_sample in zip(ref, our):
        assert our_sample.pred_instances.masks.shape[-2:] == our_sample.ori_shape
        assert_same_instances(ref_sample.pred_instances, our_sample.pred_instances)


def assert_losses_and_gradients_match(reference, ours, batch):
    ref_losses = reference.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    our_losses = ours.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    assert set(our_losses) == {'loss_cls', 'loss_bbox', 'loss_mask'}
    for name in our_losses:
        ref_value, our_value = loss_value(ref_losses[name]).item(), our_losses[name].item()
        assert torch.isfinite(our_losses[name])
        # float32: absolute below 1, relative above (a loss of 1e4 carries 1e-3 of rounding)
        assert abs(ref_value - our_value) < TOL * max(1.0, abs(ref_value)), name
    # Same gradients, relative to the largest one (float32 rounding grows with the model).
    sum(our_losses.values()).backward()
    sum(sum(v) if isinstance(v, list) else v for v in ref_losses.values()).backward()
    ref_grads = dict(reference.named_parameters())
    pairs = [(p.grad, ref_grads[n].grad) for n, p in ours.named_parameters() if p.grad is not None]
    assert len(pairs) == sum(p.grad is not None for p in reference.parameters())
    largest = max(ref.abs().max().item() for _, ref in pairs)
    worst = max((our_grad - ref).abs().max().item() for our_grad, ref in pairs)
    assert worst <= 1e-4 * max(largest, 1.0)
    reference.zero_grad(), ours.zero_grad()
    return our_losses


@pytest.mark.parametrize('objects', [[12, 0], [30, 3]])
def test_training_losses_match(model_pair, objects):
    reference, ours, size = model_pair
    reference.train(), ours.train()
    batch = synthetic_batch(2, size, objects, seed=4, with_mask=True)
    assert_losses_and_gradients_match(reference, ours, batch)


def test_training_batch_without_objects_gives_zero_mask_loss():
    torch.manual_seed(0)
    reference, ours = loaded_pair(build_reference(TINY), build_ours(TINY))
    reference.train(), ours.train()
    losses = assert_losses_and_gradients_match(
        reference, ours, synthetic_batch(2, 96, 0, seed=4, with_mask=True)
    )
    assert losses['loss_mask'].item() == 0


def test_plain_ins_head_matches_mmdet():
    """``RTMDetInsHead`` (towers shared by all levels, objectness, GN) equals mmdet's too."""
    cfg = Config.fromfile(f'{__import__("mmdet").__path__[0]}/.mim/configs/{TINY}')
    head_cfg = cfg.model.bbox_head
    head_cfg.type = 'RTMDetInsHead'
    head_cfg.pop('share_conv')
    head_cfg.norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import init_default_scope

    from rtmdet_plus.registry import MODELS

    init_default_scope('mmdet')
    reference = MMDET_MODELS.build(single_process_model_cfg(cfg.model))
    init_default_scope('rtmdet_plus')
    ours = MODELS.build(single_process_model_cfg(cfg.model))
    assert type(ours.bbox_head).__module__.startswith('rtmdet_plus.')
    reference, ours = loaded_pair(reference, ours)
    assert list(reference.state_dict()) == list(ours.state_dict())
    reference.eval(), ours.eval()
    batch = synthetic_batch(1, 128, 0, seed=3, scale_factor=(0.5, 0.5))
    with torch.no_grad():
        ref = reference.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
        our = ours.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
    assert_same_instances(ref[0].pred_instances, our[0].pred_instances)
    reference.train(), ours.train()
    assert_losses_and_gradients_match(
        reference, ours, synthetic_batch(2, 128, [9, 4], seed=4, with_mask=True)
    )


def test_batched_and_per_image_assignment_agree():
    """Our default batched targets (mask centroids through ``gt_centers``) and the image-by-image
    assigner (centroids from ``gt_instances.masks``) give the same losses."""
    ours = build_ours(TINY)
    ours.load_state_dict(perturbed_state_dict(ours, seed=5))
    ours.train()
    batch = synthetic_batch(3, 128, [20, 0, 7], seed=6, with_mask=True)
    outs = ours.bbox_head(ours.extract_feat(batch['inputs']))
    gts = [s.gt_instances for s in batch['data_samples']]
    metas = [s.metainfo for s in batch['data_samples']]
    head = ours.bbox_head
    head.batched_assign = True
    batched = head.loss_by_feat(*outs, gts, metas)
    head.batched_assign = False
    per_image = head.loss_by_feat(*outs, gts, metas)
    for name in ('loss_cls', 'loss_bbox', 'loss_mask'):
        assert abs(batched[name].item() - per_image[name].item()) < TOL, name
    # The mask centroids matter: box centres give another assignment on these triangles.
    for gt in gts:
        del gt.masks
    head.batched_assign = True
    boxes_only = head._detection_losses(*outs[:2], gts, metas)[0]
    assert abs(boxes_only['loss_cls'].item() - batched['loss_cls'].item()) > 1e-6


def test_masks_rescale_each_axis_by_its_own_factor():
    """An original image 200 high and 100 wide, resized to 100x100 (h_scale 0.5, w_scale 1.0)
    and padded to 128x128. A mask that is on for input pixels x in [16, 64), y in [32, 96) must
    come out on for original pixels x in [16, 64), y in [64, 192) (mmdet 3.3.0 swaps the
    factors)."""
    stride = 8
    logits = torch.full((1, 16, 16), -10.0)
    logits[0, 32 // stride : 96 // stride, 16 // stride : 64 // stride] = 10.0
    meta = dict(img_shape=(100, 100), ori_shape=(200, 100), scale_factor=(1.0, 0.5))
    masks = mask_logits_to_image(logits, stride, meta, rescale=True).sigmoid() > 0.5
    assert masks.shape == (1, 200, 100)
    rows = masks[0].any(1).nonzero().squeeze(1)
    cols = masks[0].any(0).nonzero().squeeze(1)
    # Bilinear edges move a boundary by at most half a cell (4 input px, 8 original px in y).
    assert abs(rows.min().item() - 64) <= 8 and abs(rows.max().item() + 1 - 192) <= 8
    assert abs(cols.min().item() - 16) <= 4 and abs(cols.max().item() + 1 - 64) <= 4
    unscaled = mask_logits_to_image(logits, stride, meta, rescale=False)
    assert unscaled.shape == (1, 100, 100)
    empty = mask_logits_to_image(logits[:0], stride, meta, rescale=True)
    assert empty.shape == (0, 200, 100)


def test_predicted_masks_have_the_non_square_original_size():
    ours = build_ours(TINY)
    ours.load_state_dict(perturbed_state_dict(ours, seed=5))
    ours.bbox_head.test_cfg['score_thr'] = 0.001
    ours.eval()
    batch = synthetic_batch(1, 96, 0, seed=3, scale_factor=(0.75, 0.5))
    with torch.no_grad():
        pred = ours.predict(batch['inputs'], batch['data_samples'], rescale=True)[0]
    assert pred.ori_shape == (192, 128)
    assert pred.pred_instances.masks.shape[1:] == (192, 128)
    assert len(pred.pred_instances) > 0


def test_missing_or_mismatched_masks_are_refused():
    ours = build_ours(TINY)
    ours.train()
    batch = synthetic_batch(1, 64, 3, seed=4)
    with pytest.raises(ValueError, match='with_mask=True'):
        ours.loss(batch['inputs'], batch['data_samples'])
    batch = synthetic_batch(1, 64, 3, seed=4, with_mask=True)
    batch['data_samples'][0].gt_instances.masks = torch.zeros(3, 96, 96, dtype=torch.bool)
    with pytest.raises(ValueError, match='exceed the network input'):
        ours.loss(batch['inputs'], batch['data_samples'])
