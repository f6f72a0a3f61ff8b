"""RTMDet-R heads: the RTMDet heads plus an angle branch, for rotated boxes.

Network: the horizontal head's towers and convs, and one more prediction conv ``rtm_ang`` on the
regression tower giving the angle (``angle_coder.encode_size`` channels; one, the angle in
radians, with ``PseudoAngleCoder``). Training: boxes decoded from side distances and angle
(``DistanceAnglePointCoder``), dynamic soft-label assignment with rotated IoU, quality focal
loss, ``RotatedIoULoss`` on the decoded rotated boxes against targets in the head's angle
convention; optionally an angle loss, or a horizontal-box loss plus angle loss
(``use_hbbox_loss``). Prediction: per-level top-k, rotated decoding, rescaling of the rotated
boxes and class-aware rotated NMS (``nms=dict(type='nms_rotated', ...)``, by our
:func:`batched_rbox_nms`, exact where mmcv 2.1.0's CPU op is not).

State-dict names equal mmrotate 1.x's ``RotatedRTMDetHead`` / ``RotatedRTMDetSepBNHead``.
"""

from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import Scale
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmengine.config import ConfigDict
from mmengine.model import normal_init
from mmengine.structures import InstanceData
from torch import Tensor

from rtmdet_plus.registry import MODELS, TASK_UTILS
from rtmdet_plus.structures.bbox import (
    RotatedBoxes,
    batched_rbox_nms,
    distance_to_box,
    regularize_rboxes,
    scale_rboxes,
)
from rtmdet_plus.structures.bbox.angles import check_angle_version

from .rtmdet_head import RTMDetHead

ROTATED_BOX_CODERS = ('DistanceAnglePointCoder', 'rtmdet_plus.DistanceAnglePointCoder')


@MODELS.register_module()
class RotatedRTMDetHead(RTMDetHead):
    """RTMDet head for rotated boxes, towers shared by all levels (mmrotate's arguments).

    Args:
        num_classes: number of object classes (no background class).
        in_channels: channels of every input feature map.
        angle_version: 'oc', 'le90' or 'le135': the convention of the targets and of the
            decoded angles.
        use_hbbox_loss: compute ``loss_bbox`` on horizontal boxes (side distances only, against
            the targets' (cx, cy, w, h) as x1y1x2y2; give a horizontal loss such as ``GIoULoss``)
            and learn the angle from ``loss_angle`` alone, which is then required.
        scale_angle: multiply the angle output by a learnable scale (``scale_angle.scale``).
        angle_coder: angle coder config (``PseudoAngleCoder``: one channel, radians).
        loss_angle: optional loss of the encoded angle against the encoded target angle.
        bbox_coder: ``DistanceAnglePointCoder``; its ``angle_version`` defaults to the head's
            and must equal it.
        loss_bbox: box loss (``RotatedIoULoss``) on decoded rotated boxes.
        **kwargs: the arguments of :class:`RTMDetHead`.

    Outputs of :meth:`forward`: per level, (B, num_classes, H, W) class logits, (B, 4, H, W)
    side distances in input pixels and (B, encode_size, H, W) angle outputs.

    Prediction is :class:`RTMDetHead`'s on the stacked box maps (:meth:`box_maps`), with this
    head's box format: :meth:`decode_boxes` (rotated, never clipped), :meth:`rescale_boxes`,
    :meth:`box_sizes` and :meth:`_batched_nms` (rotated NMS); boxes leave as ``RotatedBoxes``.
    The export rewriter uses :meth:`box_maps` and the public surface of :class:`RTMDetHead`.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        angle_version: str = 'le90',
        use_hbbox_loss: bool = False,
        scale_angle: bool = True,
        angle_coder=dict(type='PseudoAngleCoder'),
        loss_angle=None,
        bbox_coder=dict(type='DistanceAnglePointCoder'),
        loss_bbox=dict(type='RotatedIoULoss', mode='linear', loss_weight=2.0),
        **kwargs,
    ) -> None:
        check_angle_version(angle_version)
        if use_hbbox_loss and loss_angle is None:
            raise ValueError(
                f'{type(self).__name__}: use_hbbox_loss=True learns the angle from '
                'loss_angle only; give loss_angle (e.g. an L1 loss) or set '
                'use_hbbox_loss=False'
            )
        self.angle_version = angle_version
        self.use_hbbox_loss = use_hbbox_loss
        self.is_scale_angle = scale_angle
        # built before the layers: the angle conv's width is the coder's encode_size
        self.angle_coder = TASK_UTILS.build(angle_coder)
        self.bbox_coder = self._build_bbox_coder(bbox_coder, angle_version)
        super().__init__(num_classes, in_channels, bbox_coder=None, loss_bbox=loss_bbox, **kwargs)
        self.loss_angle = MODELS.build(loss_angle) if loss_angle is not None else None

    def _build_bbox_coder(self, bbox_coder, angle_version: str):
        bbox_coder = ConfigDict(bbox_coder or dict(type='DistanceAnglePointCoder'))
        if bbox_coder.get('type') not in ROTATED_BOX_CODERS:
            raise ValueError(
                f'{type(self).__name__} decodes side distances and an angle; '
                f"bbox_coder must be dict(type='DistanceAnglePointCoder'), got "
                f'{dict(bbox_coder)}'
            )
        bbox_coder.setdefault('angle_version', angle_version)
        if bbox_coder['angle_version'] != angle_version:
            raise ValueError(
                f"bbox_coder angle_version {bbox_coder['angle_version']!r} differs "
                f'from the head angle_version {angle_version!r}: set both alike'
            )
        return TASK_UTILS.build(bbox_coder)

    # ------------------------------------------------------------------ network
    def _init_layers(self) -> None:
        super()._init_layers()
        self.rtm_ang = self._pred_conv(self.num_base_priors * self.angle_coder.encode_size)
        if self.is_scale_angle:
            self.scale_angle = Scale(1.0)

    def init_weights(self) -> None:
        super().init_weights()
        for level in range(len(self.strides)):
            normal_init(self._at_level(self.rtm_ang, level), std=0.01)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tuple[Tensor, ...], ...]:
        """(B, in_channels, H_l, W_l) maps -> per-level class logits, side distances, angles."""
        cls_scores, bbox_preds, angle_preds = [], [], []
        for level, x in enumerate(feats):
            cls_feat, reg_feat = self._level_features(x, level)
            cls_score, distances = self._level_predictions(cls_feat, reg_feat, level)
            angle = self._at_level(self.rtm_ang, level)(reg_feat)
            if self.is_scale_angle:
                angle = self.scale_angle(angle)
            cls_scores.append(cls_score)
            bbox_preds.append(distances)
            angle_preds.append(angle.float())
        return tuple(cls_scores), tuple(bbox_preds), tuple(angle_preds)

    # ------------------------------------------------------------------ box format
    # Overrides of RTMDetHead's box format (public ones used by the export rewriter).
    @property
    def box_pred_channels(self) -> int:
        """4 side distances (input pixels) followed by the angle coder's ``encode_size``
        channels."""
        return 4 + self.angle_coder.encode_size

    @staticmethod
    def box_maps(bbox_preds: Sequence[Tensor], angle_preds: Sequence[Tensor]) -> List[Tensor]:
        """Per level (B, 4, H, W) side distances (input pixels) and (B, encode_size, H, W) angle
        outputs -> per level (B, box_pred_channels, H, W) box maps, the two stacked."""
        return [
            torch.cat([dists, angles.to(dists.dtype)], dim=1)
            for dists, angles in zip(bbox_preds, angle_preds)
        ]

    def decode_boxes(
        self, points: Tensor, box_preds: Tensor, max_shape: Optional[Sequence[int]] = None
    ) -> Tensor:
        """(..., 2) prior points x y (input pixels) and (..., box_pred_channels) box outputs ->
        (..., 5) rotated boxes cx, cy, w, h in input pixels and angle in radians
        (``angle_version``); never clipped: ``max_shape`` is ignored."""
        angles = self.angle_coder.decode(box_preds[..., 4:], keepdim=True)
        return self.bbox_coder.decode(points, torch.cat([box_preds[..., :4], angles], dim=-1))

    @staticmethod
    def rescale_boxes(boxes: Tensor, scale_factor: Sequence[float]) -> Tensor:
        """(N, 5) rotated boxes in input pixels -> in original image pixels (``scale_factor``
        (w, h) of the resize from the original image to the input)."""
        return scale_rboxes(boxes, scale_factor)

    @staticmethod
    def box_sizes(boxes: Tensor) -> Tensor:
        """(..., 5) rotated boxes -> (..., 2) sides w and h, in the boxes' pixels."""
        return boxes[..., 2:4]

    def _batched_nms(
        self, boxes: Tensor, scores: Tensor, labels: Tensor, nms_cfg: dict
    ) -> Tuple[Tensor, Tensor]:
        """Class-aware rotated NMS of (N, 5) boxes by :func:`batched_rbox_nms` (``nms_cfg`` is
        ``dict(type='nms_rotated', iou_threshold=...)``; exact where mmcv's ``nms_rotated`` is
        not) -> (K, 6) boxes with the score last and the (K,) kept indices, best first."""
        return batched_rbox_nms(boxes, scores, labels, nms_cfg)

    # ------------------------------------------------------------------ training
    def loss_by_feat(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        angle_preds: Sequence[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore=None,
    ) -> dict:
        """Quality focal loss, rotated box loss and the optional angle loss, all normalised by
        the sum of the assigned IoUs over the batch. Ground-truth ``bboxes`` are rotated boxes
        (``RotatedBoxes`` or (G, 5) tensors).

        Returns:
            ``loss_cls``, ``loss_bbox`` and, with ``loss_angle``, ``loss_angle`` scalars.
        """
        losses, _, _ = self._detection_losses(
            cls_scores, self.box_maps(bbox_preds, angle_preds), batch_gt_instances, batch_img_metas
        )
        return losses

    def _box_losses(
        self,
        flat_preds: Tensor,
        flat_boxes: Tensor,
        box_targets: Tensor,
        positive: Tensor,
        assign_metrics: Tensor,
        priors: Tensor,
    ) -> dict:
        """``loss_bbox`` (rotated boxes, or horizontal with ``use_hbbox_loss``) and
        ``loss_angle`` (with ``loss_angle``), summed over the positives weighted by their IoU.
        Targets are first spelled in ``angle_version``."""
        with_angle_loss = self.loss_angle is not None
        if not positive.any():
            zero_boxes = flat_preds[..., :4] if self.use_hbbox_loss else flat_boxes
            losses = dict(loss_bbox=zero_boxes.sum() * 0)
            if with_angle_loss:
                losses['loss_angle'] = flat_preds[..., 4:].sum() * 0
            return losses
        weights = assign_metrics[positive]
        targets = regularize_rboxes(box_targets[positive], self.angle_version)
        if self.use_hbbox_loss:
            points = priors[:, :2].expand(flat_preds.size(0), -1, -1)[positive]
            pred_boxes = distance_to_box(points, flat_preds[positive][:, :4])
            target_boxes = bbox_cxcywh_to_xyxy(targets[:, :4])
        else:
            pred_boxes, target_boxes = flat_boxes[positive], targets
        losses = dict(
            loss_bbox=self.loss_bbox(pred_boxes, target_boxes, weight=weights, avg_factor=1.0)
        )
        if with_angle_loss:
            angle_targets = self.angle_coder.encode(targets[:, 4:5])
            angle_weights = weights[:, None] if angle_targets.dim() == 2 else weights
            losses['loss_angle'] = self.loss_angle(
                flat_preds[positive][:, 4:], angle_targets, weight=angle_weights, avg_factor=1.0
            )
        return losses

    # ------------------------------------------------------------------ prediction
    def predict_by_feat(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        angle_preds: Sequence[Tensor],
        score_factors=None,
        batch_img_metas: Optional[List[dict]] = None,
        cfg: Optional[ConfigDict] = None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> List[InstanceData]:
        """Per-level outputs -> rotated detections of every image: :class:`RTMDetHead`'s
        prediction on the stacked box maps, with this head's box format.

        Returns:
            One ``InstanceData`` per image with ``bboxes`` ``RotatedBoxes`` (N, 5) cx, cy, w, h,
            angle (original image pixels when ``rescale``), ``scores`` (N,), ``labels`` (N,).
        """
        results = super().predict_by_feat(
            cls_scores,
            self.box_maps(bbox_preds, angle_preds),
            batch_img_metas=batch_img_metas,
            cfg=cfg,
            rescale=rescale,
            with_nms=with_nms,
        )
        for result in results:
            result.bboxes = RotatedBoxes(result.bboxes)
        return results


@MODELS.register_module()
class RotatedRTMDetSepBNHead(RotatedRTMDetHead):
    """RTMDet-R head with towers, norms and prediction convs (angle conv included) per level
    and no scales; with ``share_conv`` the tower conv weights are shared across levels, norms
    stay separate.

    Args:
        share_conv, use_depthwise, exp_on_reg: as :class:`RTMDetSepBNHead`.
        scale_angle: must be False (no angle scale in this head, as in mmrotate).

    Other arguments as :class:`RotatedRTMDetHead`, with BN + SiLU and 1x1 prediction convs by
    default.
    """

    separate_levels = True

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        share_conv: bool = True,
        use_depthwise: bool = False,
        exp_on_reg: bool = False,
        scale_angle: bool = False,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU'),
        pred_kernel_size: int = 1,
        **kwargs,
    ) -> None:
        if scale_angle:
            raise ValueError(
                'RotatedRTMDetSepBNHead has no angle scale: set scale_angle=False '
                '(or use RotatedRTMDetHead)'
            )
        self.share_conv = share_conv
        self.use_depthwise = use_depthwise
        self.exp_on_reg = exp_on_reg
        super().__init__(
            num_classes,
            in_channels,
            scale_angle=False,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            pred_kernel_size=pred_kernel_size,
            **kwargs,
        )
