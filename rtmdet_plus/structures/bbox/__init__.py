"""Box maths: horizontal boxes (x1, y1, x2, y2) and rotated boxes (cx, cy, w, h, angle in
radians) with their mmdet box types 'rbox' and 'qbox'."""

from .angles import ANGLE_VERSIONS, norm_angle, regularize_rboxes
from .box_converters import (
    corners2rbox,
    hbox2qbox,
    hbox2rbox,
    qbox2hbox,
    qbox2rbox,
    rbox2corners,
    rbox2hbox,
    rbox2qbox,
)
from .box_types import QBOX_NAME, RBOX_NAME
from .horizontal import box_to_distance, distance_to_box, scale_boxes
from .quadri_boxes import QuadriBoxes
from .rotated_boxes import RotatedBoxes, scale_rboxes
from .rotated_iou import rotated_box_intersection, rotated_box_iou
from .rotated_nms import batched_rbox_nms, rbox_nms
from .rotated_overlaps import rbox_overlaps

__all__ = [
    'ANGLE_VERSIONS',
    'QBOX_NAME',
    'QuadriBoxes',
    'RBOX_NAME',
    'RotatedBoxes',
    'batched_rbox_nms',
    'box_to_distance',
    'corners2rbox',
    'distance_to_box',
    'hbox2qbox',
    'hbox2rbox',
    'norm_angle',
    'qbox2hbox',
    'qbox2rbox',
    'rbox2corners',
    'rbox2hbox',
    'rbox2qbox',
    'rbox_nms',
    'rbox_overlaps',
    'regularize_rboxes',
    'rotated_box_intersection',
    'rotated_box_iou',
    'scale_boxes',
    'scale_rboxes',
]
