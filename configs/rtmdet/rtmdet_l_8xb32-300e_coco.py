# RTMDet-l on COCO: the full RTMDet detection recipe. RTMDet-m/s/tiny and RTMDet-Ins-l inherit
# this file and change only widths/depths and, for the small models, the augmentation strength.
# The recipe lies in two halves, which RTMDet-x and the Swin-B / P6 configs combine in the same
# way with their own (_base_/rtmdet_x.py, _base_/rtmdet_l_swin_b.py, _base_/rtmdet_data_1280.py):
# - _base_/rtmdet_l.py: runtime, the 300-epoch AdamW schedule, the model (CSPNeXt-l ->
#   CSPNeXtPAFPN -> RTMDetSepBNHead, SyncBN) and the hooks (EMA, pipeline switch);
# - _base_/rtmdet_data_640.py: COCO at 640, Mosaic + MixUp (cached) with large-scale jitter for
#   280 epochs, then 20 epochs of plain scale jitter; evaluation and TTA.
_base_ = ['./_base_/rtmdet_l.py', './_base_/rtmdet_data_640.py']

# EMA, and the switch to the data's stage-2 pipeline
custom_hooks = [
    _base_.custom_hooks[0],  # EMAHook
    dict(_base_.custom_hooks[1], switch_pipeline=_base_.train_pipeline_stage2),
]
