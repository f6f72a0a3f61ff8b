# RTMDet-l with a ConvNeXt-B backbone (our ConvNeXt, mmpretrain's parameter names: mmpretrain is
# not needed), ImageNet-21k-pretrained / 1k-finetuned weights at 384, layer-wise lr decay 0.8
# over 12 layers. Otherwise the Swin-B recipe. Published: 53.1 box AP at 640.
_base_ = './rtmdet_l_swin_b_4xb32-100e_coco.py'

checkpoint = None  # the Swin-B weights of the base; this config names its own
checkpoint_file = (
    'https://download.openmmlab.com/mmclassification/v0/convnext/'
    'convnext-base_in21k-pre-3rdparty_in1k-384px_20221219-4570f792.pth'
)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvNeXt',
        arch='base',
        out_indices=[1, 2, 3],
        drop_path_rate=0.7,
        layer_scale_init_value=1.0,
        gap_before_final_norm=False,
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file, prefix='backbone.'),
    )
)

optim_wrapper = dict(
    constructor='LearningRateDecayOptimizerConstructor',
    paramwise_cfg={'decay_rate': 0.8, 'decay_type': 'layer_wise', 'num_layers': 12},
)
