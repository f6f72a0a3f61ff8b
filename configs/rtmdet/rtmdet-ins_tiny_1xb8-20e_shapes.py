# RTMDet-Ins-tiny trained from scratch on the generated shapes dataset (polygon masks), on the
# CPU, in a few minutes: tests/test_learning_ins.py and `make demo-ins` (tools/demo.py --task ins).
#
# Inherits the detection shapes recipe (rtmdet_tiny_1xb4-12e_shapes.py: from scratch, BN, flip
# only, AdamW with warm-up and cosine, EMA, loading in the main process, one validation at the
# end) and changes:
# - the head: RTMDet-Ins-tiny's RTMDetInsSepBNHead (as rtmdet-ins_tiny_8xb32-300e_coco.py);
# - masks through the pipeline as polygons (poly2mask=False, as the COCO recipe), COCO bbox and
#   segm evaluation with pycocotools;
# - the data and schedule, calibrated for a few minutes on 2 CPU cores: 128x128 images, 3 classes
#   (the triangle left out, as in the detection calibration), batch 8, AdamW lr 0.004, 1-epoch
#   warm-up, cosine to 5 % over 20 epochs (1000 iterations).
# Measured val mAP after the 1000 iterations (one thread): segm 0.554 / bbox 0.611 (seed 0) and
# segm 0.501 / bbox 0.571 (seed 1); about 0.26 s an iteration on a half-busy 2-core machine.
# After 750 iterations (epoch 15 of this schedule) seed 0 had segm 0.539 / bbox 0.578.
_base_ = './rtmdet_tiny_1xb4-12e_shapes.py'

data_root = 'data/shapes_ins/'
classes = ('ellipse', 'rectangle', 'star')
shapes_dataset = dict(img_size=128, num_train=400, num_val=100, classes=classes, seed=0)
metainfo = dict(classes=classes, palette=[(220, 20, 60), (0, 120, 255), (250, 170, 0)])

img_scale = (128, 128)
train_batch_size = 8
max_epochs = 20
warmup_epochs = 1
base_lr = 0.004

norm_cfg = dict(type='BN')
model = dict(
    bbox_head=dict(
        _delete_=True,
        type='RTMDetInsSepBNHead',
        num_classes=len(classes),
        in_channels=96,
        stacked_convs=2,
        share_conv=True,
        pred_kernel_size=1,
        feat_channels=96,
        act_cfg=dict(type='SiLU', inplace=True),
        norm_cfg=norm_cfg,
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_mask=dict(type='DiceLoss', loss_weight=2.0, eps=5e-6, reduction='mean'),
    ),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100,
        mask_thr_binary=0.5,
    ),
)

# the base's pipelines at this size, loading polygon masks; training drops boxes under a pixel
load_annotations = dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False)
train_pipeline = [
    dict(t, scale=img_scale)
    if t['type'] == 'Resize'
    else dict(t, size=img_scale)
    if t['type'] == 'Pad'
    else load_annotations
    if t['type'] == 'LoadAnnotations'
    else t
    for t in _base_.train_pipeline[:-1]
] + [dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)), _base_.train_pipeline[-1]]
test_pipeline = [
    dict(t, scale=img_scale)
    if t['type'] == 'Resize'
    else dict(t, size=img_scale)
    if t['type'] == 'Pad'
    else load_annotations
    if t['type'] == 'LoadAnnotations'
    else t
    for t in _base_.test_pipeline
]
train_dataloader = dict(
    batch_size=train_batch_size,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline),
)
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json', metric=['bbox', 'segm'])
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=base_lr))
# The base's warm-up, then its cosine stretched to this schedule and learning rate.
param_scheduler = [
    _base_.param_scheduler[0],
    dict(
        _base_.param_scheduler[1],
        eta_min=base_lr * 0.05,
        end=max_epochs,
        T_max=max_epochs - warmup_epochs,
    ),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
