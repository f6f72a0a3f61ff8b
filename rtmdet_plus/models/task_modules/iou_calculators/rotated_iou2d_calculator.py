"""IoU calculator of rotated boxes for assigners (mmrotate's ``RBboxOverlaps2D``)."""

from typing import Union

from mmdet.structures.bbox import BaseBoxes, get_box_tensor
from torch import Tensor

from rtmdet_plus.registry import TASK_UTILS
from rtmdet_plus.structures.bbox import rbox_overlaps


@TASK_UTILS.register_module()
class RBboxOverlaps2D:
    """Rotated IoU between two box sets (mmcv's compiled op, CPU and GPU)."""

    def __call__(
        self,
        bboxes1: Union[Tensor, BaseBoxes],
        bboxes2: Union[Tensor, BaseBoxes],
        mode: str = 'iou',
        is_aligned: bool = False,
    ) -> Tensor:
        """Overlaps of rotated boxes.

        Args:
            bboxes1: (M, 5) cx, cy, w, h, angle in radians, or (M, 6) with a trailing score
                (ignored), as a tensor or ``RotatedBoxes``.
            bboxes2: (N, 5) or (N, 6) in the same format, may be empty.
            mode: 'iou' or 'iof' (intersection over the area of ``bboxes1``).
            is_aligned: overlaps of aligned rows, M == N.

        Returns:
            (M, N), or (M,) when ``is_aligned``.
        """
        bboxes1, bboxes2 = get_box_tensor(bboxes1), get_box_tensor(bboxes2)
        for name, boxes in (('bboxes1', bboxes1), ('bboxes2', bboxes2)):
            if boxes.size(-1) not in (0, 5, 6):
                raise ValueError(
                    f'RBboxOverlaps2D: {name} must be (N, 5) rotated boxes '
                    f'(cx, cy, w, h, angle) or (N, 6) with scores, got shape '
                    f'{tuple(boxes.shape)}'
                )
        return rbox_overlaps(bboxes1[..., :5], bboxes2[..., :5], mode, is_aligned)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
