"""RTMDet-R head tests' helpers: RTMDet-R tiny's head and the state-dict names and shapes of
mmrotate 1.x's ``RotatedRTMDetSepBNHead``."""

from rtmdet_plus.models.dense_heads import RotatedRTMDetSepBNHead

TRAIN_CFG = dict(
    assigner=dict(
        type='DynamicSoftLabelAssigner', iou_calculator=dict(type='RBboxOverlaps2D'), topk=13
    ),
    allowed_border=-1,
    pos_weight=-1,
    debug=False,
)
TEST_CFG = dict(
    nms_pre=2000,
    min_bbox_size=0,
    score_thr=0.05,
    nms=dict(type='nms_rotated', iou_threshold=0.1),
    max_per_img=2000,
)


def sepbn_head(**kwargs) -> RotatedRTMDetSepBNHead:
    """RTMDet-R tiny's head (``rotated_rtmdet_tiny-3x-dota``) with BN instead of SyncBN."""
    args = dict(
        num_classes=15,
        in_channels=96,
        feat_channels=96,
        stacked_convs=2,
        angle_version='le90',
        bbox_coder=dict(type='DistanceAnglePointCoder', angle_version='le90'),
        with_objectness=False,
        exp_on_reg=False,
        share_conv=True,
        pred_kernel_size=1,
        use_hbbox_loss=False,
        scale_angle=False,
        loss_angle=None,
        train_cfg=TRAIN_CFG,
        test_cfg=TEST_CFG,
    )
    args.update(kwargs)
    head = RotatedRTMDetSepBNHead(**args)
    head.init_weights()
    return head


def expected_sepbn_keys(num_classes=15, channels=96, stacked_convs=2, levels=3, angle_dim=1):
    """mmrotate 1.x ``RotatedRTMDetSepBNHead`` (BN): per level ``cls_convs``/``reg_convs`` of
    ConvModules (conv without bias + ``bn``), 1x1 ``rtm_cls``/``rtm_reg``/``rtm_ang``; no scales.
    With ``share_conv`` the level-0 convs also appear under every other level's name."""
    keys = {}
    for tower in ('cls_convs', 'reg_convs'):
        for level in range(levels):
            for i in range(stacked_convs):
                prefix = f'{tower}.{level}.{i}'
                keys[f'{prefix}.conv.weight'] = (channels, channels, 3, 3)
                for name in ('weight', 'bias', 'running_mean', 'running_var'):
                    keys[f'{prefix}.bn.{name}'] = (channels,)
                keys[f'{prefix}.bn.num_batches_tracked'] = ()
    for conv, out in (('rtm_cls', num_classes), ('rtm_reg', 4), ('rtm_ang', angle_dim)):
        for level in range(levels):
            keys[f'{conv}.{level}.weight'] = (out, channels, 1, 1)
            keys[f'{conv}.{level}.bias'] = (out,)
    return keys
