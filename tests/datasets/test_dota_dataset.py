"""DOTADataset: labelTxt parsing, difficulty, test mode, pipeline to rotated boxes, class lists,
the rotated shapes generator, and the real DOTA sample when present."""

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from rtmdet_plus.datasets import (
    ROTATED_SHAPE_CLASSES,
    DOTADataset,
    DOTAv2Dataset,
    DOTAv15Dataset,
    RotatedShapesConfig,
    generate_rotated_shapes_dataset,
)
from rtmdet_plus.datasets.rotated_shapes import render_rotated_image
from rtmdet_plus.registry import DATASETS
from rtmdet_plus.structures.bbox import RotatedBoxes, rbox2qbox
from tests import REPO

pytestmark = pytest.mark.usefixtures('rtmdet_plus_scope')


def write_dota_folder(root: Path, labels: dict, img_size=(40, 60)) -> Path:
    """root/images/<id>.png and root/labelTxt/<id>.txt for each id -> label text."""
    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'labelTxt').mkdir(parents=True, exist_ok=True)
    for img_id, text in labels.items():
        cv2.imwrite(str(root / 'images' / f'{img_id}.png'), np.zeros(img_size + (3,), np.uint8))
        (root / 'labelTxt' / f'{img_id}.txt').write_text(text)
    return root


def build(root: Path, dataset_type='DOTADataset', **kwargs):
    cfg = dict(
        type=dataset_type,
        data_root=str(root),
        ann_file='labelTxt/',
        data_prefix=dict(img_path='images/'),
        pipeline=[],
    )
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_parses_objects_difficulty_and_headers(tmp_path):
    text = (
        'imagesource:GoogleEarth\ngsd:0.146\n'
        '10 10 30 10 30 20 10 20 plane 0\n'
        '5 5 15 5 15 25 5 25 harbor 2\n'
        '1 1 9 1 9 4 1 4 ship\n'
    )
    root = write_dota_folder(tmp_path, {'P0001': text, 'P0002': ''})
    dataset = build(root, diff_thr=1)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)  # label files are read in sorted order
    assert info['img_id'] == 'P0001'
    assert info['img_path'] == str(root / 'images' / 'P0001.png')
    assert info['file_name'] == 'P0001.png'
    classes = DOTADataset.METAINFO['classes']
    assert [inst['bbox_label'] for inst in info['instances']] == [
        classes.index('plane'),
        classes.index('harbor'),
        classes.index('ship'),
    ]
    assert [inst['ignore_flag'] for inst in info['instances']] == [0, 1, 0]  # 2 > diff_thr=1
    assert info['instances'][0]['bbox'] == [10, 10, 30, 10, 30, 20, 10, 20]
    assert dataset.get_cat_ids(0) == [0, 12, 6]
    assert dataset.get_data_info(1)['instances'] == []


def test_filter_empty_gt_and_test_mode(tmp_path):
    root = write_dota_folder(tmp_path, {'a': '1 1 9 1 9 4 1 4 ship 0\n', 'b': ''})
    assert len(build(root, filter_cfg=dict(filter_empty_gt=True))) == 1
    assert len(build(root, filter_cfg=dict(filter_empty_gt=True), test_mode=True)) == 2


def test_images_only_when_ann_file_is_empty(tmp_path):
    root = write_dota_folder(tmp_path, {'a': '', 'b': ''})
    (root / 'images' / 'notes.txt').write_text('not an image')
    dataset = build(root, ann_file='', test_mode=True)
    assert sorted(dataset.get_data_info(i)['img_id'] for i in range(len(dataset))) == ['a', 'b']
    assert all(dataset.get_data_info(i)['instances'] == [] for i in range(len(dataset)))


def test_class_lists_of_the_versions():
    v1 = DOTADataset.METAINFO['classes']
    assert len(v1) == 15 and v1[0] == 'plane' and v1[-1] == 'helicopter'
    assert DOTAv15Dataset.METAINFO['classes'] == v1 + ('container-crane',)
    assert DOTAv2Dataset.METAINFO['classes'] == v1 + ('container-crane', 'airport', 'helipad')
    for cls in (DOTADataset, DOTAv15Dataset, DOTAv2Dataset):
        assert len(cls.METAINFO['palette']) == len(cls.METAINFO['classes'])
        assert DATASETS.get(cls.__name__) is cls


def test_v2_reads_v2_only_classes(tmp_path):
    root = write_dota_folder(tmp_path, {'a': '1 1 9 1 9 4 1 4 helipad 0\n'})
    dataset = build(root, 'DOTAv2Dataset')
    assert dataset.get_data_info(0)['instances'][0]['bbox_label'] == 17


def test_pipeline_gives_rotated_boxes(tmp_path):
    """LoadAnnotations(box_type='qbox') + ConvertBoxType: the quad's exact rotated box."""
    rbox = torch.tensor([[30.0, 20.0, 24.0, 8.0, math.radians(30)]])
    quad = rbox2qbox(rbox)[0].tolist()
    line = ' '.join(f'{v:.4f}' for v in quad) + ' ship 0\n'
    root = write_dota_folder(tmp_path, {'a': line})
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    ]
    results = build(root, pipeline=pipeline)[0]
    boxes = results['gt_bboxes']
    assert isinstance(boxes, RotatedBoxes)
    torch.testing.assert_close(boxes.tensor, rbox, atol=1e-3, rtol=0)
    assert results['gt_bboxes_labels'].tolist() == [6]
    assert results['gt_ignore_flags'].tolist() == [False]


def test_rotated_shapes_generator_is_deterministic(tmp_path):
    config = RotatedShapesConfig(img_size=64, num_train=3, num_val=2, seed=3)
    first = generate_rotated_shapes_dataset(str(tmp_path / 'a'), config)
    second = generate_rotated_shapes_dataset(str(tmp_path / 'b'), config)
    files = sorted(p.relative_to(first) for p in Path(first).rglob('*') if p.is_file())
    assert len(files) == 2 * (3 + 2) + 1
    for rel in files:
        assert (Path(first) / rel).read_bytes() == (Path(second) / rel).read_bytes(), rel
    other = RotatedShapesConfig(img_size=64, num_train=3, num_val=2, seed=4)
    img_a, _ = render_rotated_image(config, 'train', 0)
    img_b, _ = render_rotated_image(other, 'train', 0)
    assert not np.array_equal(img_a, img_b)


def test_rotated_shapes_read_by_dota_dataset(tmp_path):
    config = RotatedShapesConfig(img_size=96, num_train=6, num_val=2, seed=0)
    generate_rotated_shapes_dataset(str(tmp_path), config)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    ]
    dataset = DATASETS.build(
        dict(
            type='DOTADataset',
            data_root=str(tmp_path),
            ann_file='train/labelTxt/',
            data_prefix=dict(img_path='train/images/'),
            pipeline=pipeline,
            metainfo=dict(classes=ROTATED_SHAPE_CLASSES),
        )
    )
    assert len(dataset) == 6
    angles, count = [], 0
    for index in range(len(dataset)):
        results = dataset[index]
        _, shapes = render_rotated_image(config, 'train', int(results['img_id'][-5:]))
        boxes = results['gt_bboxes'].tensor
        assert len(boxes) == len(shapes)
        count += len(shapes)
        for box, shape, label in zip(boxes, shapes, results['gt_bboxes_labels']):
            assert ROTATED_SHAPE_CLASSES[label] == shape.class_name
            assert box[2:4].tolist() == pytest.approx([shape.w, shape.h], abs=0.02)
            assert box[:2].tolist() == pytest.approx([shape.cx, shape.cy], abs=0.02)
            angles.append(float(box[4]))
        assert results['img'].shape == (96, 96, 3)
    assert count >= 12
    assert max(angles) - min(angles) > math.radians(60)  # many angles, not a few


def test_real_dota_sample(shared_data):
    real_sample = shared_data('dota_sample/labelTxt').parent
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    ]
    dataset = DATASETS.build(
        dict(
            type='DOTADataset',
            data_root=str(real_sample),
            ann_file='labelTxt/',
            data_prefix=dict(img_path='images/'),
            pipeline=pipeline,
        )
    )
    assert len(dataset) == 1
    info = dataset.get_data_info(0)
    assert info['img_id'] == 'P2805__1024__0___0'
    assert len(info['instances']) == 4
    assert all(inst['bbox_label'] == 0 and inst['ignore_flag'] == 0 for inst in info['instances'])
    results = dataset[0]
    # the stored PNG is a 170x170 downscaled copy; the labels are in the 1024x1024 frame
    assert results['img'].shape[:2] == (170, 170)
    boxes = results['gt_bboxes'].tensor
    assert len(boxes) == 4 and bool((boxes[:, 2:4] > 0).all())
    centres = boxes[:, :2] * 170 / 1024
    assert bool(((centres >= 0) & (centres <= 170)).all())


def test_rotated_shapes_cli(tmp_path, monkeypatch):
    import importlib.util
    import sys

    script = REPO / 'tools' / 'misc' / 'generate_rotated_shapes.py'
    spec = importlib.util.spec_from_file_location('generate_rotated_shapes', script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(
        sys,
        'argv',
        [
            str(script),
            str(tmp_path / 'd'),
            '--img-size',
            '48',
            '--num-train',
            '2',
            '--num-val',
            '1',
            '--seed',
            '5',
        ],
    )
    module.main()
    assert len(list((tmp_path / 'd' / 'train' / 'labelTxt').glob('*.txt'))) == 2
    assert len(list((tmp_path / 'd' / 'val' / 'images').glob('*.png'))) == 1
    assert (tmp_path / 'd' / 'generator.json').is_file()
