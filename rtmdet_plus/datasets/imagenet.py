"""ImageNet-style classification datasets: class folders or annotation lists.

Layouts (``data_root`` joined with ``data_prefix`` and ``ann_file``):

- folders: ``<data_prefix>/<class name>/<image>``, classes are the sorted folder names (or
  ``metainfo['classes']``, which must then name every folder);
- list: ``ann_file`` lines ``<image path relative to data_prefix> <class index>`` (ImageNet's
  ``meta/train.txt`` / ``meta/val.txt``); class names from ``metainfo['classes']``, else the
  indices as names.

Each item: ``img_path`` and ``gt_label`` (int).
"""

import os
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset

from rtmdet_plus.registry import DATASETS

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')
NUM_IMAGENET_CLASSES = 1000


class ClassificationAnnotationError(ValueError):
    """A malformed annotation list or an inconsistent folder layout, naming the file and line."""


@DATASETS.register_module()
class ImageNet(BaseDataset):
    """Args as mmpretrain's ``ImageNet``: ``data_root``, ``ann_file`` ('' for the folder
    layout), ``data_prefix`` (folder of the images, a str or ``dict(img_path=...)``),
    ``metainfo`` (``classes``), ``pipeline``, ``test_mode``."""

    def __init__(
        self,
        data_root: str = '',
        ann_file: str = '',
        data_prefix='',
        metainfo: Optional[dict] = None,
        **kwargs,
    ) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs,
        )

    def _join_prefix(self) -> None:
        # data_root joins ann_file and data_prefix as in mmengine, but an empty ann_file stays
        # empty (the folder layout) instead of becoming data_root itself.
        ann_file = self.ann_file
        super()._join_prefix()
        if not ann_file:
            self.ann_file = ''

    @property
    def image_folder(self) -> str:
        return self.data_prefix['img_path']

    def load_data_list(self) -> List[dict]:
        if not osp.isdir(self.image_folder):
            raise FileNotFoundError(
                f"ImageNet image folder '{self.image_folder}' does not exist: check data_root "
                'and data_prefix in the config'
            )
        if self.ann_file:
            return self._load_list()
        return self._load_folders()

    def _classes(self, count: int) -> tuple:
        classes = self._metainfo.get('classes')
        if classes is None:
            classes = tuple(str(i) for i in range(count))
            self._metainfo['classes'] = classes
        return tuple(classes)

    def _load_folders(self) -> List[dict]:
        folders = sorted(
            d for d in os.listdir(self.image_folder) if osp.isdir(osp.join(self.image_folder, d))
        )
        if not folders:
            raise ClassificationAnnotationError(
                f"no class folders in '{self.image_folder}': expected <class name>/<image> "
                'folders, or give ann_file (a list of "<image> <class index>" lines)'
            )
        classes = self._metainfo.get('classes')
        if classes is None:
            self._metainfo['classes'] = classes = tuple(folders)
        unknown = [d for d in folders if d not in classes]
        if unknown:
            raise ClassificationAnnotationError(
                f"class folders {unknown[:5]} in '{self.image_folder}' are not among the "
                f"dataset's classes {tuple(classes)[:5]}...: fix metainfo['classes'] or the folders"
            )
        data_list = []
        for folder in folders:
            label = list(classes).index(folder)
            for root, _, files in sorted(os.walk(osp.join(self.image_folder, folder))):
                for name in sorted(files):
                    if name.lower().endswith(IMAGE_EXTENSIONS):
                        data_list.append(dict(img_path=osp.join(root, name), gt_label=label))
        if not data_list:
            raise ClassificationAnnotationError(f"no images under '{self.image_folder}'")
        return data_list

    def _load_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f"annotation list '{self.ann_file}' does not exist: check "
                'data_root and ann_file in the config'
            )
        entries = []
        with open(self.ann_file, encoding='utf-8') as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                parts = line.rsplit(maxsplit=1)
                if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                    raise ClassificationAnnotationError(
                        f"{self.ann_file}, line {number}: expected '<image path> <class index>', "
                        f'got {line.strip()!r}'
                    )
                entries.append((number, parts[0], int(parts[1])))
        if not entries:
            raise ClassificationAnnotationError(f"annotation list '{self.ann_file}' is empty")
        default_count = max(NUM_IMAGENET_CLASSES, max(label for _, _, label in entries) + 1)
        classes = self._classes(default_count)
        data_list = []
        for number, path, label in entries:
            if not 0 <= label < len(classes):
                raise ClassificationAnnotationError(
                    f'{self.ann_file}, line {number}: class index {label} outside the '
                    f'{len(classes)} classes'
                )
            data_list.append(dict(img_path=osp.join(self.image_folder, path), gt_label=label))
        return data_list
