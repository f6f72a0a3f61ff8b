# RTMDet-R s: the l recipe with CSPNeXt-s widths/depths (0.5 / 0.33), distances not
# exponentiated (exp_on_reg=False).
_base_ = './rotated_rtmdet_l-3x-dota.py'

checkpoint = (
    'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/'
    'cspnext-s_imagenet_600e.pth'
)

model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5, init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[128, 256, 512], out_channels=128, num_csp_blocks=1),
    bbox_head=dict(in_channels=128, feat_channels=128, exp_on_reg=False),
)

# batch_size = (1 GPU) x (8 samples per GPU) = 8
train_dataloader = dict(batch_size=8, num_workers=8)
