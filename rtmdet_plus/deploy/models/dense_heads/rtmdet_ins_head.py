"""``RTMDetInsHead.predict_by_feat`` for export: detections as the detection head, then the
kept instances' dynamic convs on the prototypes, all inside the graph; masks leave the graph as
logits on the input.

Unlike MMDeploy's rewriter for mmdet's RTMDet-Ins head, the coordinate grid is built on the
prototypes' own device (MMDeploy's asks mmdet's point generator for its default, CUDA, and fails
on a CPU-only torch).
"""

from typing import List, Optional

import torch
import torch.nn.functional as F
from mmdeploy.core import FUNCTION_REWRITER
from mmengine.config import ConfigDict
from torch import Tensor

from rtmdet_plus.deploy.nms import class_aware_nms, nms_settings

from .rtmdet_head import decode_clipped, drop_small_boxes, flat_outputs


def batched_mask_logits(head, prototypes: Tensor, kernels: Tensor, priors: Tensor) -> Tensor:
    """Mask logits of the kept instances of every image, without a per-image loop.

    Args:
        prototypes: (B, K, h, w) prototypes.
        kernels: (B, N, num_gen_params) dynamic-conv parameters of each kept instance.
        priors: (B, N, 4) cx, cy, stride_w, stride_h of their priors (input pixels).

    Returns:
        (B, N, h, w) logits on the prototype grid (the layout of :class:`DynamicMaskConvs`).
    """
    batch, num_inst = kernels.shape[:2]
    height, width = prototypes.shape[-2:]
    rel_coords = head.relative_coords(priors, (height, width))  # (B, N, 2, hw)
    weights, biases = head.dynamic_convs.split(kernels.reshape(batch * num_inst, -1))
    first = weights[0].reshape(batch, num_inst, -1, weights[0].shape[-1])  # (B, N, C, 2+K)
    x = (
        torch.matmul(first[..., :2], rel_coords)
        + torch.matmul(first[..., 2:], prototypes.flatten(2).unsqueeze(1))
        + biases[0].reshape(batch, num_inst, -1, 1)
    )  # (B, N, C, hw)
    x = x.reshape(batch * num_inst, x.shape[2], height * width)
    for layer in range(1, len(weights)):
        x = torch.baddbmm(biases[layer].unsqueeze(-1), weights[layer], F.relu(x))
    return x.reshape(batch, num_inst, height, width)


@FUNCTION_REWRITER.register_rewriter(
    func_name='rtmdet_plus.models.dense_heads.rtmdet_ins_head.RTMDetInsHead.predict_by_feat'
)
def rtmdet_plus_rtmdet_ins_head__predict_by_feat(
    self,
    cls_scores: List[Tensor],
    bbox_preds: List[Tensor],
    kernel_preds: List[Tensor],
    prototypes: Tensor,
    score_factors=None,
    batch_img_metas: Optional[List[dict]] = None,
    cfg: Optional[ConfigDict] = None,
    rescale: bool = False,
    with_nms: bool = True,
):
    """-> dets (B, N, 5), labels (B, N) as the detection head, and masks (B, N, H, W) mask
    logits on the (padded) input, H, W = prototype size x finest stride.

    Logits, not probabilities: the PyTorch head resizes logits to the original image and
    thresholds them there, and float32 probabilities cannot give saturated logits back, so a
    resize of probabilities moves mask borders by up to a pixel. The SDK's threshold is set to
    the logit of ``mask_thr_binary`` (see :mod:`rtmdet_plus.deploy.sdk`).
    """
    ctx = FUNCTION_REWRITER.get_context()
    cfg = self.test_cfg if cfg is None else cfg
    priors, scores, box_preds = flat_outputs(self, cls_scores, bbox_preds)
    boxes = decode_clipped(self, priors, box_preds, batch_img_metas)
    scores = drop_small_boxes(scores, self.box_sizes(boxes), cfg)
    flat_kernels = self.flatten_levels(kernel_preds, self.num_gen_params)
    dets, labels, keep = class_aware_nms(
        boxes, scores, ctx.cfg, nms_settings(cfg, ctx.cfg), output_index=True
    )
    batch_index = torch.arange(keep.shape[0], device=keep.device).unsqueeze(1)
    logits = batched_mask_logits(self, prototypes, flat_kernels[batch_index, keep], priors[keep])
    logits = F.interpolate(logits, scale_factor=self.strides[0], mode='bilinear')
    return dets, labels, logits
