"""Bad-input tests' helpers: a COCO dataset config over a copy of the small shapes dataset
(conftest's ``dataset_copy``), and editing its train annotation file."""

import json
from pathlib import Path

from mmengine.registry import init_default_scope

from tests.helpers import SMALL_SHAPES


def dataset_cfg(root: Path, ann_file: str = 'annotations/instances_train.json', **kwargs):
    """A ``CocoDataset`` config over ``root``'s train split (boxes only), ``kwargs`` added."""
    init_default_scope('rtmdet_plus')
    return dict(
        type='CocoDataset',
        data_root=str(root),
        ann_file=ann_file,
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=SMALL_SHAPES.classes),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs'),
        ],
        **kwargs,
    )


def rewrite_annotations(root: Path, edit) -> None:
    """Apply ``edit`` (a function changing the COCO dict in place) to the train annotations."""
    path = root / 'annotations/instances_train.json'
    coco = json.loads(path.read_text())
    edit(coco)
    path.write_text(json.dumps(coco))
