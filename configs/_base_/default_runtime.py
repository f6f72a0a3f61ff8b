# Runtime shared by every rtmdet_plus config: scope, hooks, logging, visualisation.
#
# ``default_scope='rtmdet_plus'`` makes each ``type`` resolve in rtmdet_plus's registries first
# and fall back to mmdet's (and mmengine's) for the types rtmdet_plus does not define.
# ``custom_imports`` registers rtmdet_plus's components before anything is built, so a plain
# ``tools/train.py`` / ``mim train`` works without importing the package by hand.
default_scope = 'rtmdet_plus'
custom_imports = dict(imports=['rtmdet_plus'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # written atomically (temporary file, fsync, rename; last_checkpoint after the checkpoint)
    checkpoint=dict(type='CheckpointHook', interval=1, backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
    # a NaN/Inf loss or gradient stops the run before the optimizer step, naming the iteration,
    # the loss terms and the batch's images (action='skip' drops such steps and counts them)
    non_finite=dict(type='rtmdet_plus.NonFiniteLossHook', action='stop'),
    # every epoch's random streams derived from (seed, epoch): a resumed run repeats the
    # uninterrupted one exactly
    epoch_seed=dict(type='rtmdet_plus.EpochSeedHook'),
    # --resume: a truncated latest checkpoint falls back to the newest readable one
    resume_fallback=dict(type='rtmdet_plus.ResumeFallbackHook'),
    # names the training samples the dataset replaced (on_bad_sample) and counts them per epoch
    bad_samples=dict(type='rtmdet_plus.BadSampleReportHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # Only read by distributed launches; use 'gloo' for multi-process CPU training.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
