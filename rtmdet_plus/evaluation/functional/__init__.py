"""Pure functions behind the DOTA metric: rotated VOC mAP, patch merging, submission files."""

from .dota_submission import to_quads, write_task1_files, zip_files
from .patch_merge import merge_patch_detections, nms_boxes, parse_patch_name, shift_boxes
from .rotated_map import box_areas, box_ious, eval_rbbox_map, print_map_summary, tpfp_rotated

__all__ = [
    'box_areas',
    'box_ious',
    'eval_rbbox_map',
    'merge_patch_detections',
    'nms_boxes',
    'parse_patch_name',
    'print_map_summary',
    'shift_boxes',
    'to_quads',
    'tpfp_rotated',
    'write_task1_files',
    'zip_files',
]
