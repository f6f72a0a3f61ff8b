"""RTMDet-Ins instance-segmentation heads.

On top of the RTMDet detection head: a kernel tower and conv per level predicting, for every
prior, the parameters of a small dynamic 1x1 conv stack; a prototype branch
(:class:`MaskFeatModule`) fusing all levels into ``num_prototypes`` maps at the finest stride.
An instance's mask logits are its dynamic convs applied to (relative coordinates of every
location to its prior, in units of 8 prior strides; prototypes).

Training: the detection losses of :class:`RTMDetHead` (with mask centroids as the assigner's
centre prior) plus a Dice loss between the positives' mask logits, upsampled to stride
``mask_loss_stride``, and their ground-truth masks sampled at that stride.
Prediction: detections as RTMDet, then masks of the kept detections upsampled to the input and,
with ``rescale``, to the original image (height and width by their own scale factors).

State-dict names equal mmdet's ``RTMDetInsHead`` / ``RTMDetInsSepBNHead``.
"""

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.utils import reduce_mean
from mmengine.config import ConfigDict
from mmengine.model import normal_init
from mmengine.structures import InstanceData
from torch import Tensor

from rtmdet_plus.models.layers import DynamicMaskConvs, MaskFeatModule
from rtmdet_plus.registry import MODELS
from rtmdet_plus.structures import masks_as_tensor

from .rtmdet_head import RTMDetHead

# Relative coordinates are divided by this many strides of the instance's prior.
COORD_NORM_STRIDES = 8


def relative_coordinates(priors: Tensor, points: Tensor) -> Tensor:
    """Coordinates of grid points relative to instances' priors, the dynamic convs' extra input.

    Args:
        priors: (..., 4) cx, cy, stride_w, stride_h of each instance's prior, input pixels.
        points: (M, 2) x y of the grid points (the prototype grid), input pixels.

    Returns:
        (..., 2, M) ``(prior centre - point) / (COORD_NORM_STRIDES * stride_w)``, x then y,
        in units of ``COORD_NORM_STRIDES`` prior strides.
    """
    scale = priors[..., 2:3, None] * COORD_NORM_STRIDES  # (..., 1, 1)
    return (priors[..., :2, None] - points.t()) / scale  # (..., 2, M)


def mask_logits_to_image(logits: Tensor, stride: int, img_meta: dict, rescale: bool) -> Tensor:
    """Mask logits at the prototype resolution -> logits on the image.

    Args:
        logits: (N, h, w) logits on the prototype grid (stride ``stride`` of the padded input).
        stride: stride of the prototype grid, in input pixels.
        img_meta: ``img_shape``, and with ``rescale`` ``ori_shape`` and ``scale_factor``
            (w_scale, h_scale) of the resize from the original image to the input.
        rescale: map to the original image instead of the (unpadded) input image.

    Returns:
        (N, H, W) logits, (H, W) = ``ori_shape`` with ``rescale`` else ``img_shape``.
        Bilinear upsampling to the padded input, then (with ``rescale``) bilinear resizing of
        the padded input by 1 / h_scale vertically and 1 / w_scale horizontally; the padding
        falls off the bottom/right crop. (mmdet 3.3.0 swaps the two factors, issue 11230.)
    """
    height, width = (img_meta['ori_shape'] if rescale else img_meta['img_shape'])[:2]
    if logits.shape[0] == 0:
        return logits.new_zeros((0, height, width))
    logits = logits.unsqueeze(0)
    if stride != 1:
        logits = F.interpolate(logits, scale_factor=stride, mode='bilinear')
    if rescale:
        w_scale, h_scale = img_meta['scale_factor'][:2]
        inv_w, inv_h = 1 / w_scale, 1 / h_scale
        size = [math.ceil(logits.shape[-2] * inv_h), math.ceil(logits.shape[-1] * inv_w)]
        logits = F.interpolate(logits, size=size, mode='bilinear', align_corners=False)
    return logits[0, :, :height, :width]


@MODELS.register_module()
class RTMDetInsHead(RTMDetHead):
    """RTMDet-Ins head: towers shared by all levels (as :class:`RTMDetHead`) plus a kernel tower.

    Args:
        num_prototypes: prototype maps K of the mask branch.
        dyconv_channels: channels of the dynamic convs.
        num_dyconvs: number of dynamic 1x1 convs.
        mask_loss_stride: stride (input pixels) at which the mask loss compares masks; the
            finest prior stride must be a multiple of it.
        loss_mask: mask loss config (mmdet's ``DiceLoss``), called on (N, H, W) logits and
            targets with ``avg_factor`` = number of positives.

    Other arguments as :class:`RTMDetHead`; ``test_cfg`` also takes ``mask_thr_binary`` (0.5
    if absent).

    Outputs of :meth:`forward`: per level (B, C, H, W) class logits, (B, 4, H, W) side
    distances (``scale * reg * stride``, no exp) and (B, num_gen_params, H, W) dynamic-conv
    parameters; and (B, K, H_0, W_0) prototypes at the finest level.

    Public surface for export, besides :class:`RTMDetHead`'s: :meth:`relative_coords`,
    ``dynamic_convs`` (:class:`DynamicMaskConvs`: parameter layout) and ``num_gen_params``.
    """

    exp_on_reg = False

    def __init__(
        self,
        *args,
        num_prototypes: int = 8,
        dyconv_channels: int = 8,
        num_dyconvs: int = 3,
        mask_loss_stride: int = 4,
        loss_mask=dict(type='DiceLoss', loss_weight=2.0, eps=5e-6, reduction='mean'),
        **kwargs,
    ) -> None:
        self.num_prototypes = num_prototypes
        self.dyconv_channels = dyconv_channels
        self.num_dyconvs = num_dyconvs
        self.mask_loss_stride = mask_loss_stride
        self.dynamic_convs = DynamicMaskConvs(num_prototypes, dyconv_channels, num_dyconvs)
        self.num_gen_params = self.dynamic_convs.num_params
        super().__init__(*args, **kwargs)
        if self.strides[0] % mask_loss_stride:
            raise ValueError(
                f'mask_loss_stride={mask_loss_stride} must divide the finest prior '
                f'stride {self.strides[0]}'
            )
        self.loss_mask = MODELS.build(loss_mask)

    # ------------------------------------------------------------------ network
    def _mask_feat_module(self) -> MaskFeatModule:
        return MaskFeatModule(
            in_channels=self.in_channels,
            feat_channels=self.feat_channels,
            stacked_convs=4,
            num_levels=len(self.strides),
            num_prototypes=self.num_prototypes,
            act_cfg=self.act_cfg,
            norm_cfg=self.norm_cfg,
        )

    def _init_layers(self) -> None:
        super()._init_layers()
        self.kernel_convs = self._towers(share_conv=False)
        self.rtm_kernel = self._pred_conv(self.num_gen_params)
        self.mask_head = self._mask_feat_module()

    def forward(self, feats: Sequence[Tensor]):
        """(B, in_channels, H_l, W_l) maps -> class logits, side distances and dynamic-conv
        parameters per level, and the prototypes."""
        prototypes = self.mask_head(feats)
        cls_scores, bbox_preds, kernel_preds = [], [], []
        for level, x in enumerate(feats):
            cls_score, bbox_pred = self._level_predictions(*self._level_features(x, level), level)
            kernel_conv = self._at_level(self.rtm_kernel, level)
            kernel_feat = x
            for layer in self._at_level(self.kernel_convs, level):
                kernel_feat = layer(kernel_feat)
            cls_scores.append(cls_score)
            bbox_preds.append(bbox_pred)
            kernel_preds.append(kernel_conv(kernel_feat))
        return tuple(cls_scores), tuple(bbox_preds), tuple(kernel_preds), prototypes

    # ------------------------------------------------------------------ masks
    def relative_coords(self, priors: Tensor, prototype_size: Sequence[int]) -> Tensor:
        """(..., 4) priors cx, cy, stride_w, stride_h (input pixels) -> (..., 2, h*w)
        coordinates of every prototype cell relative to each prior, in units of
        ``COORD_NORM_STRIDES`` prior strides (:func:`relative_coordinates`); the prototype
        grid of ``prototype_size`` (h, w) has the finest stride, cells row-major."""
        points = self.prior_generator.single_level_grid_priors(
            prototype_size, level_idx=0, dtype=priors.dtype, device=priors.device
        )  # (h*w, 2)
        return relative_coordinates(priors, points)

    def mask_logits(
        self,
        prototypes: Tensor,
        kernels: Tensor,
        priors: Tensor,
        image_index: Optional[Tensor] = None,
    ) -> Tensor:
        """Mask logits of instances on the prototype grid.

        Args:
            prototypes: (B, K, h, w), or (K, h, w) for one image.
            kernels: (N, num_gen_params) dynamic-conv parameters of each instance.
            priors: (N, 4) cx, cy, stride_w, stride_h of each instance's prior (input pixels).
            image_index: (N,) image of each instance; None = all in image 0.

        Returns:
            (N, h, w) logits.
        """
        if prototypes.dim() == 3:
            prototypes = prototypes.unsqueeze(0)
        height, width = prototypes.shape[-2:]
        if kernels.shape[0] == 0:
            return prototypes.new_zeros((0, height, width))
        if image_index is None:
            image_index = torch.zeros(kernels.shape[0], dtype=torch.long, device=kernels.device)
        rel_coords = self.relative_coords(priors, (height, width))  # (N, 2, h*w)
        return self.dynamic_convs(kernels, rel_coords, prototypes, image_index)

    # ------------------------------------------------------------------ training
    def _gt_with_mask_tensors(
        self, batch_gt_instances: List[InstanceData], canvas: Tuple[int, int], device
    ) -> List[InstanceData]:
        """Copies of the ground truth whose ``masks`` are (G, H, W) bool tensors zero-padded
        at the bottom/right to ``canvas`` (the prototype grid times its stride)."""
        converted = []
        for img, gt in enumerate(batch_gt_instances):
            if 'masks' not in gt:
                raise ValueError(
                    f'{type(self).__name__} needs ground-truth masks, but image {img} of the batch '
                    'has none: load them with LoadAnnotations(with_mask=True)'
                )
            masks = masks_as_tensor(gt.masks, device)
            num_boxes = len(gt.labels)
            if masks.dim() != 3 or masks.shape[0] != num_boxes:
                raise ValueError(
                    f'image {img}: {num_boxes} ground-truth boxes but masks of shape '
                    f'{tuple(masks.shape)}; each instance needs one (H, W) mask'
                )
            height, width = masks.shape[-2:]
            if height > canvas[0] or width > canvas[1]:
                raise ValueError(
                    f'image {img}: masks of size {height}x{width} exceed the network '
                    f'input {canvas[0]}x{canvas[1]}; resize/pad masks with the image'
                )
            masks = F.pad(masks, (0, canvas[1] - width, 0, canvas[0] - height))
            new_gt = gt.clone()
            new_gt.masks = masks
            converted.append(new_gt)
        return converted

    def loss_by_feat(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        kernel_preds: Sequence[Tensor],
        prototypes: Tensor,
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore=None,
    ) -> dict:
        """Detection losses (assigner centred on mask centroids) and the Dice mask loss.

        Returns:
            ``loss_cls``, ``loss_bbox``, ``loss_mask`` scalars.
        """
        canvas = tuple(size * self.strides[0] for size in prototypes.shape[-2:])
        gts = self._gt_with_mask_tensors(batch_gt_instances, canvas, prototypes.device)
        losses, matched_gt, priors = self._detection_losses(
            cls_scores, bbox_preds, gts, batch_img_metas
        )
        flat_kernels = self.flatten_levels(kernel_preds, self.num_gen_params)
        losses['loss_mask'] = self.mask_loss(prototypes, flat_kernels, priors, matched_gt, gts)
        return losses

    def mask_loss(
        self,
        prototypes: Tensor,
        flat_kernels: Tensor,
        priors: Tensor,
        matched_gt: Tensor,
        batch_gt_instances: List[InstanceData],
    ) -> Tensor:
        """Dice loss of all positive priors of the batch.

        Args:
            prototypes: (B, K, h, w).
            flat_kernels: (B, P, num_gen_params).
            priors: (P, 4) cx, cy, stride_w, stride_h.
            matched_gt: (B, P) assigned ground truth index, -1 for background.
            batch_gt_instances: ``masks`` (G, h * s0, w * s0) bool tensors, s0 the finest stride.

        Returns:
            Scalar loss averaged over the positives (over all processes when distributed).
        """
        image_index, prior_index = (matched_gt >= 0).nonzero(as_tuple=True)
        num_pos = reduce_mean(prototypes.new_tensor([float(image_index.numel())]))
        num_pos = num_pos.clamp_(min=1).item()
        if image_index.numel() == 0:
            return prototypes.sum() * 0
        logits = self.mask_logits(
            prototypes, flat_kernels[image_index, prior_index], priors[prior_index], image_index
        )
        logits = F.interpolate(
            logits.unsqueeze(0),
            scale_factor=self.strides[0] // self.mask_loss_stride,
            mode='bilinear',
            align_corners=False,
        ).squeeze(0)
        # Ground truth sampled at the centre of every mask_loss_stride cell, then gathered.
        step, start = self.mask_loss_stride, self.mask_loss_stride // 2
        sampled = [gt.masks[:, start::step, start::step] for gt in batch_gt_instances]
        offsets = torch.tensor([0] + [len(m) for m in sampled], device=matched_gt.device).cumsum(0)
        targets = torch.cat(sampled)[offsets[image_index] + matched_gt[image_index, prior_index]]
        return self.loss_mask(logits, targets, weight=None, avg_factor=num_pos)

    # ------------------------------------------------------------------ prediction
    def predict_by_feat(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        kernel_preds: Sequence[Tensor],
        prototypes: Tensor,
        score_factors=None,
        batch_img_metas: Optional[List[dict]] = None,
        cfg: Optional[ConfigDict] = None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> List[InstanceData]:
        """Per-level outputs -> detections with masks of every image.

        Returns:
            One ``InstanceData`` per image: ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,)
            as :meth:`RTMDetHead.predict_by_feat`, and ``masks`` (N, H, W) bool, (H, W) the
            original image with ``rescale``, else the input image (``img_shape``).
        """
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        level_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device, with_stride=True
        )
        results = []
        for img, img_meta in enumerate(batch_img_metas):
            extras = [
                dict(
                    kernels=kernel[img].permute(1, 2, 0).reshape(-1, self.num_gen_params),
                    priors=priors,
                )
                for kernel, priors in zip(kernel_preds, level_priors)
            ]
            result = self._select_candidates(
                [score[img] for score in cls_scores],
                [pred[img] for pred in bbox_preds],
                level_priors,
                img_meta,
                cfg,
                extras,
            )
            result = self._post_process(result, cfg, rescale, with_nms, img_meta)
            logits = self.mask_logits(prototypes[img], result.kernels, result.priors)
            logits = mask_logits_to_image(logits, self.strides[0], img_meta, rescale)
            result.masks = logits.sigmoid() > cfg.get('mask_thr_binary', 0.5)
            del result.kernels, result.priors
            results.append(result)
        return results


@MODELS.register_module()
class RTMDetInsSepBNHead(RTMDetInsHead):
    """RTMDet-Ins head with towers, norms and prediction convs per level and no scales; with
    ``share_conv`` the classification tower's conv weights are shared across levels (norms
    stay separate).

    As in mmdet's checkpoints, the regression branch runs on the classification tower: the
    state dict carries the same tensors under ``cls_convs.*`` and ``reg_convs.*``. Kernel towers
    are never shared. Distances are ``relu(reg) * stride``; the box conv's bias starts at 1.

    Arguments as :class:`RTMDetInsHead`, with BN + SiLU, 1x1 prediction convs and no
    objectness by default.
    """

    separate_levels = True

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        share_conv: bool = True,
        with_objectness: bool = False,
        norm_cfg=dict(type='BN', requires_grad=True),
        act_cfg=dict(type='SiLU', inplace=True),
        pred_kernel_size: int = 1,
        **kwargs,
    ) -> None:
        if kwargs.get('use_depthwise') or kwargs.get('exp_on_reg'):
            raise ValueError(f'{type(self).__name__} supports neither use_depthwise nor exp_on_reg')
        kwargs.pop('use_depthwise', None)
        kwargs.pop('exp_on_reg', None)
        self.share_conv = share_conv
        super().__init__(
            num_classes,
            in_channels,
            with_objectness=with_objectness,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            pred_kernel_size=pred_kernel_size,
            **kwargs,
        )

    def _init_layers(self) -> None:
        # Registration order gives mmdet's state-dict key order.
        self.cls_convs = self._towers()
        self.reg_convs = nn.ModuleList(list(self.cls_convs))  # the same towers, see class doc
        self.kernel_convs = self._towers(share_conv=False)
        self.rtm_cls = self._pred_conv(self.num_base_priors * self.cls_out_channels)
        self.rtm_reg = self._pred_conv(self.num_base_priors * 4)
        self.rtm_kernel = self._pred_conv(self.num_gen_params)
        if self.with_objectness:
            self.rtm_obj = self._pred_conv(1)
        self.mask_head = self._mask_feat_module()

    def init_weights(self) -> None:
        super().init_weights()
        for reg_conv in self.rtm_reg:
            normal_init(reg_conv, std=0.01, bias=1)

    def _distances(self, reg_out: Tensor, level: int) -> Tensor:
        return F.relu(reg_out) * self.strides[level]
