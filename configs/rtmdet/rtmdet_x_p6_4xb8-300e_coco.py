# RTMDet-x P6: RTMDet-x with a fifth backbone stage (outputs at strides 8/16/32/64) trained and
# tested at 1280x1280 (_base_/rtmdet_data_1280.py) on 4 GPUs x 8 images, lr scaled linearly to
# that batch (0.004 * 32/256).
_base_ = ['./_base_/rtmdet_x.py', './_base_/rtmdet_data_1280.py']

model = dict(
    backbone=dict(arch='P6', out_indices=(2, 3, 4, 5)),
    neck=dict(in_channels=[320, 640, 960, 1280]),
    bbox_head=dict(
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32, 64])
    ),
)

train_dataloader = dict(batch_size=8)

base_lr = 0.004 * 32 / 256
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    _base_.param_scheduler[0],  # linear warm-up, unchanged
    dict(_base_.param_scheduler[1], eta_min=base_lr * 0.05),  # cosine to 5 % of the new lr
]

custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=_base_.train_pipeline_stage2),
]
