# RTMDet-Ins-l on COCO: instance segmentation on the RTMDet-l detection recipe. The other
# Ins sizes inherit this file and change only widths/depths and augmentation strength.
#
# Model: RTMDet-l with RTMDetInsSepBNHead (prototype branch + dynamic-kernel masks, Dice loss;
# the assigner's centre prior uses mask centroids).
# Data: masks go through the whole pipeline as polygons (poly2mask=False: PolygonMasks, turned
# into bitmaps by the head), crops recompute the boxes from the masks, and objects smaller than
# 1x1 pixel after augmentation are dropped.
# Evaluation: COCO bbox and segm AP; post-processing keeps at most 100 instances per image.
_base_ = './rtmdet_l_8xb32-300e_coco.py'

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='RTMDetInsSepBNHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=2,
        share_conv=True,
        pred_kernel_size=1,
        feat_channels=256,
        act_cfg=dict(type='SiLU', inplace=True),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_mask=dict(type='DiceLoss', loss_weight=2.0, eps=5e-6, reduction='mean'),
    ),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100,
        mask_thr_binary=0.5,
    ),
)

# RTMDet-l's pipelines with polygon masks, boxes recomputed from the masks after the crop
# (crops without objects kept), and objects under 1x1 pixel dropped: in stage 1 (epochs 0-279)
# last before packing, in stage 2 (last 20 epochs, no Mosaic/MixUp) right after the crop.
__with_masks = dict(
    LoadAnnotations=dict(with_mask=True, poly2mask=False),
    RandomCrop=dict(recompute_bbox=True, allow_negative_crop=True),
)
__filter = dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1))
train_pipeline, train_pipeline_stage2 = [
    [dict(t, **__with_masks.get(t['type'], {})) for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.train_pipeline_stage2)
]
train_pipeline.insert(-1, __filter)  # before PackDetInputs
train_pipeline_stage2.insert(4, __filter)  # after RandomCrop

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=train_pipeline_stage2),  # PipelineSwitchHook
]

val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
