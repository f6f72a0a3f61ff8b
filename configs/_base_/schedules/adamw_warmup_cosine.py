# AdamW with a linear warm-up over the first 1000 iterations, the lr flat until half-way, then
# a cosine decay to 5 % of the base lr at the last epoch (stepped per iteration). Weight decay
# 0.05 on conv/linear weights only: norm layers and biases get none.
#
# The numbers are RTMDet's (300 epochs, lr 0.004, validation every 10 epochs). mmengine evaluates
# this file with them: a schedule of another length or lr sets max_epochs / base_lr and restates
# what follows from them (train_cfg, the optimizer's lr, the cosine's floor and bounds), as
# rotated_rtmdet/_base_/schedule_3x.py does.
max_epochs = 300
base_lr = 0.004
interval = 10

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    # bypass_duplicate: the SepBN heads share their tower convs across levels
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=1000),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
]
