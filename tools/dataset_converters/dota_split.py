"""Cut large DOTA images into fixed-size patches with their labels, for training and testing.

Windows of ``size`` pixels slide with a step of ``size - gap``; the last window of a row or
column is moved back to end at the image border. With ``--rates`` the windows are
``size / rate`` pixels (the pipeline's Resize then scales them), so offsets stay in full-image
pixels. A window is kept when at least ``--img-rate-thr`` of it lies on the image. An object
goes into a window when at least ``--iof-thr`` of its area lies inside; objects cut by the
window border get difficulty 2 (as the DOTA devkit and mmrotate do) and, with
``--clip-objects``, the minimum-area rectangle of their visible part instead of their full
outline.

Output under SAVE_DIR: ``images/<id>__<window size>__<x>___<y><ext>`` (patches padded to the
window size unless ``--no-padding``) and ``annfiles/<same name>.txt`` (labelTxt lines). The patch
names carry the offsets that ``DOTAMetric(merge_patches=True)`` uses to merge predictions.

Example (single scale, as mmrotate's ss_trainval):
    python tools/dataset_converters/dota_split.py --img-dirs data/DOTA/train/images \\
        --ann-dirs data/DOTA/train/labelTxt --sizes 1024 --gaps 200 \\
        --save-dir data/split_ss_dota/train
Multi-scale: add ``--rates 0.5 1.0 1.5 --gaps 500``.
"""

import argparse
import json
import os
import os.path as osp
from functools import partial
from math import ceil
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from shapely.geometry import Polygon, box

from rtmdet_plus.datasets.dota_labels import DOTAObject, read_label_file, write_label_file

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp')
TRUNCATED_DIFFICULTY = 2


def sliding_windows(
    width: int, height: int, sizes: Sequence[int], gaps: Sequence[int], img_rate_thr: float = 0.6
) -> np.ndarray:
    """(K, 4) windows x1, y1, x2, y2 (pixels) covering a ``width`` x ``height`` image."""
    windows = []
    for size, gap in zip(sizes, gaps):
        if not 0 <= gap < size:
            raise ValueError(f'gap must be in [0, size), got size {size} and gap {gap}')
        step = size - gap
        starts = []
        for length in (width, height):
            count = 1 if length <= size else ceil((length - size) / step) + 1
            axis = [step * i for i in range(count)]
            if len(axis) > 1 and axis[-1] + size > length:
                axis[-1] = length - size
            starts.append(axis)
        for y in starts[1]:
            for x in starts[0]:
                windows.append((x, y, x + size, y + size))
    windows = np.array(windows, dtype=np.int64).reshape(-1, 4)
    inside_w = np.clip(windows[:, 2], 0, width) - np.clip(windows[:, 0], 0, width)
    inside_h = np.clip(windows[:, 3], 0, height) - np.clip(windows[:, 1], 0, height)
    rates = (
        inside_w * inside_h / ((windows[:, 2] - windows[:, 0]) * (windows[:, 3] - windows[:, 1]))
    )
    keep = rates >= img_rate_thr
    if not keep.any():  # a small image: keep the windows that cover most of it
        keep = np.isclose(rates, rates.max())
    return windows[keep]


def _visible_quad(polygon: Polygon, window: Polygon) -> np.ndarray:
    """(8,) corners of the minimum-area rectangle around ``polygon`` inside ``window``."""
    part = polygon.intersection(window)
    points = np.asarray(part.convex_hull.exterior.coords, dtype=np.float32)[:-1]
    if len(points) == 4:
        return points.reshape(-1)
    return cv2.boxPoints(cv2.minAreaRect(points)).reshape(-1)


def window_objects(
    objects: Sequence[DOTAObject], window: Sequence[int], iof_thr: float, clip_objects: bool = False
) -> List[DOTAObject]:
    """The objects of one window, in window pixels.

    Args:
        objects: the image's objects, in image pixels.
        window: x1, y1, x2, y2.
        iof_thr: least fraction of an object's area inside the window.
        clip_objects: replace a cut object by the rectangle of its visible part.
    """
    x1, y1, x2, y2 = window
    window_poly = box(x1, y1, x2, y2)
    kept = []
    for obj in objects:
        polygon = Polygon(obj.quad.reshape(4, 2))
        if polygon.area <= 0:
            continue
        iof = polygon.intersection(window_poly).area / polygon.area
        if iof <= 0 or iof < iof_thr:
            continue
        quad, difficulty = obj.quad, obj.difficulty
        if iof < 1:
            difficulty = TRUNCATED_DIFFICULTY
            if clip_objects:
                quad = _visible_quad(polygon, window_poly)
        shifted = quad.astype(np.float32) - np.tile(np.float32([x1, y1]), 4)
        kept.append(DOTAObject(shifted, obj.class_name, difficulty, obj.line_no))
    return kept


def patch_name(img_id: str, window: Sequence[int]) -> str:
    """``<id>__<window size>__<x>___<y>``, as the DOTA tools name patches."""
    x1, y1, x2, _ = window
    return f'{img_id}__{x2 - x1}__{x1}___{y1}'


def crop_window(
    img: np.ndarray, window: Sequence[int], padding: bool, padding_value: Union[int, Sequence[int]]
) -> np.ndarray:
    """The window's pixels, padded at the right/bottom to the window size if ``padding``."""
    x1, y1, x2, y2 = window
    patch = img[y1:y2, x1:x2]
    if padding and (patch.shape[0] < y2 - y1 or patch.shape[1] < x2 - x1):
        padded = np.empty((y2 - y1, x2 - x1) + img.shape[2:], dtype=img.dtype)
        padded[...] = padding_value
        padded[: patch.shape[0], : patch.shape[1]] = patch
        patch = padded
    return patch


def split_image(
    task: Tuple[str, Optional[str]],
    sizes: Sequence[int],
    gaps: Sequence[int],
    save_dir: str,
    img_rate_thr: float = 0.6,
    iof_thr: float = 0.7,
    padding: bool = True,
    padding_value: Union[int, Sequence[int]] = 0,
    save_ext: str = '.png',
    clip_objects: bool = False,
) -> int:
    """Split one image (and its label file, if any) into ``save_dir/{images,annfiles}``.

    Args:
        task: (image path, label file path or None).

    Returns:
        the number of patches written.
    """
    img_path, label_path = task
    img = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f'{img_path}: cannot read the image (missing, corrupt or not an image)')
    objects = [] if label_path is None else read_label_file(label_path)
    img_id = osp.splitext(osp.basename(img_path))[0]
    height, width = img.shape[:2]
    windows = sliding_windows(width, height, sizes, gaps, img_rate_thr)
    for window in windows.tolist():
        name = patch_name(img_id, window)
        patch = crop_window(img, window, padding, padding_value)
        out_img = osp.join(save_dir, 'images', name + save_ext)
        if not cv2.imwrite(out_img, patch):
            raise OSError(f'cannot write {out_img}')
        write_label_file(
            osp.join(save_dir, 'annfiles', name + '.txt'),
            window_objects(objects, window, iof_thr, clip_objects),
        )
    return len(windows)


def list_tasks(
    img_dirs: Sequence[str], ann_dirs: Optional[Sequence[str]]
) -> List[Tuple[str, Optional[str]]]:
    """(image, label file or None) pairs; an image without a label file gets no objects."""
    tasks = []
    for index, img_dir in enumerate(img_dirs):
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'--img-dirs: {img_dir!r} is not a folder')
        ann_dir = ann_dirs[index] if ann_dirs else None
        if ann_dir is not None and not osp.isdir(ann_dir):
            raise FileNotFoundError(f'--ann-dirs: {ann_dir!r} is not a folder')
        for file_name in sorted(os.listdir(img_dir)):
            if osp.splitext(file_name)[1].lower() not in IMG_EXTENSIONS:
                continue
            label = None
            if ann_dir is not None:
                label = osp.join(ann_dir, osp.splitext(file_name)[0] + '.txt')
                if not osp.isfile(label):
                    print(f'warning: no label file {label} for {file_name}: no objects')
                    label = None
            tasks.append((osp.join(img_dir, file_name), label))
    return tasks


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        '--base-json',
        help='json file of defaults for the options below '
        '(keys as the option names with underscores, as mmrotate\'s '
        'split_configs)',
    )
    parser.add_argument('--img-dirs', nargs='+', help='folders of full images')
    parser.add_argument('--ann-dirs', nargs='+', help='labelTxt folders, one per image folder')
    parser.add_argument('--sizes', nargs='+', type=int, default=[1024], help='window sides')
    parser.add_argument(
        '--gaps',
        nargs='+',
        type=int,
        default=[200],
        help='overlap of neighbouring windows, one per size',
    )
    parser.add_argument(
        '--rates',
        nargs='+',
        type=float,
        default=[1.0],
        help='scales: windows of size / rate pixels',
    )
    parser.add_argument(
        '--img-rate-thr', type=float, default=0.6, help='least fraction of a window on the image'
    )
    parser.add_argument(
        '--iof-thr', type=float, default=0.7, help='least fraction of an object inside a window'
    )
    parser.add_argument(
        '--clip-objects',
        action='store_true',
        help='label cut objects by the rectangle of their visible part',
    )
    parser.add_argument(
        '--no-padding', action='store_true', help='do not pad border patches to the window size'
    )
    parser.add_argument(
        '--padding-value',
        nargs='+',
        type=int,
        default=[0],
        help='padding colour: one value or one per channel (BGR)',
    )
    parser.add_argument('--save-dir', default='.', help='output folder (new or empty)')
    parser.add_argument('--save-ext', default='.png', choices=['.png', '.jpg', '.bmp', '.tif'])
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    args = parser.parse_args(argv)
    if args.base_json is not None:
        with open(args.base_json) as file:
            defaults = json.load(file)
        unknown = sorted(set(defaults) - set(vars(args)))
        if unknown:
            parser.error(f'{args.base_json}: unknown keys {unknown}')
        parser.set_defaults(**defaults)
        args = parser.parse_args(argv)
    if not args.img_dirs:
        parser.error('--img-dirs is required')
    if args.ann_dirs is not None and len(args.ann_dirs) != len(args.img_dirs):
        parser.error('--ann-dirs needs one folder per --img-dirs folder')
    if len(args.sizes) != len(args.gaps):
        parser.error('--sizes and --gaps need the same number of values')
    if len(args.sizes) > 1 and len(args.rates) > 1:
        parser.error('give several --sizes or several --rates, not both')
    if not 0 <= args.iof_thr <= 1:
        parser.error(f'--iof-thr must be in [0, 1], got {args.iof_thr}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the split; returns the number of patches written."""
    args = parse_args(argv)
    if osp.isdir(args.save_dir) and os.listdir(args.save_dir):
        raise FileExistsError(f'--save-dir {args.save_dir!r} is not empty; choose a new folder')
    sizes = [int(size / rate) for rate in args.rates for size in args.sizes]
    gaps = [int(gap / rate) for rate in args.rates for gap in args.gaps]
    os.makedirs(osp.join(args.save_dir, 'images'), exist_ok=True)
    os.makedirs(osp.join(args.save_dir, 'annfiles'), exist_ok=True)
    tasks = list_tasks(args.img_dirs, args.ann_dirs)
    if not tasks:
        raise FileNotFoundError(f'no image ({", ".join(IMG_EXTENSIONS)}) in {args.img_dirs}')
    padding_value = args.padding_value[0] if len(args.padding_value) == 1 else args.padding_value
    worker = partial(
        split_image,
        sizes=sizes,
        gaps=gaps,
        save_dir=args.save_dir,
        img_rate_thr=args.img_rate_thr,
        iof_thr=args.iof_thr,
        padding=not args.no_padding,
        padding_value=padding_value,
        save_ext=args.save_ext,
        clip_objects=args.clip_objects,
    )
    print(f'splitting {len(tasks)} images: windows {sizes}, gaps {gaps}')
    if args.nproc > 1:
        counts = track_parallel_progress(worker, tasks, args.nproc)
    else:
        counts = track_progress(worker, tasks)
    total = sum(counts)
    print(f'\nwrote {total} patches to {args.save_dir}')
    return total


if __name__ == '__main__':
    main()
