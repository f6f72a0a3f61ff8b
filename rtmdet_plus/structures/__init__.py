from .bbox import box_to_distance, distance_to_box, scale_boxes

__all__ = ['box_to_distance', 'distance_to_box', 'scale_boxes']
