# The `make demo` recipe: rtmdet_tiny_1xb4-12e_shapes.py (same dataset, model and optimiser)
# trained longer, with the val mAP reported every 5 epochs to show progress.
_base_ = './rtmdet_tiny_1xb4-12e_shapes.py'

max_epochs = 20
warmup_epochs = 1
base_lr = 0.003

train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        T_max=max_epochs - warmup_epochs,
        convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
