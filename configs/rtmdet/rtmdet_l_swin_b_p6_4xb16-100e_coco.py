# RTMDet-l-Swin-B P6: a fifth Swin stage (outputs at strides 8/16/32/64, 2048 channels at 64),
# trained and tested at 1280x1280 (_base_/rtmdet_data_1280.py) on 4 GPUs x 16. Published: 56.4
# box AP at 1280.
_base_ = ['./_base_/rtmdet_l_swin_b.py', './_base_/rtmdet_data_1280.py']

model = dict(
    backbone=dict(
        depths=[2, 2, 18, 2, 1],
        num_heads=[4, 8, 16, 32, 64],
        strides=(4, 2, 2, 2, 2),
        out_indices=(1, 2, 3, 4),
    ),
    neck=dict(in_channels=[256, 512, 1024, 2048]),
    bbox_head=dict(
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32, 64])
    ),
)

train_dataloader = dict(batch_size=16)

custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=_base_.train_pipeline_stage2),
]
