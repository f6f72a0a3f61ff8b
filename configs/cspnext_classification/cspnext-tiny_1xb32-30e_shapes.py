# CSPNeXt-tiny classifier trained from scratch on generated shapes (one light grey ellipse,
# rectangle, triangle or star on a dark grey texture per 64x64 image, 800 train / 200 val;
# generate with
#   python tools/misc/generate_shapes_dataset.py data/shapes_cls --task cls --img-size 64)
# on the CPU in a few minutes: the learning test (tests/test_classification_learning.py).
# The RSB recipe reduced to that budget: random resized crop (50-100 % of the image), flip,
# RandAugment at level 5, label smoothing 0.1, Mixup/CutMix on a fifth of the batches each,
# LAMB lr 0.003 (0.01 did not learn here) with a 1-epoch warm-up then cosine over 30 epochs,
# batch 32, the default sampler (repeated augmentation would show one process a third of the
# images per epoch).
_base_ = './cspnext-tiny_8xb256-rsb-a1-600e_in1k.py'

data_root = 'data/shapes_cls/'
classes = ('ellipse', 'rectangle', 'triangle', 'star')
metainfo = dict(classes=classes)
img_size = 64
max_epochs = 30
base_lr = 0.003

model = dict(
    head=dict(num_classes=len(classes), topk=(1,)),
    train_cfg=dict(
        augments=[dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)], probs=[0.2, 0.2]
    ),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=5,
        magnitude_std=0.5,
        hparams=dict(pad_val=[round(x) for x in _base_.bgr_mean], interpolation='bilinear'),
    ),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackClsInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        ann_file='',
        data_prefix='train',
        metainfo=metainfo,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=50,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='',
        data_prefix='val',
        metainfo=metainfo,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1,))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=base_lr * 0.01,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1)
)
randomness = dict(seed=0)
