# Runtime of the RTMDet-R (rotated) configs: the shared runtime (scope 'rtmdet_plus',
# custom_imports), with mmrotate 1.x's checkpointing every 12 epochs (3 kept) and EMA of the
# weights (ExpMomentumEMA, momentum 0.0002).
_base_ = '../../_base_/default_runtime.py'

default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=12, max_keep_ckpts=3))

custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(
        type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True, priority=49
    ),
]
