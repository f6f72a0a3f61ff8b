# The slow learning test's recipe: rotated_rtmdet_tiny_1xb8-12e_rshapes.py (same dataset, model
# and optimiser) trained for 30 epochs (1500 iterations), with the val DOTA mAP@0.5 reported
# every 5 epochs. Measured (randomness seed 1, one thread, 21.9 min on a loaded 2-core machine):
# 0.301, 0.545, 0.625, 0.833, 0.929, 0.943 after 5, 10, ..., 30 epochs.
_base_ = './rotated_rtmdet_tiny_1xb8-12e_rshapes.py'

max_epochs = 30

train_cfg = dict(max_epochs=max_epochs, val_interval=5)
# the same warm-up, then the cosine stretched to the last epoch
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs, T_max=max_epochs - _base_.warmup_epochs)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
