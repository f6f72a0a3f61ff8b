# RTMDet-Ins-tiny: depth x0.167, width x0.375, ImageNet-pretrained CSPNeXt-tiny backbone. Inherits
# RTMDet-Ins-s's recipe with smaller Mosaic/MixUp caches read in order (random_pop=False), MixUp
# on half of the images and a plain crop; the stage-2 pipeline is RTMDet-Ins-s's.
_base_ = './rtmdet-ins_s_8xb32-300e_coco.py'

model = dict(
    backbone=dict(
        deepen_factor=0.167,
        widen_factor=0.375,
        init_cfg=dict(
            checkpoint='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/'
            'cspnext_rsb_pretrain/cspnext-tiny_imagenet_600e.pth'
        ),
    ),
    neck=dict(in_channels=[96, 192, 384], out_channels=96, num_csp_blocks=1),
    bbox_head=dict(in_channels=96, feat_channels=96),
)

# RTMDet-Ins-s's stage-1 pipeline with the smaller caches read in order, MixUp on half the
# images and a plain crop (RandomCrop's defaults: boxes not recomputed from the masks, crops
# without objects rejected)
train_pipeline = [
    dict(t, max_cached_images=20, random_pop=False)
    if t['type'] == 'CachedMosaic'
    else dict(t, max_cached_images=10, random_pop=False, prob=0.5)
    if t['type'] == 'CachedMixUp'
    else dict(type='RandomCrop', crop_size=t['crop_size'])
    if t['type'] == 'RandomCrop'
    else t
    for t in _base_.train_pipeline
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
