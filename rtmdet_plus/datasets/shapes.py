"""A synthetic COCO-format detection / instance-segmentation dataset of filled shapes.

Each image is a textured background (smooth noise, a linear gradient or stripes, plus pixel
noise) with a few filled shapes of random colour, size and rotation that may overlap. Every
object gets a box, a polygon mask, its pixel ``area`` and ``iscrowd=0``.

Occlusion convention: shapes are painted in order, so a later shape hides the pixels of earlier
ones. The annotation of an object describes its *visible* pixels: ``segmentation`` traces the
outline of what is left of it (several polygons when a later shape cuts it in two), ``bbox`` is
the tight box of those pixels and ``area`` their count. A shape is only placed where every
earlier object keeps at least ``min_visible`` of its own pixels (no object is more than partly
hidden) and no earlier object would get a hole (a shape lying inside another), which a COCO
polygon cannot express. Shapes lie entirely inside the image.

Everything is drawn from ``numpy.random.default_rng((seed, split, index))``: the same seed
gives the same images and byte-identical annotation files, whatever order images are made in.
"""

import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

SHAPE_CLASSES: Tuple[str, ...] = ('ellipse', 'rectangle', 'triangle', 'star')
SPLITS: Tuple[str, ...] = ('train', 'val')
# 'colour': backgrounds and shapes of random colours. 'grey': dark grey backgrounds, light grey
# shapes, so that only the outline tells the classes apart (a classifier trained from scratch on a
# few hundred colour images memorises their colours instead of learning the shapes).
PALETTES: Tuple[str, ...] = ('colour', 'grey')
_SUBPIXEL_BITS = 4  # cv2.fillPoly fixed-point precision: vertices are placed to 1/16 px


@dataclass(frozen=True)
class ShapesConfig:
    """What to generate. Sizes are in pixels; ``size_range`` is the shape's outer radius as a
    fraction of the image side."""

    img_size: int = 192
    num_train: int = 400
    num_val: int = 100
    classes: Tuple[str, ...] = SHAPE_CLASSES
    objects_per_image: Tuple[int, int] = (1, 5)
    size_range: Tuple[float, float] = (0.1, 0.3)
    min_visible: float = 0.6
    jpeg_quality: int = 95
    seed: int = 0
    palette: str = 'colour'

    def __post_init__(self):
        if self.palette not in PALETTES:
            raise ValueError(f'ShapesConfig.palette={self.palette!r}: choose from {PALETTES}')
        unknown = [name for name in self.classes if name not in _SHAPE_MAKERS]
        if unknown or not self.classes:
            raise ValueError(
                f'ShapesConfig.classes={self.classes!r}: unknown shape(s) '
                f'{unknown}; choose from {sorted(_SHAPE_MAKERS)}'
            )
        low, high = self.objects_per_image
        if not 0 <= low <= high:
            raise ValueError(
                f'ShapesConfig.objects_per_image={self.objects_per_image!r}: need 0 <= min <= max'
            )
        if not 0 < self.size_range[0] <= self.size_range[1] <= 0.5:
            raise ValueError(
                f'ShapesConfig.size_range={self.size_range!r}: need '
                '0 < min <= max <= 0.5 (radius as a fraction of the image side)'
            )

    def num_images(self, split: str) -> int:
        return {'train': self.num_train, 'val': self.num_val}[split]


@dataclass
class RenderedImage:
    """One generated image and the ground truth it was drawn from.

    ``image``: (H, W, 3) uint8 BGR. ``owner``: (H, W) int32, 0 for background, k for the k-th
    object of ``labels`` (1-based), i.e. exactly the pixels each object shows.
    ``labels``: class index (0-based into ``ShapesConfig.classes``) of each object.
    """

    image: np.ndarray
    owner: np.ndarray
    labels: List[int] = field(default_factory=list)


# ----------------------------------------------------------------------------- shape outlines
def _regular_points(num: int, radius, rotation: float) -> np.ndarray:
    """(num, 2) points at equal angles on a circle (or ellipse when ``radius`` is (rx, ry))."""
    angles = rotation + np.linspace(0, 2 * np.pi, num, endpoint=False)
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), (2,))
    return np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    return points @ np.array([[cos, sin], [-sin, cos]])


def _ellipse(rng: np.random.Generator, radius: float) -> np.ndarray:
    axes = (radius, radius * rng.uniform(0.55, 1.0))
    return _rotate(_regular_points(64, axes, 0.0), rng.uniform(0, np.pi))


def _rectangle(rng: np.random.Generator, radius: float) -> np.ndarray:
    half_diag_angle = rng.uniform(np.pi / 8, np.pi / 4)  # aspect ratio between 1:1 and ~1:2.4
    corners = np.array(
        [half_diag_angle, np.pi - half_diag_angle, np.pi + half_diag_angle, -half_diag_angle]
    )
    points = np.stack([np.cos(corners), np.sin(corners)], axis=1) * radius
    return _rotate(points, rng.uniform(0, np.pi))


def _triangle(rng: np.random.Generator, radius: float) -> np.ndarray:
    angles = np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.35, 0.35, size=3)
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius
    return _rotate(points, rng.uniform(0, 2 * np.pi))


def _star(rng: np.random.Generator, radius: float) -> np.ndarray:
    outer = _regular_points(5, radius, 0.0)
    inner = _regular_points(5, radius * rng.uniform(0.38, 0.5), np.pi / 5)
    points = np.stack([outer, inner], axis=1).reshape(10, 2)
    return _rotate(points, rng.uniform(0, 2 * np.pi))


_SHAPE_MAKERS = dict(ellipse=_ellipse, rectangle=_rectangle, triangle=_triangle, star=_star)


# ------------------------------------------------------------------------------- textures
def _random_color(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=3).astype(np.float32)


def _distinct_color(
    rng: np.random.Generator, avoid: Sequence[np.ndarray], min_distance: float = 90.0
) -> np.ndarray:
    """A colour at least ``min_distance`` (Euclidean, 0-255 BGR) from each of ``avoid``."""
    for _ in range(100):
        color = _random_color(rng)
        if all(np.linalg.norm(color - other) >= min_distance for other in avoid):
            return color
    return 255.0 - np.mean(avoid, axis=0)


def _background(
    rng: np.random.Generator, size: int, palette: str = 'colour'
) -> Tuple[np.ndarray, List[np.ndarray]]:
    """(size, size, 3) float32 texture and the colours it is made of."""
    if palette == 'grey':
        color_a, color_b = (np.full(3, rng.uniform(0, 100), np.float32) for _ in range(2))
    else:
        color_a, color_b = _random_color(rng), _random_color(rng)
    kind = rng.integers(3)
    if kind == 0:  # smooth blotches: low-resolution noise blown up
        cells = int(rng.integers(3, 12))
        blend = cv2.resize(
            rng.random((cells, cells), dtype=np.float32),
            (size, size),
            interpolation=cv2.INTER_CUBIC,
        )
    else:
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
        angle = rng.uniform(0, np.pi)
        along = xs * np.cos(angle) + ys * np.sin(angle)
        if kind == 1:  # linear gradient
            blend = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
        else:  # stripes
            period = rng.uniform(0.04, 0.25)
            blend = 0.5 + 0.5 * np.sin(2 * np.pi * along / period + rng.uniform(0, 2 * np.pi))
    blend = np.clip(blend, 0, 1)[..., None]
    texture = color_a * (1 - blend) + color_b * blend
    return texture.astype(np.float32), [color_a, color_b]


# -------------------------------------------------------------------------------- drawing
def _fill_mask(points: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool mask of the polygon ``points`` ((N, 2) x, y in pixels)."""
    mask = np.zeros((size, size), np.uint8)
    fixed = np.round(points * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return mask.astype(bool)


def _has_hole(mask: np.ndarray) -> bool:
    """Whether a bool mask encloses background (a COCO polygon cannot express that)."""
    _, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool(np.any(hierarchy[0, :, 3] >= 0))


def render_image(config: ShapesConfig, split: str, index: int) -> RenderedImage:
    """Draw image ``index`` of ``split``; a pure function of (config, split, index)."""
    rng = np.random.default_rng((config.seed, SPLITS.index(split), index))
    size = config.img_size
    canvas, background_colors = _background(rng, size, config.palette)
    owner = np.zeros((size, size), np.int32)
    full_areas = np.zeros(0, np.int64)  # pixels of each placed shape before any occlusion
    visible = np.zeros(0, np.int64)  # pixels each placed shape still shows
    labels: List[int] = []

    num_objects = int(rng.integers(config.objects_per_image[0], config.objects_per_image[1] + 1))
    for _ in range(num_objects):
        label = int(rng.integers(len(config.classes)))
        for _attempt in range(20):
            radius = rng.uniform(*config.size_range) * size
            outline = _SHAPE_MAKERS[config.classes[label]](rng, radius)
            low, high = outline.min(axis=0), outline.max(axis=0)
            if np.any(high - low >= size - 2):
                continue
            mask = _fill_mask(outline + rng.uniform(1 - low, size - 1 - high), size)
            hidden = np.bincount(owner[mask], minlength=len(labels) + 1)[1:]
            if (
                mask.any()
                and np.all(visible - hidden >= config.min_visible * full_areas)
                and not any(_has_hole((owner == k + 1) & ~mask) for k in np.flatnonzero(hidden))
            ):
                break
        else:
            continue  # no placement keeps the others visible enough: one object fewer
        labels.append(label)
        owner[mask] = len(labels)
        area = int(mask.sum())
        full_areas = np.append(full_areas, area)
        visible = np.append(visible - hidden, area)
        shade = rng.normal(0, 6, size=(area, 1)).astype(np.float32)
        color = (
            np.full(3, rng.uniform(155, 255), np.float32)
            if config.palette == 'grey'
            else _distinct_color(rng, background_colors)
        )
        canvas[mask] = color + shade

    canvas += rng.normal(0, rng.uniform(3, 12), size=canvas.shape).astype(np.float32)
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    return RenderedImage(image=image, owner=owner, labels=labels)


# ---------------------------------------------------------------------------- annotations
def mask_to_polygons(mask: np.ndarray, tolerance: float = 0.24) -> List[List[float]]:
    """COCO polygons ([x1, y1, x2, y2, ...], pixel-edge coordinates) outlining a bool mask.

    The outline of each connected part is traced on the mask blown up 2x (nearest), which puts
    it a quarter pixel inside the pixel edges: every pixel centre of the part lies inside, every
    other one 0.75 px outside, and a one-pixel-wide spike keeps its width. The outline is then
    simplified within ``tolerance`` px (< 0.25, so no pixel centre changes side).
    """
    doubled = cv2.resize(mask.astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        contour = cv2.approxPolyDP(contour, 2 * tolerance, closed=True)
        if len(contour) < 3:
            continue
        points = (contour.reshape(-1, 2).astype(np.float64) + 0.5) / 2
        polygons.append([float(v) for v in points.reshape(-1)])
    return polygons


def annotate(rendered: RenderedImage, image_id: int, first_ann_id: int) -> List[Dict]:
    """COCO annotation dicts (category ids 1-based) of the objects of one rendered image."""
    annotations = []
    for k, label in enumerate(rendered.labels, start=1):
        mask = rendered.owner == k
        ys, xs = np.nonzero(mask)
        polygons = mask_to_polygons(mask)
        if len(xs) == 0 or not polygons:
            continue
        x0, y0 = int(xs.min()), int(ys.min())
        annotations.append(
            dict(
                id=first_ann_id + len(annotations),
                image_id=image_id,
                category_id=label + 1,
                bbox=[x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
                area=int(len(xs)),
                segmentation=polygons,
                iscrowd=0,
            )
        )
    return annotations


def annotation_path(root: str, split: str) -> str:
    return osp.join(root, 'annotations', f'instances_{split}.json')


def generate_split(config: ShapesConfig, root: str, split: str) -> Dict:
    """Write ``root/<split>/*.jpg`` and ``root/annotations/instances_<split>.json``."""
    image_dir = osp.join(root, split)
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for index in range(config.num_images(split)):
        rendered = render_image(config, split, index)
        file_name = f'{index:06d}.jpg'
        cv2.imwrite(
            osp.join(image_dir, file_name),
            rendered.image,
            [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality],
        )
        image_id = index + 1
        images.append(
            dict(id=image_id, file_name=file_name, width=config.img_size, height=config.img_size)
        )
        annotations += annotate(rendered, image_id, first_ann_id=len(annotations) + 1)
    coco = dict(
        info=dict(
            description='rtmdet_plus synthetic shapes',
            split=split,
            generator=generator_params(config),
        ),
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(config.classes)
        ],
    )
    with open(annotation_path(root, split), 'w') as file:
        json.dump(coco, file, separators=(',', ':'))
    return coco


def generator_params(config: ShapesConfig) -> Dict:
    """The config as plain JSON values (tuples as lists), as stored in the files' ``info``."""
    return json.loads(json.dumps(asdict(config)))


def generate_shapes_dataset(root: str, config: Optional[ShapesConfig] = None) -> str:
    """Write the train and val splits under ``root``; returns ``root``."""
    config = config or ShapesConfig()
    for split in SPLITS:
        generate_split(config, root, split)
    return root


def ensure_shapes_dataset(root: str, config: Optional[ShapesConfig] = None) -> bool:
    """Generate under ``root`` unless a dataset made with the same config is already there.

    Returns True when it generated.
    """
    config = config or ShapesConfig()
    wanted = generator_params(config)
    try:
        for split in SPLITS:
            with open(annotation_path(root, split)) as file:
                info = json.load(file).get('info', {})
            num_files = len(os.listdir(osp.join(root, split)))
            if info.get('generator') != wanted or num_files < config.num_images(split):
                raise LookupError
        return False
    except (OSError, ValueError, LookupError):
        generate_shapes_dataset(root, config)
        return True


def use_data_root(cfg, data_root: str) -> None:
    """Point a shapes config's train/val/test datasets and COCO evaluators at ``data_root``.

    ``cfg`` is an mmengine ``Config``; the evaluators' ``ann_file`` keeps its file name under
    ``data_root/annotations/``.
    """
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader) is not None:
            cfg[loader].dataset.data_root = data_root
    for evaluator in ('val_evaluator', 'test_evaluator'):
        if cfg.get(evaluator) is not None and cfg[evaluator].get('ann_file'):
            cfg[evaluator].ann_file = osp.join(
                data_root, 'annotations', osp.basename(cfg[evaluator].ann_file)
            )
