from .label_smooth_loss import LabelSmoothLoss
from .rotated_iou_loss import RotatedIoULoss, rotated_iou_loss

__all__ = ['LabelSmoothLoss', 'RotatedIoULoss', 'rotated_iou_loss']
