"""Backend outputs -> detections on the original image, as the PyTorch heads give them.

The exported graphs stop at the (padded) network input; what remains is per image: drop the
zero-score padding rows, rescale boxes by ``scale_factor`` and clip them to the original image,
and bring masks from the padded input to the original image, with the heads' own functions
(``scale_boxes``, ``scale_rboxes``, ``mask_logits_to_image``).
"""

import math

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

from rtmdet_plus.models.dense_heads.rtmdet_ins_head import mask_logits_to_image
from rtmdet_plus.structures import RotatedBoxes, scale_boxes, scale_rboxes


def _as_tensor(array) -> Tensor:
    return array if isinstance(array, Tensor) else torch.from_numpy(np.asarray(array))


def mask_logit_threshold(mask_thr: float) -> float:
    """The logit of the probability threshold ``mask_thr`` (0 < mask_thr < 1)."""
    return math.log(mask_thr / (1 - mask_thr))


def masks_to_image(logits: Tensor, img_meta: dict, mask_thr: float = 0.5) -> Tensor:
    """(N, H_pad, W_pad) mask logits on the padded input -> (N, h, w) bool masks on the
    original image ((h, w) = ``ori_shape``): the head's resize
    (:func:`~rtmdet_plus.models.dense_heads.rtmdet_ins_head.mask_logits_to_image` at stride 1),
    then probability above ``mask_thr``."""
    logits = mask_logits_to_image(logits.float(), 1, img_meta, rescale=True)
    return logits > mask_logit_threshold(mask_thr)


def instances_from_outputs(
    dets,
    labels,
    img_meta: dict,
    masks=None,
    mask_thr: float = 0.5,
    rescale: bool = True,
    min_bbox_size: float = 0,
) -> InstanceData:
    """One image's backend outputs -> ``InstanceData`` like the PyTorch model's prediction.

    Args:
        dets: (N, 5) x1 y1 x2 y2 score, or (N, 6) cx cy w h angle score, input pixels.
        labels: (N,) class indices.
        img_meta: ``scale_factor`` (w, h) and ``ori_shape`` of the image (and ``img_shape``).
        masks: optional (N, H_pad, W_pad) mask logits on the padded input.
        mask_thr: probability above which a mask pixel is set.
        rescale: map to the original image (else keep input pixels).
        min_bbox_size: drop boxes at most this wide or high after clipping (boxes that lay in
            the padding become empty); negative keeps all.

    Returns:
        ``bboxes`` ((M, 4) tensor or ``RotatedBoxes`` (M, 5)), ``scores`` (M,), ``labels`` (M,)
        and with masks ``masks`` (M, h, w) bool, M the rows with a positive score and a size
        above ``min_bbox_size``.
    """
    dets, labels = _as_tensor(dets).float(), _as_tensor(labels).long()
    keep = dets[:, -1] > 0
    dets, labels = dets[keep], labels[keep]
    boxes, scores = dets[:, :-1], dets[:, -1]
    rotated = boxes.shape[-1] == 5
    if rescale:
        if rotated:
            boxes = scale_rboxes(boxes, img_meta['scale_factor'])
        else:
            boxes = scale_boxes(boxes, img_meta['scale_factor'])
            ori_h, ori_w = img_meta['ori_shape'][:2]
            boxes = torch.stack(
                [
                    boxes[:, 0].clamp(0, ori_w),
                    boxes[:, 1].clamp(0, ori_h),
                    boxes[:, 2].clamp(0, ori_w),
                    boxes[:, 3].clamp(0, ori_h),
                ],
                -1,
            )
    if min_bbox_size >= 0:
        sizes = boxes[:, 2:4] if rotated else boxes[:, 2:4] - boxes[:, :2]
        big = (sizes > min_bbox_size).all(dim=1)
        keep[keep.clone()] = big
        boxes, scores, labels = boxes[big], scores[big], labels[big]
    result = InstanceData(
        bboxes=RotatedBoxes(boxes) if rotated else boxes, scores=scores, labels=labels
    )
    if masks is not None:
        logits = _as_tensor(masks)[keep]
        result.masks = (
            masks_to_image(logits, img_meta, mask_thr)
            if rescale
            else logits > mask_logit_threshold(mask_thr)
        )
    return result


def sdk_instances(result, rotated: bool = False) -> InstanceData:
    """An ``mmdeploy_runtime`` Detector / RotatedDetector result -> ``InstanceData``.

    Detector gives (bboxes (N, 5) x1 y1 x2 y2 score, labels (N,), masks: list of (h, w) uint8,
    empty arrays for a model without masks);
    RotatedDetector gives (dets (N, 6) cx cy w h angle score, labels (N,)). Coordinates are on
    the original image.
    """
    dets, labels = np.asarray(result[0], dtype=np.float32), np.asarray(result[1])
    dets = dets.reshape(-1, 6 if rotated else 5)
    boxes = torch.from_numpy(dets[:, :-1].copy())
    out = InstanceData(
        bboxes=RotatedBoxes(boxes) if rotated else boxes,
        scores=torch.from_numpy(dets[:, -1].copy()),
        labels=torch.from_numpy(labels.astype(np.int64)),
    )
    masks = [np.asarray(mask) for mask in result[2]] if len(result) > 2 else []
    if not rotated and masks and all(mask.ndim == 2 and mask.size for mask in masks):
        out.masks = torch.from_numpy(np.stack([mask > 0 for mask in masks]))
    return out
