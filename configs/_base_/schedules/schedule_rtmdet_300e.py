# The RTMDet optimisation recipe: 300 epochs of AdamW at batch 256 (8 GPUs x 32 images).
#
# lr: linear warm-up over the first 1000 iterations, flat until epoch 150, then cosine decay
# to 5 % of the base lr at epoch 300 (stepped per iteration). Weight decay 0.05 is applied to
# conv/linear weights only: norm layers and biases get none.
# Validation runs every ``interval`` epochs, and every epoch during the final
# ``stage2_num_epochs`` (the recipe's strong augmentations are switched off there).
max_epochs = 300
stage2_num_epochs = 20
base_lr = 0.004
interval = 10

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=interval,
    dynamic_intervals=[(max_epochs - stage2_num_epochs, 1)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))

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

# Off by default. The value equals mmdet's shipped RTMDet configs (inherited there from the
# generic 1x schedule); the recipe's real total batch is 256, so set base_batch_size=256
# before enabling automatic lr scaling.
auto_scale_lr = dict(enable=False, base_batch_size=16)
