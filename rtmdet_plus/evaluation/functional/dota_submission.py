"""DOTA Task 1 submission files: one ``Task1_<class>.txt`` per class, each line
``<image id> <score> x1 y1 x2 y2 x3 y3 x4 y4`` (corners in full-image pixels), zipped for the
evaluation server (https://captain-whu.github.io/DOTA/evaluation.html)."""

import os
import os.path as osp
import zipfile
from typing import Dict, List, Sequence

import numpy as np
import torch

from rtmdet_plus.structures.bbox import rbox2qbox


def to_quads(boxes: np.ndarray, box_type: str = 'rbox') -> np.ndarray:
    """(N, 8) corners of (N, 5) rotated boxes, or (N, 8) quadrilaterals unchanged."""
    if box_type == 'rbox':
        return rbox2qbox(torch.from_numpy(np.asarray(boxes, np.float32).reshape(-1, 5))).numpy()
    return np.asarray(boxes, np.float32).reshape(-1, 8)


def write_task1_files(
    detections: Dict[str, Sequence[np.ndarray]],
    classes: Sequence[str],
    out_dir: str,
    box_type: str = 'rbox',
) -> List[str]:
    """Write ``out_dir/Task1_<class>.txt`` for every class (empty when no detection).

    Args:
        detections: image id -> per class (K, D + 1) boxes and score.
        classes: class names, in label order.
        out_dir: folder to write into (created; must not hold the files already).
        box_type: 'rbox' or 'qbox'.

    Returns:
        the written paths, in class order.
    """
    os.makedirs(out_dir, exist_ok=True)
    dim = 5 if box_type == 'rbox' else 8
    paths = [osp.join(out_dir, f'Task1_{name}.txt') for name in classes]
    existing = [path for path in paths if osp.exists(path)]
    if existing:
        raise FileExistsError(
            f'{existing[0]} already exists; choose a new outfile_prefix or delete the old results'
        )
    for label, path in enumerate(paths):
        with open(path, 'w') as file:
            for image_id in sorted(detections):
                dets = np.asarray(detections[image_id][label]).reshape(-1, dim + 1)
                for quad, score in zip(to_quads(dets[:, :dim], box_type), dets[:, -1]):
                    coords = ' '.join(f'{value:.2f}' for value in quad)
                    file.write(f'{image_id} {score:.4f} {coords}\n')
    return paths


def zip_files(paths: Sequence[str], zip_path: str) -> str:
    """Zip ``paths`` (flat, by base name) into ``zip_path``; returns it."""
    with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, osp.basename(path))
    return zip_path
