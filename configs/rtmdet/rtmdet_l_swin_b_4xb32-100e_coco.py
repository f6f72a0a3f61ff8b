# RTMDet-l with a Swin-B backbone (mmdet's own SwinTransformer, ImageNet-22k weights at 384,
# converted from the official checkpoint format by convert_weights=True), 100 epochs on 4 GPUs x 32.
# Changed from RTMDet-l (_base_/rtmdet_l_swin_b.py): RGB normalisation, GN in the neck and head,
# base lr 0.001 with a 1000-iteration warm-up and cosine over the second half, stage 2 for the
# last 10 epochs with validation every epoch there. Data as RTMDet-l's. Published: 52.4 box AP
# at 640.
_base_ = ['./_base_/rtmdet_l_swin_b.py', './_base_/rtmdet_data_640.py']

custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=_base_.train_pipeline_stage2),
]
