# RTMDet-R l, DOTA v1.0 multi-scale patches (0.5x, 1x, 1.5x): the single-scale config on the
# multi-scale split.
_base_ = './rotated_rtmdet_l-3x-dota.py'

data_root = 'data/split_ms_dota/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
