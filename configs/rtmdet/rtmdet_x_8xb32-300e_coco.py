# RTMDet-x: depth x1.33, width x1.25 (_base_/rtmdet_x.py); recipe and data as RTMDet-l.
_base_ = ['./_base_/rtmdet_x.py', './_base_/rtmdet_data_640.py']

custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=_base_.train_pipeline_stage2),
]
