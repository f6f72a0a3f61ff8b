"""``RTMDetHead.predict_by_feat`` for export: batched decoding and NMS inside the graph.

The graph keeps what the PyTorch head computes: sigmoid class scores of every (prior, class),
boxes decoded from the side distances and clipped to the input (static shapes), then class-aware
NMS with the model's ``test_cfg`` thresholds (:func:`rtmdet_plus.deploy.nms.class_aware_nms`:
one ONNX ``NonMaxSuppression`` over the best (prior, class) pairs for ONNX Runtime, the
TRTBatchedNMS plugin for TensorRT). The pre-NMS top-k is over all levels' pairs instead of the
head's per-level one: the two agree whenever fewer than ``pre_top_k`` pairs pass ``score_thr``,
and otherwise on every detection above the low-score tail. Boxes at most ``min_bbox_size`` wide
or high get score 0, as the head drops them before NMS.

The rewriters use only the heads' public surface (``flat_priors``, ``flatten_levels``,
``decode_boxes``, ``box_sizes``, ``box_maps``, ``relative_coords``, ...; see
:class:`~rtmdet_plus.models.dense_heads.RTMDetHead`), never their private helpers.
"""

from typing import List, Optional, Sequence, Tuple

import torch
from mmdeploy.codebase.mmdet.deploy.utils import clip_bboxes
from mmdeploy.core import FUNCTION_REWRITER
from mmengine.config import ConfigDict
from torch import Tensor

from rtmdet_plus.deploy.nms import class_aware_nms, nms_settings


def flat_outputs(
    head, cls_scores: Sequence[Tensor], box_maps: Sequence[Tensor]
) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-level head outputs -> (P, 4) priors cx, cy, stride_w, stride_h, (B, P, C) class
    probabilities and (B, P, box_pred_channels) box outputs, levels finest first."""
    featmap_sizes = [score.shape[-2:] for score in cls_scores]
    priors = head.flat_priors(featmap_sizes, device=cls_scores[0].device, dtype=cls_scores[0].dtype)
    scores = head.flatten_levels(cls_scores, head.cls_out_channels).sigmoid()
    box_preds = head.flatten_levels(box_maps, head.box_pred_channels)
    return priors, scores, box_preds


def drop_small_boxes(scores: Tensor, sizes: Tensor, cfg: ConfigDict) -> Tensor:
    """Scores (B, P, C) zeroed where a box is at most ``cfg.min_bbox_size`` wide or high
    ((B, P, 2) ``sizes``, the head's ``box_sizes``), as the PyTorch head drops such boxes
    before NMS; zero scores fall under every NMS score threshold. Unchanged without
    ``min_bbox_size`` (or negative)."""
    min_size = cfg.get('min_bbox_size', -1)
    if min_size < 0:
        return scores
    keep = (sizes > min_size).all(dim=-1, keepdim=True)
    return scores * keep.to(scores.dtype)


def decode_clipped(head, priors: Tensor, box_preds: Tensor, batch_img_metas) -> Tensor:
    """(B, P, 4) boxes x1y1x2y2 in input pixels, clipped to the input's ``img_shape`` (a
    tensor for dynamic shapes, ints for static ones)."""
    boxes = head.decode_boxes(priors[:, :2], box_preds)
    img_shape = batch_img_metas[0]['img_shape'] if batch_img_metas else None
    if img_shape is None:
        return boxes
    x1, y1, x2, y2 = clip_bboxes(
        boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3], img_shape[:2]
    )
    return torch.stack([x1, y1, x2, y2], dim=-1)


@FUNCTION_REWRITER.register_rewriter(
    func_name='rtmdet_plus.models.dense_heads.rtmdet_head.RTMDetHead.predict_by_feat'
)
def rtmdet_plus_rtmdet_head__predict_by_feat(
    self,
    cls_scores: List[Tensor],
    bbox_preds: List[Tensor],
    score_factors=None,
    batch_img_metas: Optional[List[dict]] = None,
    cfg: Optional[ConfigDict] = None,
    rescale: bool = False,
    with_nms: bool = True,
):
    """Per-level (B, C, H, W) logits and (B, 4, H, W) distances -> dets (B, N, 5) x1 y1 x2 y2
    score (input pixels, zero rows past the last detection) and labels (B, N); without NMS,
    (B, P, 4) boxes and (B, P, C) scores."""
    ctx = FUNCTION_REWRITER.get_context()
    priors, scores, box_preds = flat_outputs(self, cls_scores, bbox_preds)
    boxes = decode_clipped(self, priors, box_preds, batch_img_metas)
    cfg = self.test_cfg if cfg is None else cfg
    scores = drop_small_boxes(scores, self.box_sizes(boxes), cfg)
    if not with_nms:
        return boxes, scores
    return class_aware_nms(boxes, scores, ctx.cfg, nms_settings(cfg, ctx.cfg))
