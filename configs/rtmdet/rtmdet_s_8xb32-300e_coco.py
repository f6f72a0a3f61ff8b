# RTMDet-s: depth x0.33, width x0.5, ImageNet-pretrained CSPNeXt-s backbone, milder scale jitter
# (0.5-2x) and no exp() on the box regression.
_base_ = './rtmdet_l_8xb32-300e_coco.py'

model = dict(
    backbone=dict(
        deepen_factor=0.33,
        widen_factor=0.5,
        init_cfg=dict(
            type='Pretrained',
            prefix='backbone.',
            checkpoint='https://download.openmmlab.com/mmdetection/v3.0/rtmdet/'
            'cspnext_rsb_pretrain/cspnext-s_imagenet_600e.pth',
        ),
    ),
    neck=dict(in_channels=[128, 256, 512], out_channels=128, num_csp_blocks=1),
    bbox_head=dict(in_channels=128, feat_channels=128, exp_on_reg=False),
)

# RTMDet-l's pipelines with the milder scale jitter
train_pipeline, train_pipeline_stage2 = [
    [dict(t, ratio_range=(0.5, 2.0)) if t['type'] == 'RandomResize' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.train_pipeline_stage2)
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# The base's hooks, switching to this file's stage-2 pipeline.
custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=train_pipeline_stage2),  # PipelineSwitchHook
]
