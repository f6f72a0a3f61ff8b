# RTMDet-R tiny: the l recipe with CSPNeXt-tiny widths/depths (0.375 / 0.167), distances not
# exponentiated (exp_on_reg=False).
_base_ = './rotated_rtmdet_l-3x-dota_ms.py'

checkpoint = 'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/cspnext_rsb_pretrain/cspnext-tiny_imagenet_600e.pth'  # noqa

model = dict(
    backbone=dict(
        deepen_factor=0.167,
        widen_factor=0.375,
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=checkpoint)),
    neck=dict(in_channels=[96, 192, 384], out_channels=96, num_csp_blocks=1),
    bbox_head=dict(
        in_channels=96,
        feat_channels=96,
        exp_on_reg=False,
        loss_bbox=dict(type='RotatedIoULoss', mode='linear', loss_weight=2.0)))

# batch_size = (1 GPU) x (8 samples per GPU) = 8
train_dataloader = dict(batch_size=8, num_workers=8)
