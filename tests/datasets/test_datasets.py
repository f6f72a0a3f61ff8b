"""The shapes generator and the dataset classes registered in the ``rtmdet_plus`` scope."""

import filecmp
import json
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from rtmdet_plus.datasets import CocoDataset, LoadImageFromFile
from rtmdet_plus.datasets.shapes import (
    ShapesConfig,
    annotate,
    ensure_shapes_dataset,
    generate_shapes_dataset,
    mask_to_polygons,
    render_image,
)
from rtmdet_plus.registry import DATASETS, TRANSFORMS
from tests import REPO
from tests.helpers import SMALL_SHAPES, tool_env


def _load(path):
    with open(path) as file:
        return json.load(file)


def test_same_seed_gives_identical_files_and_another_seed_differs(shapes_dataset, tmp_path):
    again = tmp_path / 'again'
    generate_shapes_dataset(str(again), SMALL_SHAPES)
    for name in (
        'annotations/instances_train.json',
        'annotations/instances_val.json',
        'val/000000.jpg',
        'train/000011.jpg',
    ):
        assert (shapes_dataset / name).read_bytes() == (again / name).read_bytes(), name

    other = tmp_path / 'other'
    generate_shapes_dataset(str(other), ShapesConfig(**{**vars(SMALL_SHAPES), 'seed': 8}))
    assert not filecmp.cmp(
        shapes_dataset / 'annotations/instances_train.json',
        other / 'annotations/instances_train.json',
        shallow=False,
    )


def test_images_do_not_depend_on_generation_order():
    first = render_image(SMALL_SHAPES, 'train', 5)
    render_image(SMALL_SHAPES, 'val', 0)
    second = render_image(SMALL_SHAPES, 'train', 5)
    assert np.array_equal(first.image, second.image)
    assert first.labels == second.labels


def test_annotations_are_valid_coco(shapes_dataset):
    for split, num_images in (('train', SMALL_SHAPES.num_train), ('val', SMALL_SHAPES.num_val)):
        coco = COCO(str(shapes_dataset / f'annotations/instances_{split}.json'))
        assert len(coco.getImgIds()) == num_images
        assert [cat['name'] for cat in coco.loadCats(coco.getCatIds())] == list(
            SMALL_SHAPES.classes
        )
        anns = coco.loadAnns(coco.getAnnIds())
        assert len(anns) >= num_images  # at least one object an image on average
        assert len({ann['id'] for ann in anns}) == len(anns)
        for image in coco.loadImgs(coco.getImgIds()):
            assert (shapes_dataset / split / image['file_name']).is_file()
            assert (image['width'], image['height']) == (SMALL_SHAPES.img_size,) * 2
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert ann['iscrowd'] == 0 and ann['area'] > 0 and w >= 1 and h >= 1
            assert 0 <= x and x + w <= SMALL_SHAPES.img_size
            assert 0 <= y and y + h <= SMALL_SHAPES.img_size
            assert all(
                len(polygon) >= 6 and len(polygon) % 2 == 0 for polygon in ann['segmentation']
            )


def test_several_classes_overlaps_and_textured_backgrounds():
    config = ShapesConfig(img_size=128, num_train=40)
    rendered = [render_image(config, 'train', index) for index in range(40)]
    labels = {label for image in rendered for label in image.labels}
    assert labels == set(range(len(config.classes)))
    # Occlusion: some object shows fewer pixels than its own full outline (mask holes aside).
    assert any(
        _occluded(image.owner, k) for image in rendered for k in range(1, len(image.labels) + 1)
    )
    # Texture: the background pixels are far from a flat colour.
    background_spread = [image.image[image.owner == 0].std(axis=0).mean() for image in rendered]
    assert np.median(background_spread) > 8


def test_grey_palette_draws_light_grey_shapes_on_dark_grey():
    """palette='grey' (the classification data): no colour cue, the shape is lighter than
    everything around it; the default palette draws colours."""
    grey = [render_image(ShapesConfig(img_size=64, palette='grey'), 'train', i) for i in range(20)]
    for image in grey:
        pixels = image.image.astype(np.float32)
        shape, background = pixels[image.owner > 0], pixels[image.owner == 0]
        assert shape.mean() > 140 > 115 > background.mean()
        # the channels differ by the pixel noise only
        assert np.abs(pixels.mean(axis=(0, 1)) - pixels.mean()).max() < 3
    colour = [render_image(ShapesConfig(img_size=64), 'train', i).image for i in range(20)]
    assert max(np.ptp(image.astype(np.float32).mean(axis=(0, 1))) for image in colour) > 30


def _occluded(owner: np.ndarray, k: int) -> bool:
    """Whether object k's visible region touches a later object (k+1, ...)."""
    mask = (owner == k).astype(np.uint8)
    grown = np.zeros_like(mask)
    grown[1:-1, 1:-1] = (
        mask[1:-1, 1:-1] | mask[:-2, 1:-1] | mask[2:, 1:-1] | mask[1:-1, :-2] | mask[1:-1, 2:]
    )
    return bool(np.any(owner[grown.astype(bool)] > k))


def test_masks_boxes_and_areas_match_the_drawn_pixels():
    config = ShapesConfig(img_size=160)
    checked = 0
    for index in range(15):
        rendered = render_image(config, 'train', index)
        anns = annotate(rendered, image_id=1, first_ann_id=1)
        assert [ann['category_id'] - 1 for ann in anns] == rendered.labels
        for k, ann in enumerate(anns, start=1):
            drawn = rendered.owner == k
            rles = mask_utils.frPyObjects(ann['segmentation'], config.img_size, config.img_size)
            decoded = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
            assert np.array_equal(decoded, drawn), (index, k)
            ys, xs = np.nonzero(drawn)
            assert ann['bbox'] == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
            assert ann['area'] == drawn.sum()
            checked += 1
    assert checked > 20


def test_polygon_of_thin_and_split_regions():
    mask = np.zeros((20, 20), bool)
    mask[2:12, 3] = True  # a one-pixel-wide line
    mask[5:9, 10:16] = True  # a separate block
    polygons = mask_to_polygons(mask)
    assert len(polygons) == 2
    decoded = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, 20, 20)))
    assert np.array_equal(decoded.astype(bool), mask)


def test_ensure_regenerates_only_when_needed(tmp_path):
    config = ShapesConfig(img_size=64, num_train=3, num_val=2)
    assert ensure_shapes_dataset(str(tmp_path), config)
    assert not ensure_shapes_dataset(str(tmp_path), config)
    assert ensure_shapes_dataset(str(tmp_path), ShapesConfig(img_size=64, num_train=4, num_val=2))
    assert len(_load(tmp_path / 'annotations/instances_train.json')['images']) == 4


def test_bad_generator_settings_are_refused():
    with pytest.raises(ValueError, match='hexagon'):
        ShapesConfig(classes=('ellipse', 'hexagon'))
    with pytest.raises(ValueError, match='objects_per_image'):
        ShapesConfig(objects_per_image=(3, 1))
    with pytest.raises(ValueError, match="palette='gray'"):
        ShapesConfig(palette='gray')


def test_dataset_loads_through_our_registry_with_the_pipeline(shapes_dataset):
    init_default_scope('rtmdet_plus')
    assert DATASETS.get('CocoDataset') is CocoDataset
    assert TRANSFORMS.get('LoadImageFromFile') is LoadImageFromFile
    size = SMALL_SHAPES.img_size
    dataset = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=str(shapes_dataset),
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            metainfo=dict(classes=SMALL_SHAPES.classes),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='Resize', scale=(2 * size, 2 * size), keep_ratio=True),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackDetInputs'),
            ],
        )
    )
    assert len(dataset) == SMALL_SHAPES.num_train
    coco = _load(shapes_dataset / 'annotations/instances_train.json')
    first_image_anns = [ann for ann in coco['annotations'] if ann['image_id'] == 1]
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 2 * size, 2 * size)
    gt = sample['data_samples'].gt_instances
    assert len(gt) == len(first_image_anns)
    assert gt.labels.tolist() == [ann['category_id'] - 1 for ann in first_image_anns]
    areas = (gt.bboxes.widths * gt.bboxes.heights).numpy()
    expected = [4 * ann['bbox'][2] * ann['bbox'][3] for ann in first_image_anns]
    np.testing.assert_allclose(areas, expected)  # flipping keeps sizes; the resize doubles
    assert np.array_equal(gt.masks.areas, [4 * ann['area'] for ann in first_image_anns])


def test_command_line_tool_writes_the_same_dataset(tmp_path):
    repo = REPO
    config = ShapesConfig(
        img_size=96,
        num_train=5,
        num_val=3,
        classes=('star', 'ellipse'),
        objects_per_image=(2, 3),
        seed=3,
    )
    generate_shapes_dataset(str(tmp_path / 'api'), config)
    out = subprocess.run(
        [
            sys.executable,
            str(repo / 'tools/misc/generate_shapes_dataset.py'),
            str(tmp_path / 'cli'),
            '--img-size',
            '96',
            '--num-train',
            '5',
            '--num-val',
            '3',
            '--classes',
            'star',
            'ellipse',
            '--objects',
            '2',
            '3',
            '--seed',
            '3',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=tool_env(),
    )
    assert 'wrote 5 train and 3 val images' in out.stdout
    for split in ('train', 'val'):
        name = f'annotations/instances_{split}.json'
        assert (tmp_path / 'api' / name).read_bytes() == (tmp_path / 'cli' / name).read_bytes()
