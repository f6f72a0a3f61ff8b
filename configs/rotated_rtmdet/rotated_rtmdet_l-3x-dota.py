# RTMDet-R l, DOTA v1.0 single-scale patches (1024, gap 200), 36 epochs.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/schedule_3x.py',
    './_base_/dota_rr.py',
    './_base_/rotated_rtmdet_l.py',
]

# batch_size = (2 GPUs) x (4 samples per GPU) = 8
train_dataloader = dict(batch_size=4, num_workers=4)
