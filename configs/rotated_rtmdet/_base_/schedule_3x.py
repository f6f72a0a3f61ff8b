# 36 epochs (3x) of RTMDet's schedule (adamw_warmup_cosine.py: AdamW, weight decay 0.05 except on
# norms and biases, 1000 iterations of linear warm-up, then cosine down to 5 % of the lr over
# the second half) at lr 0.004 / 16 (as published, for a total batch of 8).
_base_ = '../../_base_/schedules/adamw_warmup_cosine.py'

max_epochs = 3 * 12
base_lr = 0.004 / 16
interval = 12

train_cfg = dict(max_epochs=max_epochs, val_interval=interval)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    _base_.param_scheduler[0],  # linear warm-up
    dict(
        _base_.param_scheduler[1],  # cosine over the second half, to 5 % of this lr
        eta_min=base_lr * 0.05,
        begin=max_epochs // 2,
        end=max_epochs,
        T_max=max_epochs // 2,
    ),
]
