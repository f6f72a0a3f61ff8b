# RTMDet-Ins-x: depth x1.33, width x1.25, half the base lr (0.002; the cosine floor follows).
# As in mmdet's config, the per-GPU batch stays 32 despite the "8xb16" in the name.
_base_ = './rtmdet-ins_l_8xb32-300e_coco.py'

model = dict(
    backbone=dict(deepen_factor=1.33, widen_factor=1.25),
    neck=dict(in_channels=[320, 640, 1280], out_channels=320, num_csp_blocks=4),
    bbox_head=dict(in_channels=320, feat_channels=320),
)

base_lr = 0.002
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    _base_.param_scheduler[0],  # linear warm-up
    dict(_base_.param_scheduler[1], eta_min=base_lr * 0.05),  # cosine, epochs 150-300
]
