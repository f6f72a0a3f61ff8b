"""``RotatedRTMDetHead.predict_by_feat`` for export: rotated decoding and rotated NMS in the
graph (``mmdeploy::NMSRotated`` under ONNX Runtime, the TRTBatchedRotatedNMS plugin under
TensorRT), images kept apart by the batched op."""
from typing import List, Optional

import torch
from mmdeploy.core import FUNCTION_REWRITER
from mmdeploy.mmcv.ops import multiclass_nms
from mmdeploy.mmcv.ops.nms_rotated import ONNXNMSRotatedOp, select_rnms_index
from mmengine.config import ConfigDict
from torch import Tensor

from .rtmdet_head import drop_small_boxes, flat_outputs, nms_settings


@FUNCTION_REWRITER.register_rewriter(
    func_name='rtmdet_plus.models.dense_heads.rotated_rtmdet_head.RotatedRTMDetHead.predict_by_feat')
def rtmdet_plus_rotated_rtmdet_head__predict_by_feat(self,
                                                     cls_scores: List[Tensor],
                                                     bbox_preds: List[Tensor],
                                                     angle_preds: List[Tensor],
                                                     score_factors=None,
                                                     batch_img_metas: Optional[List[dict]] = None,
                                                     cfg: Optional[ConfigDict] = None,
                                                     rescale: bool = False,
                                                     with_nms: bool = True):
    """-> dets (B, N, 6) cx cy w h angle score (input pixels, radians in the head's
    ``angle_version``; zero rows past the last detection) and labels (B, N); without NMS,
    (B, P, 5) boxes and (B, P, C) scores."""
    ctx = FUNCTION_REWRITER.get_context()
    cfg = self.test_cfg if cfg is None else cfg
    priors, scores, box_preds = flat_outputs(self, cls_scores,
                                             self._box_maps(bbox_preds, angle_preds))
    boxes = self._decode_boxes(priors[:, :2], box_preds)
    scores = drop_small_boxes(scores, boxes[..., 2:4], cfg)
    if not with_nms:
        return boxes, scores
    return multiclass_nms(boxes, scores, nms_type='nms_rotated',
                          **nms_settings(self, cfg, priors.shape[0], ctx.cfg))


class _TracedNMSRotated(ONNXNMSRotatedOp):
    """``mmdeploy::NMSRotated`` with a cheap forward for tracing.

    The graph only needs the op's symbolic; MMDeploy's forward runs mmcv's CPU ``nms_rotated``
    per image and class while tracing, which takes minutes at RTMDet-R's candidate counts. This
    forward returns every (image, class 0, box) triple: valid indices of the right layout.
    """

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, iou_threshold: float,
                score_threshold: float) -> Tensor:
        batch, _, num_boxes = scores.shape
        images = torch.arange(batch, device=boxes.device).repeat_interleave(num_boxes)
        box_index = torch.arange(num_boxes, device=boxes.device).repeat(batch)
        return torch.stack([images, torch.zeros_like(images), box_index], dim=1)


@FUNCTION_REWRITER.register_rewriter(
    func_name='mmdeploy.mmcv.ops.nms_rotated._multiclass_nms_rotated', backend='onnxruntime')
def rtmdet_plus_multiclass_nms_rotated__onnxruntime(boxes: Tensor,
                                                    scores: Tensor,
                                                    max_output_boxes_per_class: int = 1000,
                                                    iou_threshold: float = 0.1,
                                                    score_threshold: float = 0.05,
                                                    pre_top_k: int = -1,
                                                    keep_top_k: int = -1):
    """MMDeploy's batched NMSRotated for ONNX Runtime with :class:`_TracedNMSRotated`.

    Args:
        boxes: (B, N, 5) cx, cy, w, h, angle.
        scores: (B, N, C).

    Returns:
        dets (B, K, 6) (boxes and score, zero rows past the last one) and labels (B, K); each
        image's rows come from that image's boxes only (the op works image by image).
    """
    batch = scores.shape[0]
    if pre_top_k > 0:
        _, top = scores.max(-1)[0].topk(pre_top_k)
        image_index = torch.arange(batch, device=scores.device).unsqueeze(1)
        boxes, scores = boxes[image_index, top], scores[image_index, top]
    scores = scores.permute(0, 2, 1)
    selected = _TracedNMSRotated.apply(boxes, scores, iou_threshold, score_threshold)
    return select_rnms_index(scores, boxes, selected, batch, keep_top_k=keep_top_k)
