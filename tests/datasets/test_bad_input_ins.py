"""Bad mask input: malformed polygons and RLEs, masks that do not fit their image, empty masks.
Malformed or misfitting masks stop loading with an error naming the annotation file, the
annotation id and the image; polygons of fewer than 3 points are dropped and empty masks make
an ignored instance, with a warning naming the ids, and training on them gives a finite loss."""

import copy
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

from rtmdet_plus.datasets import MaskAnnotationWarning, SegmentationError
from rtmdet_plus.datasets.coco_masks import check_segmentation, rle_counts_from_string
from rtmdet_plus.registry import DATASETS, MODELS
from tests import REPO
from tests.helpers import SMALL_SHAPES
from tests.helpers.datasets import dataset_cfg, rewrite_annotations

INS_CONFIG = REPO / 'configs/rtmdet/rtmdet-ins_tiny_1xb8-20e_shapes.py'
SIZE = SMALL_SHAPES.img_size
MASK_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='Pad', size=(SIZE, SIZE)),
    dict(type='PackDetInputs'),
]


def _mask_dataset(root: Path):
    return DATASETS.build(dataset_cfg(root) | dict(pipeline=MASK_PIPELINE))


def _set_segmentation(root: Path, segmentation, ann_index: int = 0) -> dict:
    """Give annotation ``ann_index`` of the train file ``segmentation``; returns it."""
    changed = {}

    def edit(coco):
        ann = coco['annotations'][ann_index]
        ann['segmentation'] = segmentation
        changed.update(ann)

    rewrite_annotations(root, edit)
    return changed


def _expect_error(root: Path, segmentation, match: str) -> None:
    ann = _set_segmentation(root, segmentation, ann_index=2)
    with pytest.raises(SegmentationError) as error:
        _mask_dataset(root)
    message = str(error.value)
    assert str(root / 'annotations/instances_train.json') in message
    assert f"annotation id {ann['id']} " in message and f"image id {ann['image_id']}" in message
    assert re.search(match, message), message


@pytest.mark.parametrize(
    'segmentation, match',
    [
        ([[10, 10, 30, 10, 30, 30, 10]], 'odd number of coordinates'),
        ([[10, 10, 30, 10, 'x', 30]], 'non-numeric'),
        ([[10, 10, 30, 10, float('nan'), 30]], 'non-finite'),
        ([10, 10, 30, 10, 30, 30], 'flat list of numbers'),
        ([{'x': 1}], 'not a list of coordinates'),
    ],
    ids=['odd', 'text', 'nan', 'flat', 'not-a-list'],
)
def test_malformed_polygon_names_the_annotation(dataset_copy, segmentation, match):
    _expect_error(dataset_copy, segmentation, match)


@pytest.mark.parametrize(
    'segmentation, match',
    [
        ({'size': [SIZE, SIZE]}, "needs both 'size'"),
        ({'counts': [SIZE * SIZE]}, "needs both 'size'"),
        ({'size': [SIZE], 'counts': [SIZE * SIZE]}, r"must be \[height, width\]"),
        ({'size': [SIZE, SIZE], 'counts': [5, 10]}, 'add up to 15 pixels'),
        ({'size': [SIZE, SIZE], 'counts': [SIZE * SIZE + 10, -10]}, 'negative run'),
        ({'size': [SIZE, SIZE], 'counts': [1.5, 2]}, 'list of run lengths'),
        ({'size': [SIZE, SIZE], 'counts': 'abc~'}, "outside COCO's alphabet"),
        ({'size': [SIZE, SIZE], 'counts': 'P'}, 'truncated'),
    ],
    ids=[
        'no-counts',
        'no-size',
        'bad-size',
        'short-runs',
        'negative',
        'float-runs',
        'bad-string',
        'truncated-string',
    ],
)
def test_malformed_rle_names_the_annotation(dataset_copy, segmentation, match):
    _expect_error(dataset_copy, segmentation, match)


def test_rle_of_another_image_size_names_the_annotation(dataset_copy):
    other = mask_utils.encode(np.asfortranarray(np.ones((SIZE, SIZE + 8), np.uint8)))
    _expect_error(
        dataset_copy,
        dict(size=other['size'], counts=other['counts'].decode()),
        r"RLE 'size' is \[128, 136\] but the image is \[128, 128\]",
    )


def test_polygon_outside_the_image_names_the_annotation(dataset_copy):
    # Annotated on a 1024-pixel original: far outside the 128-pixel image.
    _expect_error(
        dataset_copy,
        [[100, 100, 900, 120, 500, 800]],
        'outside the 128x128 .* does not match the image size',
    )


def test_image_of_another_size_than_annotated_names_the_image(dataset_copy):
    dataset = _mask_dataset(dataset_copy)
    image_path = Path(dataset.get_data_info(0)['img_path'])
    cv2.imwrite(str(image_path), np.zeros((SIZE // 2, SIZE, 3), np.uint8))
    with pytest.raises(ValueError, match=re.escape(str(image_path))) as error:
        dataset[0]
    assert 'masks do not match the image size' in str(error.value)
    assert f'{SIZE}x{SIZE // 2}' in str(error.value)


def test_polygons_of_fewer_than_three_points_are_dropped(dataset_copy):
    # Annotation 0 keeps its polygons plus a 2-point one; annotation 1 only has 2-point ones.
    coco_ann = {}

    def edit(coco):
        first, second = coco['annotations'][0], coco['annotations'][1]
        coco_ann.update(first=copy.deepcopy(first), second=second['id'])
        first['segmentation'] = first['segmentation'] + [[5, 5, 9, 9]]
        second['segmentation'] = [[5, 5, 9, 9], [1, 1]]

    rewrite_annotations(dataset_copy, edit)
    with pytest.warns(MaskAnnotationWarning) as caught:
        dataset = _mask_dataset(dataset_copy)
    messages = ' '.join(str(w.message) for w in caught)
    assert f"annotation ids {coco_ann['first']['id']}, {coco_ann['second']}" in messages
    assert 'fewer than 3 points' in messages and 'empty mask' in messages
    instances = [
        instance for i in range(len(dataset)) for instance in dataset.get_data_info(i)['instances']
    ]
    by_mask = {str(instance['bbox']): instance['mask'] for instance in instances}
    x, y, w, h = coco_ann['first']['bbox']
    assert by_mask[str([x, y, x + w, y + h])] == coco_ann['first']['segmentation']


@pytest.mark.parametrize(
    'segmentation',
    [
        [[10, 10, 20, 20, 30, 30]],  # collinear: zero area
        {'size': [SIZE, SIZE], 'counts': [SIZE * SIZE]},  # RLE without foreground
        mask_utils.encode(np.asfortranarray(np.zeros((SIZE, SIZE), np.uint8)))['counts'].decode(),
    ],
    ids=['zero-area-polygon', 'empty-rle', 'empty-compressed-rle'],
)
def test_empty_mask_is_ignored_with_a_warning(dataset_copy, segmentation):
    if isinstance(segmentation, str):
        segmentation = dict(size=[SIZE, SIZE], counts=segmentation)
    ann = _set_segmentation(dataset_copy, segmentation, ann_index=0)
    with pytest.warns(MaskAnnotationWarning, match=f"empty mask \\(annotation ids {ann['id']}\\)"):
        dataset = _mask_dataset(dataset_copy)
    index = next(
        i for i in range(len(dataset)) if dataset.get_data_info(i)['img_id'] == ann['image_id']
    )
    num_annotated = sum(1 for instance in dataset.get_data_info(index)['instances'])
    sample = dataset[index]['data_samples']
    assert len(sample.gt_instances) == num_annotated - 1  # the empty one is ignored
    assert len(sample.ignored_instances) == 1


@pytest.fixture(scope='module')
def ins_model():
    cfg = Config.fromfile(INS_CONFIG)
    init_default_scope('rtmdet_plus')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.bbox_head.num_classes = len(SMALL_SHAPES.classes)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.train()


def _losses_and_grads(model, dataset, indices):
    batch = model.data_preprocessor(
        dict(
            inputs=[dataset[i]['inputs'] for i in indices],
            data_samples=[dataset[i]['data_samples'] for i in indices],
        ),
        training=True,
    )
    model.zero_grad()
    losses = model(**batch, mode='loss')
    total = sum(losses.values())
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return losses, grads


def test_training_on_dropped_and_empty_masks_gives_a_finite_loss(dataset_copy, ins_model):
    def edit(coco):
        coco['annotations'][0]['segmentation'] = [[10, 10, 20, 20, 30, 30]]  # empty
        coco['annotations'][1]['segmentation'] = [[5, 5, 9, 9]]  # all parts dropped
        coco['annotations'][2]['segmentation'] += [[1, 1, 2, 2]]  # one part dropped

    rewrite_annotations(dataset_copy, edit)
    with pytest.warns(MaskAnnotationWarning):
        dataset = DATASETS.build(
            dataset_cfg(dataset_copy, filter_cfg=dict(filter_empty_gt=False))
            | dict(pipeline=MASK_PIPELINE)
        )
    losses, grads = _losses_and_grads(ins_model, dataset, range(3))
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_mask'}
    assert all(torch.isfinite(value) for value in losses.values())
    assert grads and all(torch.isfinite(grad).all() for grad in grads)


def test_an_empty_mask_reaching_the_head_gives_a_finite_loss(shapes_dataset, ins_model):
    """A mask emptied on the way (a crop, say) still trains: finite loss and gradients."""
    dataset = _mask_dataset(shapes_dataset)
    samples = [dataset[i] for i in range(2)]
    masks = samples[0]['data_samples'].gt_instances.masks
    masks.masks[0] = [np.zeros(6)]  # a degenerate polygon: no pixel
    assert masks.to_ndarray()[0].sum() == 0
    batch = ins_model.data_preprocessor(
        dict(
            inputs=[s['inputs'] for s in samples], data_samples=[s['data_samples'] for s in samples]
        ),
        training=True,
    )
    ins_model.zero_grad()
    losses = ins_model(**batch, mode='loss')
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in ins_model.parameters() if p.grad is not None)


def test_rle_string_decoding_matches_pycocotools():
    generator = np.random.default_rng(0)
    for trial in range(20):
        height, width = generator.integers(1, 70, size=2)
        mask = generator.random((height, width)) < generator.uniform(0.05, 0.95)
        if trial % 5 == 0:  # long runs: multi-character values and large deltas
            mask[:] = False
            mask[: height // 2] = True
        flat = mask.T.reshape(-1)  # COCO runs go down the columns
        changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
        edges = np.concatenate([[0], changes, [flat.size]])
        runs = np.diff(edges).tolist()
        if flat[0]:
            runs = [0] + runs  # the first run is background
        counts = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))['counts']
        assert rle_counts_from_string(counts) == runs
        checked = check_segmentation(
            dict(size=[int(height), int(width)], counts=counts.decode()), int(height), int(width)
        )
        assert checked.empty == (not mask.any())


def test_valid_masks_pass_unchanged():
    polygons = [[1.0, 1.0, 20.0, 1.0, 20.0, 15.5], [30, 30, 40, 30, 35, 40]]
    assert check_segmentation(polygons, 64, 64) == (polygons, 0, False)
    # A vertex on the far border and one a rounding step beyond are fine.
    assert not check_segmentation([[0, 0, 64.0, 0, 64.5, 64]], 64, 64).empty
    mask = np.zeros((64, 48), np.uint8)
    mask[10:20, 5:30] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    assert check_segmentation(rle, 64, 48) == (rle, 0, False)
