# The `make demo` recipe: rtmdet_tiny_1xb4-12e_shapes.py (same dataset, model and optimiser)
# trained longer, with the val mAP reported every 5 epochs to show progress.
_base_ = './rtmdet_tiny_1xb4-12e_shapes.py'

max_epochs = 20
warmup_epochs = _base_.warmup_epochs

train_cfg = dict(max_epochs=max_epochs, val_interval=5)
# the base's warm-up, then its cosine stretched to the last epoch
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs, T_max=max_epochs - warmup_epochs),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
