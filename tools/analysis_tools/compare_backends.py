"""Agreement of two inference runs over the same images, e.g. PyTorch against a deployed model.

    python tools/infer.py IMAGES CONFIG CHECKPOINT --out-dir runs/pytorch
    python tools/infer.py IMAGES CONFIG work_dirs/ort --backend onnxruntime --out-dir runs/ort
    python tools/analysis_tools/compare_backends.py runs/pytorch runs/ort [--score-thr 0.3]

Reads the two runs' ``preds/*.json``; on each image, each detection of the first run scoring at
least --score-thr is matched to the unmatched detection of the second with the same label and
the highest box IoU (rotated IoU for rotated boxes), best scores first; a match needs IoU >=
--iou-thr. Prints the detections matched and unmatched on each side, the matched pairs' box IoU
(mean, lowest) and mask IoU, and their score differences (mean, largest). Exits with 1 when an
image of one run is missing from the other.
"""

import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def read_run(folder: str) -> Dict[str, dict]:
    """``preds/<name>.json`` of a tools/infer.py output folder (or the preds folder itself),
    by name."""
    preds = osp.join(folder, 'preds') if osp.isdir(osp.join(folder, 'preds')) else folder
    if not osp.isdir(preds):
        raise SystemExit(f'{folder} is not a tools/infer.py output folder (no preds/)')
    runs = {}
    for root, _, files in os.walk(preds):
        for name in files:
            if name.endswith('.json'):
                path = osp.join(root, name)
                with open(path, encoding='utf-8') as file:
                    runs[osp.relpath(path, preds)] = json.load(file)
    if not runs:
        raise SystemExit(f'{preds} holds no results (*.json)')
    return runs


def box_ious(boxes_a: List[list], boxes_b: List[list]) -> np.ndarray:
    """(A, B) IoU of x1 y1 x2 y2 boxes (mmdet's ``bbox_overlaps``), or of cx cy w h angle
    rotated boxes (our ``rbox_overlaps``)."""
    if not boxes_a or not boxes_b:
        return np.zeros((len(boxes_a), len(boxes_b)))
    a, b = torch.tensor(boxes_a, dtype=torch.float32), torch.tensor(boxes_b, dtype=torch.float32)
    if a.shape[-1] == 5:
        from rtmdet_plus.structures import rbox_overlaps

        return rbox_overlaps(a, b).numpy()
    from mmdet.structures.bbox import bbox_overlaps

    return bbox_overlaps(a, b).numpy()


def match(
    first: dict, second: dict, score_thr: float, iou_thr: float
) -> Tuple[List[Tuple[int, int, float]], int, int]:
    """Greedy same-label matching of one image's detections: ([(index in first, index in
    second, box IoU)], unmatched in first, unmatched in second), over those scoring at least
    ``score_thr``."""
    keep_a = [i for i, s in enumerate(first['scores']) if s >= score_thr]
    keep_b = [i for i, s in enumerate(second['scores']) if s >= score_thr]
    ious = box_ious([first['bboxes'][i] for i in keep_a], [second['bboxes'][j] for j in keep_b])
    taken, pairs = set(), []
    for row in sorted(range(len(keep_a)), key=lambda r: -first['scores'][keep_a[r]]):
        label = first['labels'][keep_a[row]]
        best, best_iou = None, iou_thr
        for col, j in enumerate(keep_b):
            if col not in taken and second['labels'][j] == label and ious[row, col] >= best_iou:
                best, best_iou = col, ious[row, col]
        if best is not None:
            taken.add(best)
            pairs.append((keep_a[row], keep_b[best], float(best_iou)))
    return pairs, len(keep_a) - len(pairs), len(keep_b) - len(pairs)


def compare(
    first: Dict[str, dict], second: Dict[str, dict], score_thr: float = 0.3, iou_thr: float = 0.5
) -> dict:
    """Agreement figures of two runs (see the module docstring)."""
    missing = sorted(set(first) ^ set(second))
    box, mask, score = [], [], []
    only_first = only_second = 0
    for name in sorted(set(first) & set(second)):
        a, b = first[name], second[name]
        pairs, left_a, left_b = match(a, b, score_thr, iou_thr)
        only_first += left_a
        only_second += left_b
        for i, j, iou in pairs:
            box.append(iou)
            score.append(abs(a['scores'][i] - b['scores'][j]))
            if 'masks' in a and 'masks' in b:
                from pycocotools import mask as mask_utils

                rle_a, rle_b = dict(a['masks'][i]), dict(b['masks'][j])
                mask.append(float(mask_utils.iou([rle_a], [rle_b], [0])[0][0]))
    return dict(
        images=len(set(first) & set(second)),
        missing=missing,
        matched=len(box),
        only_first=only_first,
        only_second=only_second,
        box_iou_mean=float(np.mean(box)) if box else None,
        box_iou_min=float(np.min(box)) if box else None,
        mask_iou_mean=float(np.mean(mask)) if mask else None,
        mask_iou_min=float(np.min(mask)) if mask else None,
        score_diff_mean=float(np.mean(score)) if score else None,
        score_diff_max=float(np.max(score)) if score else None,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Agreement of two tools/infer.py runs')
    parser.add_argument('first', help='output folder of the first run (e.g. PyTorch)')
    parser.add_argument('second', help='output folder of the second run (e.g. ONNX Runtime)')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='compare the detections scoring at least this'
    )
    parser.add_argument('--iou-thr', type=float, default=0.5, help='lowest IoU of a match')
    args = parser.parse_args(argv)
    stats = compare(read_run(args.first), read_run(args.second), args.score_thr, args.iou_thr)

    def fmt(value):
        return 'n/a' if value is None else f'{value:.4f}'

    print(
        f'{stats["images"]} image(s) in both runs; detections with score >= {args.score_thr}: '
        f'{stats["matched"]} matched (same label, IoU >= {args.iou_thr}), '
        f'{stats["only_first"]} only in {args.first}, {stats["only_second"]} only in '
        f'{args.second}'
    )
    print(
        f'matched box IoU: mean {fmt(stats["box_iou_mean"])}, lowest '
        f'{fmt(stats["box_iou_min"])}; score difference: mean {fmt(stats["score_diff_mean"])}, '
        f'largest {fmt(stats["score_diff_max"])}'
        + (
            f'; mask IoU: mean {fmt(stats["mask_iou_mean"])}, lowest {fmt(stats["mask_iou_min"])}'
            if stats['mask_iou_mean'] is not None
            else ''
        )
    )
    if stats['missing']:
        print(f'{len(stats["missing"])} image(s) in one run only, e.g. {stats["missing"][0]}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
