"""DOTA datasets (v1.0, v1.5, v2.0) read from ``labelTxt`` folders, under mmrotate 1.x's names.

``ann_file`` is a *folder* of ``<image id>.txt`` label files (or '' to list the images of
``data_prefix['img_path']`` with no labels, for the test split). Each object becomes an instance
``bbox`` (8 corner coordinates: load it with ``LoadAnnotations(box_type='qbox')`` and turn it
into a rotated box with ``ConvertBoxType``), ``bbox_label`` (0-based) and ``ignore_flag``
(difficulty above ``diff_thr``). See :mod:`.dota_labels` for the handling of bad lines.
"""

import glob
import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset

from ..registry import DATASETS
from .bad_samples import BadSampleMixin
from .dota_labels import class_index, read_label_file

DOTA_V1_CLASSES = (
    'plane',
    'baseball-diamond',
    'bridge',
    'ground-track-field',
    'small-vehicle',
    'large-vehicle',
    'ship',
    'tennis-court',
    'basketball-court',
    'storage-tank',
    'soccer-ball-field',
    'roundabout',
    'harbor',
    'swimming-pool',
    'helicopter',
)
DOTA_V15_CLASSES = DOTA_V1_CLASSES + ('container-crane',)
DOTA_V2_CLASSES = DOTA_V15_CLASSES + ('airport', 'helipad')

DOTA_PALETTE = [
    (165, 42, 42),
    (189, 183, 107),
    (0, 255, 0),
    (255, 0, 0),
    (138, 43, 226),
    (255, 128, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 193, 193),
    (0, 51, 153),
    (255, 250, 205),
    (0, 139, 139),
    (255, 255, 0),
    (147, 116, 116),
    (0, 0, 255),
    (220, 20, 60),
    (119, 11, 32),
    (0, 0, 142),
]


@DATASETS.register_module()
class DOTADataset(BadSampleMixin, BaseDataset):
    """DOTA v1.0: 15 classes. Bad training samples are reported (``on_bad_sample``:
    :mod:`.bad_samples`).

    Args:
        diff_thr: objects with a difficulty above this are kept with ``ignore_flag=1``.
        img_suffix: image file extension, without the dot.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``ann_file`` is the label
            folder, ``data_prefix=dict(img_path=...)`` the image folder, ``filter_cfg=
            dict(filter_empty_gt=True)`` drops images without objects outside test mode).

    Raises:
        FileNotFoundError: the label folder holds no ``.txt`` file, or a label file's image is
            missing.
        DOTALabelError: a label line cannot be read (names the file and line).
    """

    METAINFO = {'classes': DOTA_V1_CLASSES, 'palette': DOTA_PALETTE[: len(DOTA_V1_CLASSES)]}

    def __init__(self, diff_thr: int = 100, img_suffix: str = 'png', **kwargs) -> None:
        self.diff_thr = diff_thr
        self.img_suffix = img_suffix.lstrip('.')
        super().__init__(**kwargs)

    def _image_path(self, img_id: str) -> str:
        return osp.join(self.data_prefix.get('img_path', ''), f'{img_id}.{self.img_suffix}')

    def _load_images_only(self) -> List[dict]:
        img_dir = self.data_prefix.get('img_path', '')
        img_paths = sorted(glob.glob(osp.join(img_dir, f'*.{self.img_suffix}')))
        if not img_paths:
            raise FileNotFoundError(
                f'no *.{self.img_suffix} image in {img_dir!r} (ann_file is '
                "'' so the images are listed from data_prefix['img_path'])"
            )
        data_list = []
        for img_path in img_paths:
            file_name = osp.basename(img_path)
            data_list.append(
                dict(
                    img_path=img_path,
                    file_name=file_name,
                    img_id=osp.splitext(file_name)[0],
                    instances=[],
                )
            )
        return data_list

    def load_data_list(self) -> List[dict]:
        """One dict per image: img_path, file_name, img_id, instances."""
        if self.ann_file == '':
            return self._load_images_only()
        txt_files = sorted(glob.glob(osp.join(self.ann_file, '*.txt')))
        if not txt_files:
            raise FileNotFoundError(
                f'no .txt label file in {self.ann_file!r}: ann_file must be '
                "a folder of DOTA labelTxt files (or '' for images only)"
            )
        classes = self.metainfo['classes']
        labels = class_index(classes)
        data_list = []
        for txt_file in txt_files:
            img_id = osp.splitext(osp.basename(txt_file))[0]
            img_path = self._image_path(img_id)
            if not osp.isfile(img_path):
                raise FileNotFoundError(
                    f'{txt_file}: its image {img_path!r} does not exist; check '
                    f"data_prefix=dict(img_path=...) and img_suffix={self.img_suffix!r}, or "
                    'remove the label file'
                )
            instances = [
                dict(
                    bbox=obj.quad.tolist(),
                    bbox_label=labels[obj.class_name],
                    ignore_flag=int(obj.difficulty > self.diff_thr),
                )
                for obj in read_label_file(txt_file, classes)
            ]
            data_list.append(
                dict(
                    img_path=img_path,
                    file_name=osp.basename(img_path),
                    img_id=img_id,
                    instances=instances,
                )
            )
        return data_list

    def filter_data(self) -> List[dict]:
        """Drop images without objects when ``filter_cfg.filter_empty_gt`` (not in test mode)."""
        if self.test_mode or not (self.filter_cfg or {}).get('filter_empty_gt', False):
            return self.data_list
        return [info for info in self.data_list if info['instances']]

    def get_cat_ids(self, idx: int) -> List[int]:
        """Labels of the objects of image ``idx``."""
        return [instance['bbox_label'] for instance in self.get_data_info(idx)['instances']]


@DATASETS.register_module()
class DOTAv15Dataset(DOTADataset):
    """DOTA v1.5: the v1.0 classes and 'container-crane'."""

    METAINFO = {'classes': DOTA_V15_CLASSES, 'palette': DOTA_PALETTE[: len(DOTA_V15_CLASSES)]}


@DATASETS.register_module()
class DOTAv2Dataset(DOTADataset):
    """DOTA v2.0: the v1.5 classes, 'airport' and 'helipad'."""

    METAINFO = {'classes': DOTA_V2_CLASSES, 'palette': DOTA_PALETTE[: len(DOTA_V2_CLASSES)]}
