# 36 epochs (3x) of AdamW at lr 0.004 / 16 (as published, for a total batch of 8), weight decay
# 0.05 except on norms and biases; 1000 iterations of linear warm-up, then cosine down to 5 %
# of the lr over the second half.
max_epochs = 3 * 12
base_lr = 0.004 / 16
interval = 12

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=1.0e-5, by_epoch=False, begin=0, end=1000),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
        by_epoch=True,
        convert_to_iter_based=True),
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    # bypass_duplicate: the SepBN head shares its tower convs across levels
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
