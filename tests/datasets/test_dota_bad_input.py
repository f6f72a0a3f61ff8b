"""Bad DOTA labels: each gives an error, or a warning and a left-out object, that names the file
and the line."""

import re

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from rtmdet_plus.datasets import DOTALabelError, DOTALabelWarning
from rtmdet_plus.registry import DATASETS

GOOD = '10 10 30 10 30 20 10 20 plane 0\n'


def make_dataset(root, label_text, with_image: bool = True, pipeline=()):
    """A DOTA dataset of one image P0007 whose label file holds ``label_text`` (str or bytes)."""
    (root / 'images').mkdir()
    (root / 'labelTxt').mkdir()
    if with_image:
        cv2.imwrite(str(root / 'images' / 'P0007.png'), np.zeros((32, 32, 3), np.uint8))
    label_file = root / 'labelTxt' / 'P0007.txt'
    if isinstance(label_text, bytes):
        label_file.write_bytes(label_text)
    else:
        label_file.write_text(label_text)
    return DATASETS.build(
        dict(
            type='DOTADataset',
            data_root=str(root),
            ann_file='labelTxt/',
            data_prefix=dict(img_path='images/'),
            pipeline=list(pipeline),
        )
    )


def names_file_and_line(message: str, line_no: int) -> bool:
    return re.search(rf'P0007\.txt, line {line_no}\b', message) is not None


@pytest.mark.parametrize(
    'line',
    [
        '10 10 30 10 30 20 10 20 plane 0 extra\n',  # 11 fields
        '10 10 30 10 30 20 10 plane 0\n',  # 9 fields, one coordinate missing: 'plane' is no number
        '10 10 30 10 30 20\n',  # 6 fields
    ],
)
def test_wrong_number_of_fields(tmp_path, line):
    with pytest.raises(DOTALabelError) as error:
        make_dataset(tmp_path, GOOD + line)
    assert names_file_and_line(str(error.value), 2), error.value


def test_non_numeric_coordinates(tmp_path):
    with pytest.raises(DOTALabelError, match='must be numbers') as error:
        make_dataset(tmp_path, GOOD + GOOD + '10 10 3O 10 30 20 10 20 plane 0\n')
    assert names_file_and_line(str(error.value), 3), error.value


def test_non_finite_coordinates(tmp_path):
    with pytest.raises(DOTALabelError, match='finite') as error:
        make_dataset(tmp_path, '10 nan 30 10 30 20 10 20 plane 0\n')
    assert names_file_and_line(str(error.value), 1), error.value


def test_non_integer_difficulty(tmp_path):
    with pytest.raises(DOTALabelError, match='difficulty') as error:
        make_dataset(tmp_path, '10 10 30 10 30 20 10 20 plane hard\n')
    assert names_file_and_line(str(error.value), 1), error.value


def test_self_intersecting_quad_is_left_out_with_a_warning(tmp_path):
    bow_tie = '10 10 30 20 30 10 10 20 plane 0\n'  # corners 2 and 3 swapped
    with pytest.warns(DOTALabelWarning, match='self-intersecting') as record:
        dataset = make_dataset(tmp_path, GOOD + bow_tie)
    assert any(names_file_and_line(str(w.message), 2) for w in record)
    assert len(dataset.get_data_info(0)['instances']) == 1


@pytest.mark.parametrize(
    'quad',
    [
        '10 10 30 10 50 10 20 10',  # collinear corners
        '5 5 5 5 5 5 5 5',
    ],
)  # a point
def test_zero_area_quad_is_left_out_with_a_warning(tmp_path, quad):
    with pytest.warns(DOTALabelWarning, match='zero-area') as record:
        dataset = make_dataset(tmp_path, f'{quad} ship 0\n' + GOOD)
    assert any(names_file_and_line(str(w.message), 1) for w in record)
    instances = dataset.get_data_info(0)['instances']
    assert [inst['bbox_label'] for inst in instances] == [0]


def test_unknown_class_name(tmp_path):
    with pytest.raises(DOTALabelError, match="unknown class 'spaceship'") as error:
        make_dataset(tmp_path, GOOD + '10 10 30 10 30 20 10 20 spaceship 0\n')
    assert names_file_and_line(str(error.value), 2), error.value
    assert 'metainfo' in str(error.value)  # says what to do


def test_label_file_whose_image_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        make_dataset(tmp_path, GOOD, with_image=False)
    message = str(error.value)
    assert 'P0007.txt' in message and 'P0007.png' in message and 'img_suffix' in message


def test_empty_label_folder(tmp_path):
    (tmp_path / 'labelTxt').mkdir()
    with pytest.raises(FileNotFoundError, match='no .txt label file'):
        DATASETS.build(
            dict(
                type='DOTADataset',
                data_root=str(tmp_path),
                ann_file='labelTxt/',
                data_prefix=dict(img_path='images/'),
                pipeline=[],
            )
        )


def test_label_file_that_is_not_utf8_text(tmp_path):
    with pytest.raises(DOTALabelError, match='not UTF-8') as error:
        make_dataset(tmp_path, GOOD.encode() + b'10 10 30 10 30 20 10 20 pl\xffane 0\n')
    assert names_file_and_line(str(error.value), 2), error.value


def test_corrupt_image_of_a_label_file_names_the_image(tmp_path):
    init_default_scope('rtmdet_plus')
    dataset = make_dataset(tmp_path, GOOD, pipeline=[dict(type='LoadImageFromFile')])
    (tmp_path / 'images' / 'P0007.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match=r'P0007\.png') as error:
        dataset[0]
    assert 'could not be decoded' in str(error.value)
