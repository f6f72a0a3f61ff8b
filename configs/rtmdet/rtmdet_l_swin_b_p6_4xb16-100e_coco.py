# RTMDet-l-Swin-B P6: a fifth Swin stage (outputs at strides 8/16/32/64, 2048 channels at 64),
# trained and tested at 1280x1280 on 4 GPUs x 16. Published: 56.4 box AP at 1280.
_base_ = './rtmdet_l_swin_b_4xb32-100e_coco.py'

model = dict(
    backbone=dict(
        depths=[2, 2, 18, 2, 1],
        num_heads=[4, 8, 16, 32, 64],
        strides=(4, 2, 2, 2, 2),
        out_indices=(1, 2, 3, 4)),
    neck=dict(in_channels=[256, 512, 1024, 2048]),
    bbox_head=dict(
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32, 64])))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CachedMosaic', img_scale=(1280, 1280), pad_val=114.0),
    dict(type='RandomResize', scale=(2560, 2560), ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(1280, 1280)),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=(1280, 1280), pad_val=dict(img=(114, 114, 114))),
    dict(
        type='CachedMixUp',
        img_scale=(1280, 1280),
        ratio_range=(1.0, 1.0),
        max_cached_images=20,
        pad_val=(114, 114, 114)),
    dict(type='PackDetInputs'),
]
train_pipeline_stage2 = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(1280, 1280), ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(1280, 1280)),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=(1280, 1280), pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=(1280, 1280), keep_ratio=True),
    dict(type='Pad', size=(1280, 1280), pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(batch_size=16, num_workers=20, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=20, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=train_pipeline_stage2),  # PipelineSwitchHook
]

# Test-time augmentation around the 1280 input.
img_scales = [(1280, 1280), (640, 640), (1920, 1920)]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=scale, keep_ratio=True) for scale in img_scales],
            # Flip before Pad: the flip must see the unpadded image for its boxes to map back.
            [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
            [dict(type='Pad', size=(1920, 1920), pad_val=dict(img=(114, 114, 114)))],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [
                dict(
                    type='PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                               'scale_factor', 'flip', 'flip_direction'))
            ],
        ])
]
