# RTMDet-R m: the l recipe with CSPNeXt-m widths/depths (0.75 / 0.67).
_base_ = './rotated_rtmdet_l-3x-dota.py'

checkpoint = (
    'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/'
    'cspnext-m_8xb256-rsb-a1-600e_in1k-ecb3bbd9.pth'
)

model = dict(
    backbone=dict(deepen_factor=0.67, widen_factor=0.75, init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[192, 384, 768], out_channels=192, num_csp_blocks=2),
    bbox_head=dict(in_channels=192, feat_channels=192),
)

# batch_size = (1 GPU) x (8 samples per GPU) = 8
train_dataloader = dict(batch_size=8, num_workers=8)
