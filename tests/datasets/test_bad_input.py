"""Bad input: missing or corrupt images, broken annotation files, degenerate boxes, images
without objects. Each error must name the file at fault."""

import copy
import json
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from rtmdet_plus.registry import DATASETS, MODELS, TRANSFORMS
from tests import REPO
from tests.helpers import SMALL_SHAPES
from tests.helpers.datasets import dataset_cfg, rewrite_annotations


def _first_image(root: Path) -> Path:
    with open(root / 'annotations/instances_train.json') as file:
        return root / 'train' / json.load(file)['images'][0]['file_name']


def test_missing_image_names_the_file(dataset_copy):
    image = _first_image(dataset_copy)
    image.unlink()
    dataset = DATASETS.build(dataset_cfg(dataset_copy))
    with pytest.raises(FileNotFoundError, match=re.escape(str(image))) as error:
        dataset[0]
    assert 'data_prefix' in str(error.value)


@pytest.mark.parametrize(
    'content',
    [b'', b'this is not an image', b'\xff\xd8\xff\xe0' + b'\0' * 64],
    ids=['empty', 'text', 'truncated-jpeg'],
)
def test_corrupt_image_names_the_file(dataset_copy, content):
    image = _first_image(dataset_copy)
    image.write_bytes(content)
    dataset = DATASETS.build(dataset_cfg(dataset_copy))
    with pytest.raises(ValueError, match=re.escape(str(image))) as error:
        dataset[0]
    assert 'could not be decoded' in str(error.value)


def test_unreadable_image_is_skipped_with_ignore_empty(dataset_copy):
    image = _first_image(dataset_copy)
    image.write_bytes(b'garbage')
    init_default_scope('rtmdet_plus')
    load = TRANSFORMS.build(dict(type='LoadImageFromFile', ignore_empty=True))
    assert load(dict(img_path=str(image))) is None


def test_missing_annotation_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'absent.json'))) as err:
        DATASETS.build(dataset_cfg(tmp_path, ann_file='absent.json'))
    assert 'data_root' in str(err.value)


def test_annotation_file_that_is_not_json_names_the_file(dataset_copy):
    path = dataset_copy / 'annotations/instances_train.json'
    path.write_text('{"images": [')
    with pytest.raises(ValueError, match=re.escape(str(path))) as error:
        DATASETS.build(dataset_cfg(dataset_copy))
    assert 'not valid JSON' in str(error.value)


@pytest.mark.parametrize('key', ['images', 'annotations', 'categories'])
def test_annotation_file_that_is_not_coco_names_the_file_and_key(dataset_copy, key):
    rewrite_annotations(dataset_copy, lambda coco: coco.pop(key))
    path = dataset_copy / 'annotations/instances_train.json'
    with pytest.raises(ValueError, match=re.escape(str(path))) as error:
        DATASETS.build(dataset_cfg(dataset_copy))
    assert 'not in COCO format' in str(error.value) and repr(key) in str(error.value)


def test_annotation_file_that_is_a_json_list_names_the_file(dataset_copy):
    path = dataset_copy / 'annotations/instances_train.json'
    path.write_text('[1, 2, 3]')
    with pytest.raises(ValueError, match=re.escape(str(path))):
        DATASETS.build(dataset_cfg(dataset_copy))


def test_test_mode_accepts_an_image_list_without_annotations(dataset_copy):
    rewrite_annotations(dataset_copy, lambda coco: coco.pop('annotations'))
    dataset = DATASETS.build(dataset_cfg(dataset_copy, test_mode=True))
    assert len(dataset) == SMALL_SHAPES.num_train


def test_classes_absent_from_the_file_name_the_file(dataset_copy):
    cfg = dataset_cfg(dataset_copy)
    cfg['metainfo'] = dict(classes=('ellipse', 'hexagon'))
    with pytest.raises(ValueError, match=re.escape(str(dataset_copy))) as error:
        DATASETS.build(cfg)
    assert 'hexagon' in str(error.value)


def test_zero_and_negative_size_boxes_are_dropped(dataset_copy):
    def add_degenerate_boxes(coco):
        next_id = max(ann['id'] for ann in coco['annotations']) + 1
        for offset, bbox in enumerate(
            [[10, 10, 0, 5], [10, 10, 5, 0], [10, 10, -4, 6], [10, 10, 6, -4], [10, 10, 0.5, 8]]
        ):
            coco['annotations'].append(
                dict(
                    id=next_id + offset,
                    image_id=1,
                    category_id=1,
                    bbox=bbox,
                    area=1,
                    segmentation=[],
                    iscrowd=0,
                )
            )

    original = DATASETS.build(dataset_cfg(dataset_copy))
    expected = [instance['bbox'] for instance in original.get_data_info(0)['instances']]
    rewrite_annotations(dataset_copy, add_degenerate_boxes)
    dataset = DATASETS.build(dataset_cfg(dataset_copy))
    boxes = [instance['bbox'] for instance in dataset.get_data_info(0)['instances']]
    assert boxes == expected
    gt = dataset[0]['data_samples'].gt_instances
    assert len(gt) == len(expected)
    assert bool(((gt.bboxes.widths >= 1) & (gt.bboxes.heights >= 1)).all())


def test_images_without_objects_are_kept_or_filtered_as_configured(dataset_copy):
    rewrite_annotations(
        dataset_copy,
        lambda coco: coco.update(
            annotations=[a for a in coco['annotations'] if a['image_id'] != 1]
        ),
    )
    filtered = DATASETS.build(dataset_cfg(dataset_copy, filter_cfg=dict(filter_empty_gt=True)))
    kept = DATASETS.build(dataset_cfg(dataset_copy, filter_cfg=dict(filter_empty_gt=False)))
    assert len(filtered) == len(kept) - 1
    assert kept.get_data_info(0)['img_id'] == 1
    assert len(kept[0]['data_samples'].gt_instances) == 0


def test_batch_with_an_image_without_objects_gives_a_finite_loss(dataset_copy):
    rewrite_annotations(
        dataset_copy,
        lambda coco: coco.update(
            annotations=[a for a in coco['annotations'] if a['image_id'] != 1]
        ),
    )
    cfg = Config.fromfile(REPO / 'configs/rtmdet/rtmdet_tiny_1xb4-12e_shapes.py')
    init_default_scope('rtmdet_plus')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.bbox_head.num_classes = len(SMALL_SHAPES.classes)
    model = MODELS.build(model_cfg)
    model.init_weights()
    size = SMALL_SHAPES.img_size
    dataset = DATASETS.build(
        dataset_cfg(dataset_copy, filter_cfg=dict(filter_empty_gt=False))
        | dict(
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='Pad', size=(size, size)),
                dict(type='PackDetInputs'),
            ]
        )
    )
    assert len(dataset[0]['data_samples'].gt_instances) == 0
    batch = model.data_preprocessor(
        dict(
            inputs=[dataset[i]['inputs'] for i in range(3)],
            data_samples=[dataset[i]['data_samples'] for i in range(3)],
        ),
        training=True,
    )
    model.train()
    losses = model(**batch, mode='loss')
    total = sum(value for value in losses.values())
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(grad).all() for grad in grads)

    # An all-empty batch too: only the classification (all background) loss remains.
    empty = model.data_preprocessor(
        dict(inputs=[dataset[0]['inputs']], data_samples=[dataset[0]['data_samples']]),
        training=True,
    )
    losses = model(**empty, mode='loss')
    assert all(torch.isfinite(value) for value in losses.values())
