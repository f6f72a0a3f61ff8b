"""Class-aware NMS over the best (prior, class) pairs, for ONNX Runtime and OpenVINO graphs.

What the PyTorch heads do, in one NMS call: the ``pre_top_k`` best (prior, class) pairs of
each image (the heads' ``nms_pre`` is also over pairs), every class moved to its own region of
the plane (boxes of different classes then never overlap, so one class-agnostic NMS is
class-aware, as mmcv's ``batched_nms``), then the ``keep_top_k`` best survivors.

MMDeploy's ``multiclass_nms`` instead takes the ``pre_top_k`` best priors and runs the NMS op
once per class over all of them: at 80 classes that is 80 sorts of ``pre_top_k`` boxes, most of
an RTMDet-tiny graph's post-processing time on a CPU. The TensorRT plugins keep MMDeploy's
per-class form (:func:`class_aware_nms` hands TensorRT back to ``multiclass_nms``).

Outputs have static shapes: ``keep_top_k`` rows per image, best first, rows past the last
detection all zero (score 0, which every consumer drops).
"""

from typing import Tuple

import torch
from mmdeploy.codebase.mmdet.deploy import get_post_processing_params
from mmdeploy.mmcv.ops import multiclass_nms
from mmdeploy.mmcv.ops.nms import ONNXNMSop
from mmdeploy.mmcv.ops.nms_rotated import ONNXNMSRotatedOp
from mmdeploy.utils import Backend, get_backend, is_dynamic_shape
from mmengine.config import ConfigDict
from torch import Tensor


def nms_settings(cfg: ConfigDict, deploy_cfg) -> dict:
    """NMS keyword arguments from a head's ``test_cfg`` (first) and the deploy config's
    ``codebase_config.post_processing`` (where ``test_cfg`` says nothing): ``iou_threshold``,
    ``score_threshold``, ``pre_top_k`` (candidates), ``keep_top_k`` (output rows) and
    ``max_output_boxes_per_class`` (MMDeploy's per-class NMS)."""
    post = get_post_processing_params(deploy_cfg)
    keep_top_k = cfg.get('max_per_img', post.keep_top_k)
    return dict(
        max_output_boxes_per_class=max(post.max_output_boxes_per_class, keep_top_k),
        iou_threshold=cfg.nms.get('iou_threshold', post.iou_threshold),
        score_threshold=cfg.get('score_thr', post.score_threshold),
        pre_top_k=post.get('pre_top_k', -1),
        keep_top_k=keep_top_k,
    )


def top_pairs(scores: Tensor, k: int) -> Tuple[Tensor, Tensor, Tensor]:
    """The ``k`` best (prior, class) pairs of each image.

    Args:
        scores: (B, P, C) class probabilities.
        k: pairs to keep, at most P * C (-1: all).

    Returns:
        (B, k) scores, best first, (B, k) prior indices and (B, k) class labels.
    """
    num_classes = scores.shape[-1]
    flat = scores.flatten(1)
    if k <= 0:
        k = flat.shape[1]
    pair_scores, pairs = flat.topk(k, dim=1)
    priors = torch.div(pairs, num_classes, rounding_mode='floor')
    return pair_scores, priors, pairs - priors * num_classes


def offset_by_label(boxes: Tensor, labels: Tensor, rotated: bool) -> Tensor:
    """Boxes moved by ``label`` x (a step larger than any box's reach), so that boxes of
    different labels never overlap.

    Args:
        boxes: (B, K, 4) x1 y1 x2 y2, or (B, K, 5) cx cy w h angle.
        labels: (B, K) class labels.
    """
    if rotated:
        centers = boxes[..., :2]
        step = centers.max() - centers.min() + 2 * boxes[..., 2:4].max() + 1
        shift = (labels.to(boxes.dtype) * step).unsqueeze(-1)
        return torch.cat([centers + shift, boxes[..., 2:]], dim=-1)
    step = boxes.max() - boxes.min() + 1
    return boxes + (labels.to(boxes.dtype) * step).unsqueeze(-1)


class TracedNMSRotated(ONNXNMSRotatedOp):
    """``mmdeploy::NMSRotated`` (boxes (B, N, 5), scores (B, C, N) -> (num_selected, 3) rows
    image, class, box; MMDeploy's symbolic) with a cheap forward for tracing: the graph only
    needs the symbolic, and MMDeploy's forward runs mmcv's CPU op per image and class (minutes
    at RTMDet-R's candidate counts). This forward returns every (image, class 0, box) triple:
    valid indices of the right layout."""

    @staticmethod
    def forward(
        ctx, boxes: Tensor, scores: Tensor, iou_threshold: float, score_threshold: float
    ) -> Tensor:
        batch, _, num_boxes = scores.shape
        images = torch.arange(batch, device=boxes.device).repeat_interleave(num_boxes)
        box_index = torch.arange(num_boxes, device=boxes.device).repeat(batch)
        return torch.stack([images, torch.zeros_like(images), box_index], dim=1)


def _selected(
    boxes: Tensor,
    scores: Tensor,
    rotated: bool,
    max_output: int,
    iou_threshold: float,
    score_threshold: float,
) -> Tensor:
    """(num_selected, 3) rows image, 0, candidate of one class-agnostic NMS per image."""
    if rotated:
        return TracedNMSRotated.apply(boxes, scores, iou_threshold, score_threshold)
    return ONNXNMSop.apply(
        boxes,
        scores,
        max_output,
        torch.tensor([iou_threshold], dtype=torch.float32),
        torch.tensor([score_threshold], dtype=torch.float32),
    )


def pair_nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float,
    score_threshold: float,
    pre_top_k: int = -1,
    keep_top_k: int = -1,
    rotated: bool = False,
) -> Tuple[Tensor, Tensor, Tensor]:
    """Class-aware NMS of each image's ``pre_top_k`` best (prior, class) pairs.

    Args:
        boxes: (B, P, 4) x1 y1 x2 y2, or (B, P, 5) cx cy w h angle (``rotated``).
        scores: (B, P, C) class probabilities.
        iou_threshold, score_threshold: NMS thresholds (pairs scoring at most
            ``score_threshold`` are dropped).
        pre_top_k: candidate pairs per image (-1: all); keep_top_k: output rows (-1: all
            candidates).

    Returns:
        dets (B, R, 5 or 6) boxes and score, labels (B, R), priors (B, R) prior index of each
        row; R = ``keep_top_k``, rows best first, all zero past the last detection.
    """
    pair_scores, priors, labels = top_pairs(scores, pre_top_k)
    images = torch.arange(boxes.shape[0], device=boxes.device).unsqueeze(1)
    candidates = boxes[images, priors]  # (B, K, 4|5)
    num_candidates = pair_scores.shape[1]
    rows = num_candidates if keep_top_k <= 0 else min(keep_top_k, num_candidates)
    selected = _selected(
        offset_by_label(candidates, labels, rotated),
        pair_scores.unsqueeze(1),
        rotated,
        rows,
        iou_threshold,
        score_threshold,
    )
    kept = torch.zeros_like(pair_scores)
    kept[selected[:, 0], selected[:, 2]] = 1.0
    out_scores, order = (pair_scores * kept).topk(rows, dim=1)
    valid = (out_scores > 0).to(boxes.dtype).unsqueeze(-1)
    dets = torch.cat([candidates[images, order], out_scores.unsqueeze(-1)], dim=-1) * valid
    return dets, labels[images, order], priors[images, order]


def class_aware_nms(
    boxes: Tensor,
    scores: Tensor,
    deploy_cfg,
    settings: dict,
    nms_type: str = 'nms',
    output_index: bool = False,
) -> Tuple[Tensor, ...]:
    """The graph's NMS for ``deploy_cfg``'s backend: :func:`pair_nms` under ONNX Runtime and
    OpenVINO, MMDeploy's ``multiclass_nms`` (its TensorRT plugins) elsewhere.

    Args:
        boxes: (B, P, 4 or 5); scores: (B, P, C).
        deploy_cfg: the deploy config (backend; with static shapes, ``pre_top_k`` is capped at
            the candidates there are, since ONNX TopK cannot take more).
        settings: :func:`nms_settings`.
        nms_type: ``'nms'`` or ``'nms_rotated'``.
        output_index: also return (B, R) prior indices of the rows.

    Returns:
        dets (B, R, 5 or 6), labels (B, R) [, priors (B, R)].
    """
    pairs = get_backend(deploy_cfg) in (Backend.ONNXRUNTIME, Backend.OPENVINO)
    settings = dict(settings)
    if settings['pre_top_k'] > 0 and not is_dynamic_shape(deploy_cfg):
        candidates = scores.shape[1] * scores.shape[2] if pairs else scores.shape[1]
        settings['pre_top_k'] = min(settings['pre_top_k'], candidates)
    if pairs:
        dets, labels, priors = pair_nms(
            boxes,
            scores,
            settings['iou_threshold'],
            settings['score_threshold'],
            pre_top_k=settings['pre_top_k'],
            keep_top_k=settings['keep_top_k'],
            rotated=nms_type == 'nms_rotated',
        )
        return (dets, labels, priors) if output_index else (dets, labels)
    return multiclass_nms(boxes, scores, nms_type=nms_type, output_index=output_index, **settings)
