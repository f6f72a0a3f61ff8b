# CSPNeXt-s as an ImageNet classifier (mmdet's configs/rtmdet/classification recipe, 224x224):
# the RSB-A1 recipe for 600 epochs on 8 GPUs x 256 images: Mixup 0.2 / CutMix 1.0 (one per
# batch), label smoothing 0.1, LAMB lr 0.005 with weight decay 0.01 (none on biases and norms),
# 5 warm-up epochs then cosine, repeated-augmentation sampler. Its checkpoint initialises the
# RTMDet-s backbone. The other sizes change only depth, width and the head's input channels.
_base_ = [
    './_base_/imagenet_bs256_rsb_a12.py',
    './_base_/imagenet_bs2048_rsb.py',
    './_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='CSPNeXt',
        arch='P5',
        out_indices=(4,),
        expand_ratio=0.5,
        deepen_factor=0.33,
        widen_factor=0.5,
        channel_attention=True,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU'),
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0),
        topk=(1, 5),
    ),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)]),
)

train_dataloader = dict(sampler=dict(type='RepeatAugSampler', shuffle=True))

optim_wrapper = dict(
    optimizer=dict(weight_decay=0.01), paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0)
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.0001,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True,
    ),
    dict(type='CosineAnnealingLR', T_max=595, eta_min=1.0e-6, by_epoch=True, begin=5, end=600),
]
train_cfg = dict(by_epoch=True, max_epochs=600)
