# RTMDet-tiny in an mmdet-scoped project, with rtmdet_plus's model components.
#
# ``default_scope='mmdet'`` keeps every unprefixed ``type`` resolving to mmdet, as in any mmdet
# project. ``custom_imports`` registers rtmdet_plus's components, and the ``rtmdet_plus.`` prefix
# picks them explicitly: without the prefix the same names would build mmdet's classes.
#
# The recipe (data, schedule, hooks, head settings) comes from this repository's RTMDet-tiny
# config; in your own project, point ``_base_`` at your config instead, e.g.
# 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py' when mmdet was installed with its configs.
_base_ = '../../../configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py'

default_scope = 'mmdet'
custom_imports = dict(imports=['rtmdet_plus'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='rtmdet_plus.CSPNeXt'),
    neck=dict(type='rtmdet_plus.CSPNeXtPAFPN'),
    bbox_head=dict(type='rtmdet_plus.RTMDetSepBNHead'),
    train_cfg=dict(assigner=dict(type='rtmdet_plus.DynamicSoftLabelAssigner')),
)
