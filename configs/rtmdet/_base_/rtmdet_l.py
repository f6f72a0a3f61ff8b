# RTMDet-l without its data: runtime, the 300-epoch schedule, the model and the hooks. The data
# (pipelines, loaders, evaluation, TTA) comes beside it: rtmdet_data_640.py, or
# rtmdet_data_1280.py for the P6 models. rtmdet_x.py and rtmdet_l_swin_b.py inherit this file.
#
# Model: CSPNeXt backbone (P5: strides 8/16/32) -> CSPNeXtPAFPN -> RTMDetSepBNHead (convs shared
# across levels, BN per level), QualityFocalLoss + GIoU, DynamicSoftLabelAssigner.
# Input: BGR images normalised with ImageNet statistics in BGR order.
# Norm layers: SyncBN, as published. In a single process (CPU or one GPU) SyncBN computes plain
# batch statistics, and mmengine's Runner turns it into BN when training is not distributed.
_base_ = [
    '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_rtmdet_300e.py',
]

model = dict(
    type='RTMDet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[103.53, 116.28, 123.675],
        std=[57.375, 57.12, 58.395],
        bgr_to_rgb=False,
        batch_augments=None,
    ),
    backbone=dict(
        type='CSPNeXt',
        arch='P5',
        expand_ratio=0.5,
        deepen_factor=1,
        widen_factor=1,
        channel_attention=True,
        norm_cfg=dict(type='SyncBN'),
        act_cfg=dict(type='SiLU', inplace=True),
    ),
    neck=dict(
        type='CSPNeXtPAFPN',
        in_channels=[256, 512, 1024],
        out_channels=256,
        num_csp_blocks=3,
        expand_ratio=0.5,
        norm_cfg=dict(type='SyncBN'),
        act_cfg=dict(type='SiLU', inplace=True),
    ),
    bbox_head=dict(
        type='RTMDetSepBNHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=2,
        feat_channels=256,
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        with_objectness=False,
        exp_on_reg=True,
        share_conv=True,
        pred_kernel_size=1,
        norm_cfg=dict(type='SyncBN'),
        act_cfg=dict(type='SiLU', inplace=True),
    ),
    train_cfg=dict(
        assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
        allowed_border=-1,
        pos_weight=-1,
        debug=False,
    ),
    # Post-processing as in mmdet >= 3.0.0rc5 (consistent with YOLOv5/6/7 evaluation).
    test_cfg=dict(
        nms_pre=30000,
        min_bbox_size=0,
        score_thr=0.001,
        nms=dict(type='nms', iou_threshold=0.65),
        max_per_img=300,
    ),
)

default_hooks = dict(checkpoint=dict(interval=_base_.interval, max_keep_ckpts=3))
# EMA of the weights throughout; the data's stage-2 pipeline (no Mosaic/MixUp) for the last
# stage2_num_epochs. The config that adds the data sets switch_pipeline (its
# train_pipeline_stage2).
custom_hooks = [
    dict(
        type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True, priority=49
    ),
    dict(type='PipelineSwitchHook', switch_epoch=_base_.max_epochs - _base_.stage2_num_epochs),
]
