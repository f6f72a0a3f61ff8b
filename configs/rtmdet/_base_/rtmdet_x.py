# RTMDet-x without its data (see rtmdet_l.py): depth x1.33, width x1.25.
_base_ = './rtmdet_l.py'

model = dict(
    backbone=dict(deepen_factor=1.33, widen_factor=1.25),
    neck=dict(in_channels=[320, 640, 1280], out_channels=320, num_csp_blocks=4),
    bbox_head=dict(in_channels=320, feat_channels=320),
)
