# RTMDet-l with a Swin-B backbone, without its data (see rtmdet_l.py): mmdet's own
# SwinTransformer, ImageNet-22k weights at 384 converted from the official checkpoint format
# (convert_weights=True), RGB normalisation, GN in the neck and head; 100 epochs at base lr
# 0.001 (1000-iteration warm-up, cosine over the second half), stage 2 for the last 10 epochs
# with validation every epoch there.
_base_ = './rtmdet_l.py'

norm_cfg = dict(type='GN', num_groups=32)
checkpoint = (
    'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
    'swin_base_patch4_window12_384_22k.pth'
)
model = dict(
    # ImageNet statistics in RGB order, images converted to RGB
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True
    ),
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        pretrain_img_size=384,
        embed_dims=128,
        depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32],
        window_size=12,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.3,
        patch_norm=True,
        out_indices=(1, 2, 3),
        with_cp=True,
        convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint),
    ),
    neck=dict(in_channels=[256, 512, 1024], norm_cfg=norm_cfg),
    bbox_head=dict(norm_cfg=norm_cfg),
)

max_epochs = 100
stage2_num_epochs = 10
interval = 10
base_lr = 0.001

train_cfg = dict(
    max_epochs=max_epochs,
    val_interval=interval,
    dynamic_intervals=[(max_epochs - stage2_num_epochs, 1)],
)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    _base_.param_scheduler[0],  # linear warm-up
    dict(
        _base_.param_scheduler[1],  # cosine from epoch 50 to 100, to 5 % of this lr
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
    ),
]
custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_epoch=max_epochs - stage2_num_epochs),
]
