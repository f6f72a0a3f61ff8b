"""The identity angle coder: the network predicts the angle in radians directly."""

from mmdet.models.task_modules.coders.base_bbox_coder import BaseBBoxCoder
from torch import Tensor

from rtmdet_plus.registry import TASK_UTILS


@TASK_UTILS.register_module()
class PseudoAngleCoder(BaseBBoxCoder):
    """Angle coder of one channel that passes angles through unchanged (mmrotate's name)."""

    encode_size = 1

    def encode(self, angle_targets: Tensor) -> Tensor:
        """(..., 1) angles in radians -> the same tensor."""
        return angle_targets

    def decode(self, angle_preds: Tensor, keepdim: bool = False) -> Tensor:
        """(..., 1) predictions -> angles, (..., 1) with ``keepdim`` else (...)."""
        return angle_preds if keepdim else angle_preds.squeeze(-1)
