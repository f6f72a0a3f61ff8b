"""tools/dataset_converters/dota_split.py on a generated 2000x1500 image with a few labels:
windows and patch names, patch pixels, objects per patch (shifted, truncated, clipped), the
multi-scale windows, and the round trip split -> DOTADataset -> merge back to the full image."""

import importlib.util

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from rtmdet_plus.datasets.dota_labels import read_label_file
from rtmdet_plus.evaluation import merge_patch_detections
from rtmdet_plus.registry import DATASETS
from rtmdet_plus.structures.bbox import qbox2rbox
from tests import REPO

SCRIPT = REPO / 'tools' / 'dataset_converters' / 'dota_split.py'
W, H = 2000, 1500


def load_tool():
    spec = importlib.util.spec_from_file_location('dota_split', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dota_split = load_tool()


def rect(x1, y1, x2, y2):
    return [x1, y1, x2, y1, x2, y2, x1, y2]


OBJECTS = {
    'inside_first': (rect(100, 100, 200, 150), 'plane', 0),  # only in windows at x 0, y 0
    'in_overlap': (rect(850, 300, 950, 340), 'ship', 1),  # x overlap of windows 0 and 824
    'mostly_in': (rect(960, 1400, 1060, 1440), 'harbor', 0),  # 64 % inside window x 0
    'bottom_right': (rect(1900, 1400, 1980, 1480), 'plane', 0),
}


@pytest.fixture(scope='module')
def full_image(tmp_path_factory):
    root = tmp_path_factory.mktemp('dota_full')
    (root / 'images').mkdir()
    (root / 'labelTxt').mkdir()
    ys, xs = np.mgrid[0:H, 0:W]
    img = np.stack([xs % 251, ys % 241, (xs // 7 + ys // 5) % 256], axis=-1).astype(np.uint8)
    cv2.imwrite(str(root / 'images' / 'P0001.png'), img)
    lines = ['imagesource:GoogleEarth', 'gsd:0.5']
    lines += [' '.join(map(str, quad)) + f' {name} {diff}' for quad, name, diff in OBJECTS.values()]
    (root / 'labelTxt' / 'P0001.txt').write_text('\n'.join(lines) + '\n')
    return root, img


def run_split(full_root, save_dir, *extra):
    return dota_split.main(
        [
            '--img-dirs',
            str(full_root / 'images'),
            '--ann-dirs',
            str(full_root / 'labelTxt'),
            '--save-dir',
            str(save_dir),
            *extra,
        ]
    )


def test_sliding_windows():
    windows = dota_split.sliding_windows(W, H, [1024], [200])
    assert sorted(map(tuple, windows.tolist())) == sorted(
        (x, y, x + 1024, y + 1024) for x in (0, 824, 976) for y in (0, 476)
    )
    small = dota_split.sliding_windows(600, 500, [1024], [200])  # smaller than one window
    assert small.tolist() == [[0, 0, 1024, 1024]]


@pytest.fixture(scope='module')
def split_single(full_image, tmp_path_factory):
    full_root, img = full_image
    save_dir = tmp_path_factory.mktemp('split') / 'out'
    count = run_split(full_root, save_dir, '--sizes', '1024', '--gaps', '200')
    return save_dir, img, count


def test_patches_names_and_pixels(split_single, capsys):
    save_dir, img, count = split_single
    names = sorted(p.stem for p in (save_dir / 'images').glob('*.png'))
    assert count == 6
    assert names == sorted(f'P0001__1024__{x}___{y}' for x in (0, 824, 976) for y in (0, 476))
    assert sorted(p.stem for p in (save_dir / 'annfiles').glob('*.txt')) == names
    patch = cv2.imread(str(save_dir / 'images' / 'P0001__1024__976___476.png'))
    np.testing.assert_array_equal(patch, img[476:1500, 976:2000])


def test_objects_are_shifted_truncated_and_filtered(split_single):
    save_dir = split_single[0]
    first = read_label_file(str(save_dir / 'annfiles' / 'P0001__1024__0___0.txt'))
    # inside_first and in_overlap; mostly_in lies at y 1400 (window ends at 1024)
    assert [obj.class_name for obj in first] == ['plane', 'ship']
    np.testing.assert_allclose(first[0].quad, rect(100, 100, 200, 150))
    assert [obj.difficulty for obj in first] == [0, 1]
    second = read_label_file(str(save_dir / 'annfiles' / 'P0001__1024__824___0.txt'))
    assert [obj.class_name for obj in second] == ['ship']
    np.testing.assert_allclose(second[0].quad, rect(850 - 824, 300, 950 - 824, 340))
    # harbor: 64 % inside window (0, 476) -> dropped (iof 0.7); fully inside (824, 476)
    low_left = read_label_file(str(save_dir / 'annfiles' / 'P0001__1024__0___476.txt'))
    assert [obj.class_name for obj in low_left] == []
    low_mid = read_label_file(str(save_dir / 'annfiles' / 'P0001__1024__824___476.txt'))
    assert [(obj.class_name, obj.difficulty) for obj in low_mid] == [('harbor', 0)]
    np.testing.assert_allclose(low_mid[0].quad, rect(960 - 824, 1400 - 476, 1060 - 824, 1440 - 476))


def test_truncated_objects_get_difficulty_2_and_can_be_clipped(full_image, tmp_path):
    full_root = full_image[0]
    run_split(full_root, tmp_path / 'a', '--iof-thr', '0.5')
    objects = read_label_file(str(tmp_path / 'a' / 'annfiles' / 'P0001__1024__0___476.txt'))
    assert [(obj.class_name, obj.difficulty) for obj in objects] == [('harbor', 2)]
    np.testing.assert_allclose(objects[0].quad, rect(960, 924, 1060, 964))  # whole outline
    run_split(full_root, tmp_path / 'b', '--iof-thr', '0.5', '--clip-objects')
    clipped = read_label_file(str(tmp_path / 'b' / 'annfiles' / 'P0001__1024__0___476.txt'))
    rbox = qbox2rbox(torch.from_numpy(clipped[0].quad)[None])[0]
    # the visible part: x 960..1024, y 924..964
    assert sorted(rbox[2:4].tolist()) == pytest.approx([40, 64], abs=1e-3)
    assert rbox[:2].tolist() == pytest.approx([992, 944], abs=1e-3)


def test_multi_scale_rates_use_larger_windows(full_image, tmp_path):
    count = run_split(
        full_image[0],
        tmp_path / 'ms',
        '--sizes',
        '1024',
        '--gaps',
        '200',
        '--rates',
        '1.0',
        '0.5',
        '--save-ext',
        '.jpg',
    )
    names = {p.stem for p in (tmp_path / 'ms' / 'images').glob('*.jpg')}
    assert count == 7 and 'P0001__2048__0___0' in names  # one 2048 window covers the image
    patch = cv2.imread(str(tmp_path / 'ms' / 'images' / 'P0001__2048__0___0.jpg'))
    assert patch.shape[:2] == (2048, 2048)  # padded
    assert len(
        read_label_file(str(tmp_path / 'ms' / 'annfiles' / 'P0001__2048__0___0.txt'))
    ) == len(OBJECTS)


def test_round_trip_through_dataset_and_merge(split_single):
    """Patch labels read by DOTADataset, shifted back by merge_patch_detections: every full-image
    object once, at its place."""
    save_dir = split_single[0]
    classes = ('plane', 'ship', 'harbor')
    pipeline = [
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    ]
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        dataset = DATASETS.build(
            dict(
                type='DOTADataset',
                data_root=str(save_dir),
                ann_file='annfiles/',
                data_prefix=dict(img_path='images/'),
                metainfo=dict(classes=classes),
                pipeline=pipeline,
            )
        )
        predictions = []
        for index in range(len(dataset)):
            results = dataset[index]
            boxes = results['gt_bboxes'].tensor.numpy()
            predictions.append(
                dict(
                    img_id=results['img_id'],
                    bboxes=boxes,
                    scores=np.ones(len(boxes), np.float32),
                    labels=results['gt_bboxes_labels'],
                )
            )
    merged = merge_patch_detections(predictions, len(classes), iou_thr=0.1)['P0001']
    expected = {name: [] for name in classes}
    for quad, name, _ in OBJECTS.values():
        expected[name].append(qbox2rbox(torch.tensor(quad, dtype=torch.float32)[None])[0])
    for label, name in enumerate(classes):
        got = sorted(merged[label][:, :2].tolist())
        want = sorted(box[:2].tolist() for box in expected[name])
        np.testing.assert_allclose(got, want, atol=1e-3)


def test_refuses_a_non_empty_save_dir(full_image, tmp_path):
    (tmp_path / 'old.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not empty'):
        run_split(full_image[0], tmp_path)


def test_missing_image_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        dota_split.main(
            ['--img-dirs', str(tmp_path / 'nowhere'), '--save-dir', str(tmp_path / 'out')]
        )
