# RTMDet-R l, single-scale DOTA, 100 epochs with strong augmentation: cached Mosaic and MixUp
# with 0.1-2x scale jitter and random rotation for 90 epochs, then 10 epochs without Mosaic and
# MixUp (PipelineSwitchHook); cosine lr over the second half.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/schedule_3x.py',
    './_base_/dota_rr.py',
    './_base_/rotated_rtmdet_l.py',
]

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='CachedMosaic', img_scale=(1024, 1024), pad_val=114.0),
    dict(
        type='RandomResize',
        resize_type='Resize',
        scale=(2048, 2048),
        ratio_range=(0.1, 2.0),
        keep_ratio=True,
    ),
    dict(type='RandomRotate', prob=0.5, angle_range=180, rect_obj_labels=[9, 11]),
    dict(type='RandomCrop', crop_size=(1024, 1024)),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.75, direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='Pad', size=(1024, 1024), pad_val=dict(img=(114, 114, 114))),
    dict(
        type='CachedMixUp',
        img_scale=(1024, 1024),
        ratio_range=(1.0, 1.0),
        max_cached_images=20,
        pad_val=(114, 114, 114),
    ),
    dict(type='PackDetInputs'),
]

# Stage 2: the same without Mosaic and MixUp, scale jitter around the 1024 input
train_pipeline_stage2 = [
    dict(t, scale=(1024, 1024)) if t['type'] == 'RandomResize' else t
    for t in train_pipeline
    if t['type'] not in ('CachedMosaic', 'CachedMixUp')
]

# batch_size = (2 GPUs) x (4 samples per GPU) = 8
train_dataloader = dict(batch_size=4, num_workers=4, dataset=dict(pipeline=train_pipeline))

max_epochs = 100
stage2_num_epochs = 10
interval = 20

train_cfg = dict(max_epochs=max_epochs, val_interval=interval)
param_scheduler = [
    _base_.param_scheduler[0],  # linear warm-up
    dict(
        _base_.param_scheduler[1],  # cosine from epoch 50 to 100
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
    ),
]

# The runtime's hooks (NumClassCheckHook, EMAHook), then the switch to stage 2.
custom_hooks = [
    *_base_.custom_hooks,
    dict(
        type='PipelineSwitchHook',
        switch_epoch=max_epochs - stage2_num_epochs,
        switch_pipeline=train_pipeline_stage2,
    ),
]
