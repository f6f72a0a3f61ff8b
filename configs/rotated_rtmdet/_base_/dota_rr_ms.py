# DOTA v1.0 cut into 1024x1024 patches with a gap of 500 at the scales 0.5, 1.0 and 1.5
# (tools/dataset_converters/dota_split.py, multi-scale settings); otherwise dota_rr.py.
_base_ = './dota_rr.py'

data_root = 'data/split_ms_dota/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
