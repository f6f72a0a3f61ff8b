# COCO 2017 detection: where the data lie, how batches are sampled, how results are scored.
#
# Pipelines, batch sizes and worker counts belong to the training recipe that inherits this
# file (e.g. configs/rtmdet/rtmdet_l_8xb32-300e_coco.py), which sets ``dataset.pipeline``.
# Expected layout under ``data_root``:
#   annotations/instances_{train,val}2017.json, train2017/*.jpg, val2017/*.jpg
dataset_type = 'CocoDataset'
data_root = 'data/coco/'

# File I/O backend for images and annotation files; None reads the local disk. For object
# storage, e.g. dict(backend='petrel', path_mapping={'data/': 's3://bucket/datasets/'}).
backend_args = None

train_dataloader = dict(
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        backend_args=backend_args,
    ),
)
val_dataloader = dict(
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        backend_args=backend_args,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args,
)
test_evaluator = val_evaluator
