"""Classification data: the ImageNet dataset's two layouts and its errors, the crop, resize and
packing transforms, and the repeated-augmentation sampler across ranks."""

from collections import Counter
from unittest import mock

import mmcv
import numpy as np
import pytest
import torch

from rtmdet_plus.datasets import (
    ClassificationAnnotationError,
    ImageNet,
    PackClsInputs,
    RandomResizedCrop,
    RepeatAugSampler,
    ResizeEdge,
)
from rtmdet_plus.datasets.cls_transforms import random_resized_crop_box
from tests import REPO


def write_images(root, layout):
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            mmcv.imwrite(np.full((8, 12, 3), 40 * i, np.uint8), str(root / folder / f'{i}.JPEG'))


def test_folder_layout_gives_sorted_classes_and_labels(tmp_path):
    write_images(tmp_path / 'train', {'n02': 2, 'n01': 3})
    dataset = ImageNet(data_root=str(tmp_path), data_prefix='train', lazy_init=False)
    assert dataset.metainfo['classes'] == ('n01', 'n02')
    assert len(dataset) == 5
    labels = Counter(dataset.get_data_info(i)['gt_label'] for i in range(5))
    assert labels == {0: 3, 1: 2}
    assert dataset.get_data_info(0)['img_path'].endswith('train/n01/0.JPEG')


def test_annotation_list_layout(tmp_path):
    write_images(tmp_path / 'val', {'': 0})
    mmcv.imwrite(np.zeros((4, 4, 3), np.uint8), str(tmp_path / 'val' / 'a.JPEG'))
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'val.txt').write_text('a.JPEG 7\na.JPEG 999\n')
    dataset = ImageNet(data_root=str(tmp_path), ann_file='meta/val.txt', data_prefix='val')
    assert [dataset.get_data_info(i)['gt_label'] for i in range(2)] == [7, 999]
    assert len(dataset.metainfo['classes']) == 1000


def test_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing_folder'):
        ImageNet(data_root=str(tmp_path), data_prefix='missing_folder')
    write_images(tmp_path / 'train', {'cat': 1, 'dog': 1})
    with pytest.raises(ClassificationAnnotationError, match="'dog'"):
        ImageNet(data_root=str(tmp_path), data_prefix='train', metainfo=dict(classes=('cat',)))
    (tmp_path / 'bad.txt').write_text('cat/0.JPEG 0\ncat/0.JPEG zero\n')
    with pytest.raises(ClassificationAnnotationError, match='bad.txt, line 2'):
        ImageNet(data_root=str(tmp_path), ann_file='bad.txt', data_prefix='train')
    (tmp_path / 'range.txt').write_text('cat/0.JPEG 2\n')
    with pytest.raises(ClassificationAnnotationError, match='class index 2 outside the 2'):
        ImageNet(
            data_root=str(tmp_path),
            ann_file='range.txt',
            data_prefix='train',
            metainfo=dict(classes=('cat', 'dog')),
        )
    with pytest.raises(FileNotFoundError, match='nothere.txt'):
        ImageNet(data_root=str(tmp_path), ann_file='nothere.txt', data_prefix='train')


def test_random_resized_crop_area_and_ratio_stay_in_range():
    rng = np.random.RandomState(0)
    for _ in range(200):
        top, left, h, w = random_resized_crop_box(300, 400, (0.08, 1.0), (3 / 4, 4 / 3), rng=rng)
        assert 0 <= top and top + h <= 300 and 0 <= left and left + w <= 400
        assert 0.08 * 0.9 <= h * w / 120000 <= 1.0
        assert 3 / 4 * 0.95 <= w / h <= 4 / 3 * 1.05
    # no attempt fits: the centred crop of a very wide image, clamped to the largest ratio
    always_too_big = mock.Mock(uniform=lambda low, high: high, randint=lambda low, high: low)
    assert random_resized_crop_box(10, 100, (1.0, 1.0), (0.5, 2.0), rng=always_too_big) == (
        0,
        40,
        10,
        20,
    )
    out = RandomResizedCrop(scale=32)(dict(img=np.zeros((50, 70, 3), np.uint8)))
    assert out['img'].shape == (32, 32, 3) and out['img_shape'] == (32, 32)


def test_resize_edge_and_pack():
    out = ResizeEdge(scale=236, edge='short')(dict(img=np.zeros((300, 400, 3), np.uint8)))
    assert out['img'].shape[:2] == (236, 315)
    with pytest.raises(ValueError, match='edge'):
        ResizeEdge(scale=10, edge='diagonal')
    packed = PackClsInputs()(
        dict(
            img=np.arange(24, dtype=np.uint8).reshape(2, 4, 3),
            gt_label=3,
            img_path='x.jpg',
            img_shape=(2, 4),
        )
    )
    assert packed['inputs'].shape == (3, 2, 4) and packed['inputs'].dtype == torch.uint8
    assert packed['inputs'][1, 0, 0] == 1
    assert packed['data_samples'].gt_label.tolist() == [3]
    assert packed['data_samples'].img_path == 'x.jpg'


def rank_indices(world_size, rank, epoch, dataset=tuple(range(10)), num_repeats=3):
    with mock.patch(
        'rtmdet_plus.datasets.repeat_aug_sampler.get_dist_info', return_value=(rank, world_size)
    ):
        sampler = RepeatAugSampler(list(dataset), num_repeats=num_repeats, seed=0)
    sampler.set_epoch(epoch)
    assert len(sampler) == -(-len(dataset) // world_size)
    return list(sampler)


def test_repeat_aug_sampler_one_rank_sees_each_image_three_times_in_a_row():
    indices = rank_indices(1, 0, epoch=1)
    assert len(indices) == 10
    assert all(indices[i] == indices[i + 1] == indices[i + 2] for i in (0, 3, 6))
    assert len(set(indices)) == 4
    assert rank_indices(1, 0, epoch=2) != indices  # reshuffled each epoch


def test_repeat_aug_sampler_three_ranks_see_the_same_images():
    """With as many ranks as repeats, the three copies of an image go to the three ranks."""
    per_rank = [rank_indices(3, rank, epoch=1) for rank in range(3)]
    assert per_rank[0] == per_rank[1] == per_rank[2]
    assert len(set(per_rank[0])) == len(per_rank[0]) == 4


def test_repeat_aug_sampler_two_ranks_share_the_repeated_list():
    per_rank = [rank_indices(2, rank, epoch=0) for rank in range(2)]
    dealt = Counter(per_rank[0] + per_rank[1])
    assert sum(dealt.values()) == 10 and max(dealt.values()) <= 3
    assert len(dealt) >= 10 // 3


def test_generated_shape_classification_folders_read_as_imagenet(tmp_path):
    """tools/misc/generate_shapes_dataset.py --task cls: one shape per image in class folders,
    which ImageNet reads with the chosen classes as labels."""

    from tests.helpers import run_tool

    repo = REPO
    log = run_tool(
        [
            repo / 'tools/misc/generate_shapes_dataset.py',
            tmp_path / 'cls',
            '--task',
            'cls',
            '--img-size',
            '48',
            '--num-train',
            '12',
            '--num-val',
            '6',
            '--classes',
            'ellipse',
            'star',
        ],
        cwd=tmp_path,
    )
    assert 'wrote 12 train and 6 val images of 48x48 (ellipse, star)' in log
    for split, count in (('train', 12), ('val', 6)):
        dataset = ImageNet(data_root=str(tmp_path / 'cls'), data_prefix=split, lazy_init=False)
        assert dataset.metainfo['classes'] == ('ellipse', 'star') and len(dataset) == count
        image = mmcv.imread(dataset.get_data_info(0)['img_path'])
        assert image.shape == (48, 48, 3) and image.std() > 0  # a shape drawn on the background
