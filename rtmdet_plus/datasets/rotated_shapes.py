"""A synthetic rotated-detection dataset in DOTA format: oriented elongated shapes at any angle.

Each image is a textured background (smooth noise, stripes, pixel noise) with a few filled
rectangles, ellipses and arrows of random colour, size, aspect ratio (long side 1.6 to 3.5
times the short one) and angle. An object's label is its tight oriented box: the rectangle
itself, the ellipse's axes box, the arrow's box (tip to tail, barb to barb), written as four
corners clockwise on screen, class name and difficulty 0 (``labelTxt`` lines, see
:mod:`.dota_labels`). Objects lie inside the image and barely overlap (centres at least 0.8 times
the sum of their half-diagonals apart), so every label describes visible pixels.

Layout under ``root``: ``{train,val}/images/<split>_<index>.png``, ``{train,val}/labelTxt/
<split>_<index>.txt`` and ``generator.json`` (the parameters). Everything is drawn from
``numpy.random.default_rng((seed, split, index))``: the same parameters give byte-identical files.

Read it with ``DOTADataset(data_root=root, ann_file='train/labelTxt/',
data_prefix=dict(img_path='train/images/'), metainfo=dict(classes=ROTATED_SHAPE_CLASSES))``.
"""

import json
import math
import os
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .dota_labels import DOTAObject, write_label_file

ROTATED_SHAPE_CLASSES: Tuple[str, ...] = ('rectangle', 'ellipse', 'arrow')
ROTATED_SPLITS: Tuple[str, ...] = ('train', 'val')
_SPLIT_CODES = {'train': 0, 'val': 1}
_SHIFT = 4  # cv2 fixed-point bits: vertices are placed to 1/16 px
_SCALE = 1 << _SHIFT


@dataclass(frozen=True)
class RotatedShapesConfig:
    """What to generate; ``long_side_range`` is the long side as a fraction of the image side,
    ``classes`` a subset of :data:`ROTATED_SHAPE_CLASSES` (drawn with equal chances)."""

    img_size: int = 256
    num_train: int = 200
    num_val: int = 50
    objects_per_image: Tuple[int, int] = (2, 5)
    long_side_range: Tuple[float, float] = (0.18, 0.4)
    aspect_range: Tuple[float, float] = (1.6, 3.5)
    seed: int = 0
    classes: Tuple[str, ...] = ROTATED_SHAPE_CLASSES

    def __post_init__(self):
        object.__setattr__(self, 'classes', tuple(self.classes))
        unknown = [name for name in self.classes if name not in ROTATED_SHAPE_CLASSES]
        if unknown or not self.classes:
            raise ValueError(
                f'classes={self.classes!r}: choose one or more of {ROTATED_SHAPE_CLASSES}'
            )
        low, high = self.objects_per_image
        if not 0 <= low <= high:
            raise ValueError(f'objects_per_image={self.objects_per_image!r}: need 0 <= min <= max')
        if not 0 < self.long_side_range[0] <= self.long_side_range[1] <= 0.7:
            raise ValueError(
                f'long_side_range={self.long_side_range!r}: need 0 < min <= max '
                '<= 0.7 (fraction of the image side)'
            )
        if not 1 <= self.aspect_range[0] <= self.aspect_range[1]:
            raise ValueError(f'aspect_range={self.aspect_range!r}: need 1 <= min <= max')
        if self.img_size < 32:
            raise ValueError(f'img_size={self.img_size}: need at least 32 pixels')

    def num_images(self, split: str) -> int:
        return {'train': self.num_train, 'val': self.num_val}[split]


@dataclass
class RotatedShape:
    """One object: centre (px), sides w >= h (px), angle (radians, clockwise on screen)."""

    class_name: str
    cx: float
    cy: float
    w: float
    h: float
    angle: float

    @property
    def half_diagonal(self) -> float:
        return 0.5 * math.hypot(self.w, self.h)

    def to_image(self, local: np.ndarray) -> np.ndarray:
        """(N, 2) points in the box frame (x along w) -> image pixels."""
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        rotation = np.array([[cos, -sin], [sin, cos]])
        return local @ rotation.T + (self.cx, self.cy)

    def corners(self) -> np.ndarray:
        """(4, 2) box corners, clockwise on screen (DOTA's order)."""
        half_w, half_h = self.w / 2, self.h / 2
        return self.to_image(
            np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
        )


def _arrow_outline(w: float, h: float) -> np.ndarray:
    """(7, 2) arrow pointing along +x, spanning exactly [-w/2, w/2] x [-h/2, h/2]."""
    head = min(0.4 * w, 1.2 * h)
    shaft = 0.2 * h
    x_tail, x_neck, x_tip = -w / 2, w / 2 - head, w / 2
    return np.array(
        [
            [x_tail, -shaft],
            [x_neck, -shaft],
            [x_neck, -h / 2],
            [x_tip, 0],
            [x_neck, h / 2],
            [x_neck, shaft],
            [x_tail, shaft],
        ]
    )


def _fixed_point(points: np.ndarray) -> np.ndarray:
    """Pixel-centre coordinates for cv2 (pixel i spans [i, i + 1)) in 1/16 px."""
    return np.round((points - 0.5) * _SCALE).astype(np.int32)


def draw_shape(img: np.ndarray, shape: RotatedShape, color: Tuple[int, int, int]) -> None:
    """Paint ``shape`` into ``img`` (H, W, 3) uint8, in place, anti-aliased."""
    if shape.class_name == 'ellipse':
        center = tuple(int(v) for v in _fixed_point(np.array([shape.cx, shape.cy])))
        axes = (int(round(shape.w / 2 * _SCALE)), int(round(shape.h / 2 * _SCALE)))
        cv2.ellipse(
            img, center, axes, math.degrees(shape.angle), 0, 360, color, -1, cv2.LINE_AA, _SHIFT
        )
        return
    if shape.class_name == 'rectangle':
        outline = shape.corners()
    elif shape.class_name == 'arrow':
        outline = shape.to_image(_arrow_outline(shape.w, shape.h))
    else:
        raise ValueError(
            f'unknown rotated shape class {shape.class_name!r}; choose from {ROTATED_SHAPE_CLASSES}'
        )
    cv2.fillPoly(img, [_fixed_point(outline)], color, cv2.LINE_AA, _SHIFT)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, size, 3) uint8 muted texture: smooth noise, stripes and pixel noise."""
    base = rng.uniform(60, 190, size=3)
    coarse = rng.normal(0, 25, size=(6, 6, 3)).astype(np.float32)
    img = base + cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    theta, period = rng.uniform(0, math.pi), rng.uniform(8, 40)
    ys, xs = np.mgrid[0:size, 0:size]
    stripes = np.sin((xs * math.cos(theta) + ys * math.sin(theta)) * 2 * math.pi / period)
    img = img + rng.uniform(0, 15) * stripes[..., None]
    img = img + rng.normal(0, 6, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _place_shapes(rng: np.random.Generator, config: RotatedShapesConfig) -> List[RotatedShape]:
    size = config.img_size
    count = int(rng.integers(config.objects_per_image[0], config.objects_per_image[1] + 1))
    shapes: List[RotatedShape] = []
    for _ in range(count):
        for _attempt in range(50):
            long_side = rng.uniform(*config.long_side_range) * size
            short_side = long_side / rng.uniform(*config.aspect_range)
            shape = RotatedShape(
                class_name=config.classes[int(rng.integers(len(config.classes)))],
                cx=0.0,
                cy=0.0,
                w=long_side,
                h=short_side,
                angle=rng.uniform(-math.pi, math.pi),
            )
            radius = shape.half_diagonal
            if 2 * radius + 2 >= size:
                continue
            shape.cx, shape.cy = rng.uniform(radius + 1, size - radius - 1, size=2)
            if all(
                math.hypot(shape.cx - other.cx, shape.cy - other.cy)
                >= 0.8 * (radius + other.half_diagonal)
                for other in shapes
            ):
                shapes.append(shape)
                break
    return shapes


def _color(rng: np.random.Generator, background: np.ndarray) -> Tuple[int, int, int]:
    """A saturated colour at least 80 (L1 over the channels) from the mean background colour."""
    mean = background.reshape(-1, 3).mean(0)
    for _ in range(20):
        color = rng.integers(0, 256, size=3)
        if np.abs(color - mean).sum() >= 80:
            break
    return tuple(int(c) for c in color)


def render_rotated_image(
    config: RotatedShapesConfig, split: str, index: int
) -> Tuple[np.ndarray, List[RotatedShape]]:
    """Image (H, W, 3) BGR uint8 and its objects, drawn from (seed, split, index)."""
    rng = np.random.default_rng((config.seed, _SPLIT_CODES[split], index))
    img = _background(rng, config.img_size)
    shapes = _place_shapes(rng, config)
    for shape in shapes:
        draw_shape(img, shape, _color(rng, img))
    return img, shapes


def _generator_params(config: RotatedShapesConfig) -> Dict:
    return dict(name='rotated_shapes', version=1, **asdict(config))


def generate_rotated_shapes_dataset(root: str, config: Optional[RotatedShapesConfig] = None) -> str:
    """Write both splits and ``generator.json`` under ``root``; returns ``root``."""
    config = config or RotatedShapesConfig()
    for split in ROTATED_SPLITS:
        img_dir, label_dir = osp.join(root, split, 'images'), osp.join(root, split, 'labelTxt')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(label_dir, exist_ok=True)
        for index in range(config.num_images(split)):
            img, shapes = render_rotated_image(config, split, index)
            name = f'{split}_{index:05d}'
            if not cv2.imwrite(osp.join(img_dir, f'{name}.png'), img):
                raise OSError(f'could not write {osp.join(img_dir, name + ".png")}')
            write_label_file(
                osp.join(label_dir, f'{name}.txt'),
                [
                    DOTAObject(shape.corners().reshape(-1), shape.class_name, 0, line_no)
                    for line_no, shape in enumerate(shapes, start=1)
                ],
            )
    with open(osp.join(root, 'generator.json'), 'w') as file:
        json.dump(_generator_params(config), file, indent=2, sort_keys=True)
    return root


def ensure_rotated_shapes_dataset(root: str, config: Optional[RotatedShapesConfig] = None) -> bool:
    """Generate under ``root`` unless a dataset with the same parameters is there; True when
    it generated."""
    config = config or RotatedShapesConfig()
    try:
        with open(osp.join(root, 'generator.json')) as file:
            if json.load(file) != json.loads(json.dumps(_generator_params(config))):
                raise LookupError
        for split in ROTATED_SPLITS:
            if len(os.listdir(osp.join(root, split, 'labelTxt'))) < config.num_images(split):
                raise LookupError
        return False
    except (OSError, ValueError, LookupError):
        generate_rotated_shapes_dataset(root, config)
        return True
