# RTMDet-tiny trained from scratch on the generated shapes dataset, on the CPU, in minutes.
# It is the base of the shapes recipes: tools/demo.py and the slow learning test use the longer
# rtmdet_tiny_1xb4-20e_shapes.py, the learning test under `make test` the 160-pixel
# rtmdet_tiny_1xb8-24e_shapes.py.
#
# Dataset: 400 train / 100 val images of 192x192, 1-5 filled shapes of 4 classes on textured
# backgrounds, overlapping (see rtmdet_plus/datasets/shapes.py). ``shapes_dataset`` holds the
# generator settings (rtmdet_plus.datasets.ShapesConfig); generate it with
#   python tools/misc/generate_shapes_dataset.py data/shapes  (its defaults are these settings)
# Recipe, changed from RTMDet-tiny's COCO recipe for a few minutes on 2 CPU cores:
# - no ImageNet-pretrained backbone (offline), BN instead of SyncBN (one process);
# - input 192 (the images' size), random flip only: no Mosaic/MixUp/large-scale jitter, no
#   stage-2 pipeline switch;
# - batch 4, AdamW lr 0.003 (at batch 8, lr 0.004 beat 0.002 and 0.008; batch 8 learnt faster
#   per image than 16), 1-epoch (100-iteration) linear warm-up, then cosine to 5 % of the lr;
#   EMA of the weights as in the recipe;
# - data loading in the main process (workers would compete with torch for the 2 cores);
# - validation (COCO bbox mAP with pycocotools) once, after the last epoch.
# Measured val bbox mAP after the 12 epochs (1200 iterations, ~0.27 s each on 2 idle cores):
# 0.378 (randomness seed 0) and 0.298 (seed 1): runs spread widely and 12 epochs stay below
# 0.5. A run of nearly the 20-epoch schedule (60-iteration warm-up, cosine over 2000
# iterations) had 0.477 / 0.595 / 0.605 after 1000 / 1200 / 1400 iterations.
_base_ = './rtmdet_tiny_8xb32-300e_coco.py'

data_root = 'data/shapes/'
classes = ('ellipse', 'rectangle', 'triangle', 'star')
shapes_dataset = dict(img_size=192, num_train=400, num_val=100, classes=classes, seed=0)
metainfo = dict(
    classes=classes, palette=[(220, 20, 60), (0, 120, 255), (0, 170, 70), (250, 170, 0)]
)

img_scale = (192, 192)
train_batch_size = 4
max_epochs = 12
warmup_epochs = 1
base_lr = 0.003

norm_cfg = dict(type='BN')
model = dict(
    backbone=dict(norm_cfg=norm_cfg, init_cfg=None),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(num_classes=len(classes), norm_cfg=norm_cfg),
    test_cfg=dict(max_per_img=100),
)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'),
    ),
]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs
)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    # linear warm-up over the first epoch, stepped per iteration
    dict(
        _base_.param_scheduler[0],
        start_factor=1.0e-3,
        by_epoch=True,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    # then the base's cosine from there to the last epoch, down to 5 % of this lr
    dict(
        _base_.param_scheduler[1],
        eta_min=base_lr * 0.05,
        begin=warmup_epochs,
        end=max_epochs,
        T_max=max_epochs - warmup_epochs,
    ),
]

default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1)
)
custom_hooks = [_base_.custom_hooks[0]]  # EMAHook; no pipeline switch
log_processor = dict(window_size=10)
randomness = dict(seed=0)
