"""Print the largest difference between mmdet 3.3.0's RTMDet and ours, per size.

Both models are built from their own configs, ours loads mmdet's perturbed weights with
``strict=True``, and the raw head outputs, final predictions (rescaled boxes and scores) and
training losses are compared on the same random inputs.

    python tools/analysis_tools/compare_with_mmdet.py [--sizes tiny s ...] [--input 160]
"""
import argparse
import copy

import torch

from rtmdet_plus.testing import build_ours, build_reference, perturbed_state_dict, synthetic_batch

CONFIGS = {
    'tiny': 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    's': 'rtmdet/rtmdet_s_8xb32-300e_coco.py',
    'm': 'rtmdet/rtmdet_m_8xb32-300e_coco.py',
    'l': 'rtmdet/rtmdet_l_8xb32-300e_coco.py',
    'x': 'rtmdet/rtmdet_x_8xb32-300e_coco.py',
    'x_p6': 'rtmdet/rtmdet_x_p6_4xb8-300e_coco.py',
}


def compare(config: str, size: int) -> dict:
    torch.manual_seed(0)
    reference = build_reference(config)
    ours = build_ours(config)
    state = perturbed_state_dict(reference, seed=1)
    reference.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    reference.eval(), ours.eval()
    inputs = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref_out, our_out = reference._forward(inputs), ours._forward(inputs)
        raw = max((a - b).abs().max().item() for a, b in zip(ref_out[0] + ref_out[1], our_out[0] + our_out[1]))
        batch = synthetic_batch(2, size, 0, seed=3, scale_factor=(0.8, 0.5))
        ref_pred = reference.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
        our_pred = ours.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
    pred = 0.0
    for a, b in zip(ref_pred, our_pred):
        a, b = a.pred_instances, b.pred_instances
        assert len(a) == len(b) and torch.equal(a.labels, b.labels), 'different detections'
        pred = max(pred, (a.bboxes - b.bboxes).abs().max().item(), (a.scores - b.scores).abs().max().item())
    reference.train(), ours.train()
    batch = synthetic_batch(2, size, [30, 3], seed=4)
    ref_losses = reference.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    our_losses = ours.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    loss = max(abs(sum(ref_losses[k]).item() - our_losses[k].item()) for k in ('loss_cls', 'loss_bbox'))
    return dict(raw=raw, predictions=pred, losses=loss, detections=sum(len(p.pred_instances) for p in our_pred))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--input', type=int, default=128, help='square input size (multiple of 64)')
    args = parser.parse_args()
    print('| model | max raw output diff | max prediction diff | max loss diff | detections compared |')
    print('|---|---|---|---|---|')
    for name in args.sizes:
        r = compare(CONFIGS[name], args.input)
        print(f"| {name} | {r['raw']:.2e} | {r['predictions']:.2e} | {r['losses']:.2e} | {r['detections']} |",
              flush=True)


if __name__ == '__main__':
    main()
