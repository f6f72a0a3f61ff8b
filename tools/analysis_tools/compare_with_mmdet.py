"""Print the largest difference between mmdet 3.3.0's RTMDet (or RTMDet-Ins) and ours, per size.

Both models are built from their own configs, ours loads mmdet's perturbed weights with
``strict=True``, and the raw head outputs, final predictions (rescaled boxes and scores; for
``--task ins`` also masks) and training losses are compared on the same random inputs.
Ins predictions use equal horizontal and vertical scale factors, so mmdet's issue 11230
(mask rescaling with the factors swapped) does not apply.

    python tools/analysis_tools/compare_with_mmdet.py [--task det|ins] [--sizes tiny s ...]
        [--input 128]
"""

import argparse
import copy
import logging
import os
import sys

import torch
from mmengine.logging import MMLogger

# the repository root, so that the helpers import as tools.analysis_tools.*
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tools.analysis_tools.mmdet_oracle import (
    build_ours,
    build_reference,
    load_perturbed_pair,
    loss_value,
    max_abs_diff,
    synthetic_batch,
)
from tools.analysis_tools.mmpretrain_oracle import import_mmpretrain_models

CONFIGS = {
    'det': {
        'tiny': 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        's': 'rtmdet/rtmdet_s_8xb32-300e_coco.py',
        'm': 'rtmdet/rtmdet_m_8xb32-300e_coco.py',
        'l': 'rtmdet/rtmdet_l_8xb32-300e_coco.py',
        'x': 'rtmdet/rtmdet_x_8xb32-300e_coco.py',
        'x_p6': 'rtmdet/rtmdet_x_p6_4xb8-300e_coco.py',
        # mmdet's ConvNeXt config names mmpretrain's ConvNeXt: mmpretrain 1.2.0 must be installed
        'l_convnext_b': 'rtmdet/rtmdet_l_convnext_b_4xb32-100e_coco.py',
        'l_swin_b': 'rtmdet/rtmdet_l_swin_b_4xb32-100e_coco.py',
        'l_swin_b_p6': 'rtmdet/rtmdet_l_swin_b_p6_4xb16-100e_coco.py',
    },
    'ins': {
        'tiny': 'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
        's': 'rtmdet/rtmdet-ins_s_8xb32-300e_coco.py',
        'm': 'rtmdet/rtmdet-ins_m_8xb32-300e_coco.py',
        'l': 'rtmdet/rtmdet-ins_l_8xb32-300e_coco.py',
        'x': 'rtmdet/rtmdet-ins_x_8xb16-300e_coco.py',
    },
}
# Markdown columns per task: (header, key of the result dict, number format).
COLUMNS = {
    'det': [
        ('max raw output diff', 'raw', '.2e'),
        ('max prediction diff', 'predictions', '.2e'),
        ('max loss diff', 'losses', '.2e'),
        ('detections compared', 'detections', 'd'),
    ],
    'ins': [
        ('cls', 'cls', '.2e'),
        ('reg', 'reg', '.2e'),
        ('kernels', 'kernels', '.2e'),
        ('mask feats', 'mask_feats', '.2e'),
        ('boxes', 'boxes', '.2e'),
        ('scores', 'scores', '.2e'),
        ('mask pixels differing', 'masks', '.2e'),
        ('loss_cls', 'loss_cls', '.2e'),
        ('loss_bbox', 'loss_bbox', '.2e'),
        ('loss_mask', 'loss_mask', '.2e'),
        ('detections compared', 'detections', 'd'),
    ],
}


def build_pair(config: str, score_thr=None):
    """mmdet's model and ours for ``config``, both holding the same perturbed weights."""
    if 'convnext' in config:
        import_mmpretrain_models()  # the reference backbone
    torch.manual_seed(0)
    return load_perturbed_pair(
        build_reference(config), build_ours(config), seed=1, score_thr=score_thr
    )


def predict_pair(reference, ours, size: int, scale_factor):
    """Both models' rescaled predictions on one synthetic batch of two ``size`` squares."""
    reference.eval(), ours.eval()
    batch = synthetic_batch(2, size, 0, seed=3, scale_factor=scale_factor)
    with torch.no_grad():
        ref_pred = reference.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
        our_pred = ours.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
    pairs = [(a.pred_instances, b.pred_instances) for a, b in zip(ref_pred, our_pred)]
    for a, b in pairs:
        assert len(a) == len(b) and torch.equal(a.labels, b.labels), 'different detections'
    return pairs


def loss_diffs(reference, ours, size: int, names, **batch_kwargs) -> dict:
    """Absolute difference of each named training loss on one synthetic batch."""
    reference.train(), ours.train()
    batch = synthetic_batch(2, size, [30, 3], seed=4, **batch_kwargs)
    torch.manual_seed(5)  # the same stochastic-depth draws in both (ConvNeXt, Swin)
    ref_losses = reference.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    torch.manual_seed(5)
    our_losses = ours.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    return {k: abs(loss_value(ref_losses[k]).item() - our_losses[k].item()) for k in names}


def raw_outputs(reference, ours, size: int):
    """Both models' ``_forward`` outputs on a (2, 3, size, size) random input."""
    reference.eval(), ours.eval()
    inputs = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        return reference._forward(inputs), ours._forward(inputs)


def compare_det(config: str, size: int) -> dict:
    reference, ours = build_pair(config)
    ref_out, our_out = raw_outputs(reference, ours, size)
    raw = max_abs_diff(ref_out[0] + ref_out[1], our_out[0] + our_out[1])
    pairs = predict_pair(reference, ours, size, scale_factor=(0.8, 0.5))
    pred = max(
        max((a.bboxes - b.bboxes).abs().max().item(), (a.scores - b.scores).abs().max().item())
        for a, b in pairs
    )
    losses = loss_diffs(reference, ours, size, ('loss_cls', 'loss_bbox'))
    return dict(
        raw=raw,
        predictions=pred,
        losses=max(losses.values()),
        detections=sum(len(b) for _, b in pairs),
    )


def compare_ins(config: str, size: int) -> dict:
    """Raw outputs (cls, reg, kernels: per level; mask features), rescaled predictions on a square
    input (boxes, scores, fraction of differing mask pixels) and the three losses."""
    reference, ours = build_pair(config, score_thr=0.001)
    ref_out, our_out = raw_outputs(reference, ours, size)
    result = {
        name: max_abs_diff(a, b) for name, a, b in zip(('cls', 'reg', 'kernels'), ref_out, our_out)
    }
    result['mask_feats'] = (ref_out[3] - our_out[3]).abs().max().item()
    pairs = predict_pair(reference, ours, size, scale_factor=(0.8, 0.8))
    for a, b in pairs:
        assert a.masks.shape == b.masks.shape, 'different mask shapes'
    result['boxes'] = max((a.bboxes - b.bboxes).abs().max().item() for a, b in pairs)
    result['scores'] = max((a.scores - b.scores).abs().max().item() for a, b in pairs)
    result['masks'] = max((a.masks != b.masks).float().mean().item() for a, b in pairs)
    result['detections'] = sum(len(b) for _, b in pairs)
    result.update(
        loss_diffs(reference, ours, size, ('loss_cls', 'loss_bbox', 'loss_mask'), with_mask=True)
    )
    return result


COMPARE = {'det': compare_det, 'ins': compare_ins}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        '--task',
        default='det',
        choices=list(CONFIGS),
        help='det: RTMDet; ins: RTMDet-Ins (instance segmentation)',
    )
    parser.add_argument('--sizes', nargs='+', help='model sizes (default: all of the task)')
    parser.add_argument('--input', type=int, default=128, help='square input size (multiple of 64)')
    args = parser.parse_args(argv)
    configs = CONFIGS[args.task]
    sizes = args.sizes or list(configs)
    unknown = [name for name in sizes if name not in configs]
    if unknown:
        parser.error(
            f'--sizes {" ".join(unknown)}: not a size of --task {args.task}; '
            f'choose from {list(configs)}'
        )
    if args.input <= 0 or args.input % 64:
        parser.error(f'--input {args.input}: give a positive multiple of 64 (e.g. 128)')
    # Keep stdout to the table: mmengine logs every parameter's initialisation at INFO.
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    columns = COLUMNS[args.task]
    print('| model | ' + ' | '.join(header for header, _, _ in columns) + ' |')
    print('|---' * (len(columns) + 1) + '|')
    for name in sizes:
        result = COMPARE[args.task](configs[name], args.input)
        print(
            f'| {name} | ' + ' | '.join(format(result[key], fmt) for _, key, fmt in columns) + ' |',
            flush=True,
        )


if __name__ == '__main__':
    main()
