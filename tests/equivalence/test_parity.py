"""Our RTMDet equals mmdet 3.3.0's: strict loading of mmdet's (perturbed) weights, identical
raw head outputs, final predictions and training losses, for every size."""

import copy

import pytest
import torch

from tools.analysis_tools.mmdet_oracle import (
    build_ours,
    build_reference,
    perturbed_state_dict,
    synthetic_batch,
)

TOL = 1e-4
# (config, input size): P6 needs a multiple of 64; small inputs keep x fast on a CPU.
SIZES = [
    ('rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 160),
    ('rtmdet/rtmdet_s_8xb32-300e_coco.py', 160),
    ('rtmdet/rtmdet_m_8xb32-300e_coco.py', 128),
    ('rtmdet/rtmdet_l_8xb32-300e_coco.py', 128),
    ('rtmdet/rtmdet_x_8xb32-300e_coco.py', 128),
    ('rtmdet/rtmdet_x_p6_4xb8-300e_coco.py', 128),
]


def max_abs_diff(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


@pytest.fixture(
    scope='module',
    params=SIZES,
    ids=[name.split('/')[1].split('_8x')[0].split('_4x')[0] for name, _ in SIZES],
)
def model_pair(request):
    config, size = request.param
    torch.manual_seed(0)
    reference = build_reference(config)
    ours = build_ours(config)
    state = perturbed_state_dict(reference, seed=1)
    reference.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    return reference, ours, size


def test_state_dict_keys_and_shapes_match(model_pair):
    reference, ours, _ = model_pair
    ref_state, our_state = reference.state_dict(), ours.state_dict()
    assert list(ref_state) == list(our_state)
    assert all(ref_state[k].shape == our_state[k].shape for k in ref_state)


def test_raw_head_outputs_match(model_pair):
    reference, ours, size = model_pair
    reference.eval(), ours.eval()
    inputs = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref_cls, ref_reg = reference._forward(inputs)
        our_cls, our_reg = ours._forward(inputs)
    assert len(ref_cls) == len(our_cls)
    assert max_abs_diff(ref_cls, our_cls) < TOL
    assert max_abs_diff(ref_reg, our_reg) < TOL


def test_predictions_match(model_pair):
    reference, ours, size = model_pair
    reference.eval(), ours.eval()
    batch = synthetic_batch(2, size, 0, seed=3, scale_factor=(0.8, 0.5))
    with torch.no_grad():
        ref = reference.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
        our = ours.predict(batch['inputs'], copy.deepcopy(batch['data_samples']), rescale=True)
    for ref_sample, our_sample in zip(ref, our):
        a, b = ref_sample.pred_instances, our_sample.pred_instances
        assert len(a) == len(b) > 0
        assert torch.equal(a.labels, b.labels)
        assert (a.scores - b.scores).abs().max().item() < TOL
        assert (a.bboxes - b.bboxes).abs().max().item() < TOL


@pytest.mark.parametrize('objects', [[12, 0], [30, 3]])
def test_training_losses_match(model_pair, objects):
    reference, ours, size = model_pair
    reference.train(), ours.train()
    batch = synthetic_batch(2, size, objects, seed=4)
    ref_losses = reference.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    our_losses = ours.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    for name in ('loss_cls', 'loss_bbox'):
        ref_value = (
            sum(ref_losses[name]) if isinstance(ref_losses[name], list) else ref_losses[name]
        )
        assert torch.isfinite(our_losses[name])
        assert abs(ref_value.item() - our_losses[name].item()) < TOL, name
    # Gradients flow to the same parameters with the same values (relative to the largest
    # gradient: x-size models have gradients in the thousands, where float32 rounding is ~1e-3).
    sum(our_losses.values()).backward()
    sum(sum(v) if isinstance(v, list) else v for v in ref_losses.values()).backward()
    ref_grads = dict(reference.named_parameters())
    pairs = [(p.grad, ref_grads[n].grad) for n, p in ours.named_parameters() if p.grad is not None]
    assert len(pairs) == sum(p.grad is not None for p in reference.parameters())
    largest = max(ref.abs().max().item() for _, ref in pairs)
    worst = max((ours_grad - ref).abs().max().item() for ours_grad, ref in pairs)
    assert worst <= 1e-4 * max(largest, 1.0)
    reference.zero_grad(), ours.zero_grad()


@pytest.mark.parametrize('objects', [[20, 0, 7, 100]])
def test_batched_and_per_image_targets_agree(objects):
    """The batched assignment path (our default) and the image-by-image path give the same
    losses on the same batch (tiny model, many objects)."""
    ours = build_ours(SIZES[0][0])
    ours.load_state_dict(perturbed_state_dict(ours, seed=5))
    ours.train()
    batch = synthetic_batch(4, 192, objects, seed=6)
    feats = ours.extract_feat(batch['inputs'])
    outs = ours.bbox_head(feats)
    gts = [s.gt_instances for s in batch['data_samples']]
    metas = [s.metainfo for s in batch['data_samples']]
    head = ours.bbox_head
    head.batched_assign = True
    batched = head.loss_by_feat(*outs, gts, metas)
    head.batched_assign = False
    per_image = head.loss_by_feat(*outs, gts, metas)
    flat_scores = head.flatten_levels(outs[0], head.num_classes).detach()
    priors = head.flat_priors([o.shape[-2:] for o in outs[0]], 'cpu')
    boxes = head.decode_boxes(priors[:, :2], head.flatten_levels(outs[1], 4)).detach()
    sizes = [o.shape[-2:] for o in outs[0]]
    for a, b in zip(
        head.get_targets_batched(flat_scores, boxes, priors, sizes, gts, metas),
        head.get_targets(flat_scores, boxes, priors, sizes, gts, metas),
    ):
        assert torch.allclose(a, b, atol=1e-6) if a.is_floating_point() else torch.equal(a, b)
    for name in ('loss_cls', 'loss_bbox'):
        assert abs(batched[name].item() - per_image[name].item()) < TOL
