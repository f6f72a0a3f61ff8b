# The RTMDet optimisation recipe: 300 epochs of AdamW at batch 256 (8 GPUs x 32 images), lr
# 0.004: warm-up, flat, then cosine over the second half (adamw_warmup_cosine.py).
# Validation runs every ``interval`` epochs, and every epoch during the final
# ``stage2_num_epochs`` (the recipe's strong augmentations are switched off there).
_base_ = './adamw_warmup_cosine.py'

stage2_num_epochs = 20
train_cfg = dict(dynamic_intervals=[(_base_.max_epochs - stage2_num_epochs, 1)])

# Off by default. The value equals mmdet's shipped RTMDet configs (inherited there from the
# generic 1x schedule); the recipe's real total batch is 256, so set base_batch_size=256
# before enabling automatic lr scaling.
auto_scale_lr = dict(enable=False, base_batch_size=16)
