from .rotated_iou_loss import RotatedIoULoss, rotated_iou_loss

__all__ = ['RotatedIoULoss', 'rotated_iou_loss']
