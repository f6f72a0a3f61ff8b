from .bbox import (ANGLE_VERSIONS, QBOX_NAME, RBOX_NAME, QuadriBoxes, RotatedBoxes,
                   box_to_distance, corners2rbox, distance_to_box, hbox2qbox, hbox2rbox,
                   norm_angle, qbox2hbox, qbox2rbox, rbox2corners, rbox2hbox, rbox2qbox,
                   rbox_overlaps, regularize_rboxes, rotated_box_intersection, rotated_box_iou,
                   scale_boxes, scale_rboxes)
from .masks import masks_as_tensor

__all__ = [
    'ANGLE_VERSIONS', 'QBOX_NAME', 'QuadriBoxes', 'RBOX_NAME', 'RotatedBoxes', 'box_to_distance',
    'corners2rbox', 'distance_to_box', 'hbox2qbox', 'hbox2rbox', 'masks_as_tensor', 'norm_angle',
    'qbox2hbox',
    'qbox2rbox', 'rbox2corners', 'rbox2hbox', 'rbox2qbox', 'rbox_overlaps', 'regularize_rboxes',
    'rotated_box_intersection', 'rotated_box_iou', 'scale_boxes', 'scale_rboxes'
]
