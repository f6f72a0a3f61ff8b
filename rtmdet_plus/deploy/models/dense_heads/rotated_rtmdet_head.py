"""``RotatedRTMDetHead.predict_by_feat`` for export: rotated decoding and rotated NMS in the
graph (one ``mmdeploy::NMSRotated`` over the best (prior, class) pairs under ONNX Runtime, the
TRTBatchedRotatedNMS plugin under TensorRT: :func:`rtmdet_plus.deploy.nms.class_aware_nms`),
images kept apart by the batched op."""

from typing import List, Optional

from mmdeploy.core import FUNCTION_REWRITER
from mmengine.config import ConfigDict
from torch import Tensor

from rtmdet_plus.deploy.nms import class_aware_nms, nms_settings

from .rtmdet_head import drop_small_boxes, flat_outputs


@FUNCTION_REWRITER.register_rewriter(
    func_name='rtmdet_plus.models.dense_heads.rotated_rtmdet_head.RotatedRTMDetHead.predict_by_feat'
)
def rtmdet_plus_rotated_rtmdet_head__predict_by_feat(
    self,
    cls_scores: List[Tensor],
    bbox_preds: List[Tensor],
    angle_preds: List[Tensor],
    score_factors=None,
    batch_img_metas: Optional[List[dict]] = None,
    cfg: Optional[ConfigDict] = None,
    rescale: bool = False,
    with_nms: bool = True,
):
    """-> dets (B, N, 6) cx cy w h angle score (input pixels, radians in the head's
    ``angle_version``; zero rows past the last detection) and labels (B, N); without NMS,
    (B, P, 5) boxes and (B, P, C) scores."""
    ctx = FUNCTION_REWRITER.get_context()
    cfg = self.test_cfg if cfg is None else cfg
    priors, scores, box_preds = flat_outputs(
        self, cls_scores, self.box_maps(bbox_preds, angle_preds)
    )
    boxes = self.decode_boxes(priors[:, :2], box_preds)
    scores = drop_small_boxes(scores, self.box_sizes(boxes), cfg)
    if not with_nms:
        return boxes, scores
    return class_aware_nms(
        boxes, scores, ctx.cfg, nms_settings(cfg, ctx.cfg), nms_type='nms_rotated'
    )
