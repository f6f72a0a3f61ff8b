# RTMDet's COCO data (rtmdet_data_640.py) at 1280x1280, for the P6 models (outputs at strides
# 8/16/32/64): every image size of the 640 recipe doubled (Mosaic/MixUp canvases, crops, pads,
# resizes; scale jitter around 2560 in stage 1, 1280 in stage 2), 20 loader workers, and the TTA
# around the 1280 input (640 / 1280 / 1920). The configs set their own batch sizes.
_base_ = './rtmdet_data_640.py'

train_pipeline = [
    *_base_.train_pipeline[:2],  # LoadImageFromFile, LoadAnnotations
    dict(_base_.train_pipeline[2], img_scale=(1280, 1280)),  # CachedMosaic
    dict(_base_.train_pipeline[3], scale=(2560, 2560)),  # RandomResize, 0.1-2x
    dict(_base_.train_pipeline[4], crop_size=(1280, 1280)),  # RandomCrop
    *_base_.train_pipeline[5:7],  # YOLOXHSVRandomAug, RandomFlip
    dict(_base_.train_pipeline[7], size=(1280, 1280)),  # Pad
    dict(_base_.train_pipeline[8], img_scale=(1280, 1280)),  # CachedMixUp
    _base_.train_pipeline[9],  # PackDetInputs
]
train_pipeline_stage2 = [
    *_base_.train_pipeline_stage2[:2],  # LoadImageFromFile, LoadAnnotations
    dict(_base_.train_pipeline_stage2[2], scale=(1280, 1280)),  # RandomResize, 0.1-2x
    dict(_base_.train_pipeline_stage2[3], crop_size=(1280, 1280)),  # RandomCrop
    *_base_.train_pipeline_stage2[4:6],  # YOLOXHSVRandomAug, RandomFlip
    dict(_base_.train_pipeline_stage2[6], size=(1280, 1280)),  # Pad
    _base_.train_pipeline_stage2[7],  # PackDetInputs
]
test_pipeline = [
    _base_.test_pipeline[0],  # LoadImageFromFile
    dict(_base_.test_pipeline[1], scale=(1280, 1280)),  # Resize
    dict(_base_.test_pipeline[2], size=(1280, 1280)),  # Pad
    *_base_.test_pipeline[3:],  # LoadAnnotations, PackDetInputs
]

train_dataloader = dict(num_workers=20, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=20, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Test-time augmentation around the 1280 input: rtmdet_tta.py's at these scales, padded to 1920.
img_scales = [(1280, 1280), (640, 640), (1920, 1920)]
tta_pipeline = [
    _base_.tta_pipeline[0],  # LoadImageFromFile
    dict(
        _base_.tta_pipeline[1],  # TestTimeAug
        transforms=[
            [dict(type='Resize', scale=scale, keep_ratio=True) for scale in img_scales],
            _base_.tta_pipeline[1].transforms[1],  # flipped and not, before the Pad
            [dict(type='Pad', size=(1920, 1920), pad_val=dict(img=(114, 114, 114)))],
            *_base_.tta_pipeline[1].transforms[3:],  # LoadAnnotations, PackDetInputs
        ],
    ),
]
