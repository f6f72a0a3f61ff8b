# RTMDet-R tiny: the s recipe (distances not exponentiated, 1 GPU x 8 samples) with CSPNeXt-tiny
# widths/depths (0.375 / 0.167).
_base_ = './rotated_rtmdet_s-3x-dota.py'

checkpoint = (
    'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/'
    'cspnext-tiny_imagenet_600e.pth'
)

model = dict(
    backbone=dict(deepen_factor=0.167, widen_factor=0.375, init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[96, 192, 384], out_channels=96, num_csp_blocks=1),
    bbox_head=dict(in_channels=96, feat_channels=96),
)
