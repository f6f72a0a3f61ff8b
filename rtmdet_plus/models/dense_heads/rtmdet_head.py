"""RTMDet detection heads.

Network: per level, a classification tower and a regression tower of 3x3 convs, a 1x1 (or kxk)
classification conv, a box conv predicting distances to the four box sides, and optionally an
objectness conv on the regression tower. Training: dynamic soft-label assignment, quality focal
loss on the IoU-weighted soft labels, GIoU loss weighted by the assigned IoU. Prediction: per-level
score threshold and top-k, distance decoding, rescaling to the original image and class-aware NMS.

State-dict names equal mmdet's ``RTMDetHead`` / ``RTMDetSepBNHead``, so official checkpoints load
with ``strict=True``.
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule, Scale, is_norm
from mmcv.ops import batched_nms
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.utils import filter_scores_and_topk
from mmdet.utils import reduce_mean
from mmengine.config import ConfigDict
from mmengine.model import bias_init_with_prob, constant_init, normal_init
from mmengine.structures import InstanceData
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from rtmdet_plus.models.task_modules.assigners.dynamic_soft_label_assigner import mask_centers
from rtmdet_plus.registry import MODELS, TASK_UTILS
from rtmdet_plus.structures import distance_to_box, masks_as_tensor, scale_boxes


def objectness_weighted_logit(cls_logit: Tensor, obj_logit: Tensor, eps: float = 1e-5) -> Tensor:
    """Logit of ``sqrt(sigmoid(cls) * sigmoid(obj))``, the score of a head with objectness.

    Computed in log space so the gradient stays finite when both sigmoids underflow; the
    probability is clamped to [eps, 1 - eps] before the logit, as mmdet does.
    """
    prob = torch.exp(0.5 * (F.logsigmoid(cls_logit) + F.logsigmoid(obj_logit)))
    prob = prob.clamp(0, 1)
    return torch.log(prob.clamp(min=eps) / (1 - prob).clamp(min=eps))


def pad_ground_truth(
    batch_gt_instances: List[InstanceData], device, box_dim: int = 4
) -> Tuple[Tensor, Tensor, Tensor]:
    """Stack per-image ground truth into padded tensors.

    Args:
        box_dim: 4 for x1y1x2y2 boxes, 5 for rotated boxes (cx, cy, w, h, angle).

    Returns:
        boxes (B, G, box_dim) (zeros at padding), labels (B, G) long (-1 at padding),
        valid (B, G) bool, with G the largest count in the batch.
    """
    boxes = [
        gt.bboxes if isinstance(gt.bboxes, Tensor) else gt.bboxes.tensor
        for gt in batch_gt_instances
    ]
    boxes = pad_sequence(
        [b.to(device=device, dtype=torch.float32).reshape(-1, box_dim) for b in boxes],
        batch_first=True,
    )
    labels = pad_sequence(
        [gt.labels.to(device).long() for gt in batch_gt_instances],
        batch_first=True,
        padding_value=-1,
    )
    valid = labels >= 0
    return boxes, labels, valid


def padded_mask_centers(
    batch_gt_instances: List[InstanceData], num_padded: int, device
) -> Optional[Tensor]:
    """(B, G, 2) centres of mass (x y, input pixels) of the ground-truth masks, zeros at padding;
    None unless every image carries ``masks`` (then the assigner uses the box centres)."""
    if not batch_gt_instances or not all('masks' in gt for gt in batch_gt_instances):
        return None
    centers = torch.zeros(len(batch_gt_instances), num_padded, 2, device=device)
    for img, gt in enumerate(batch_gt_instances):
        masks = masks_as_tensor(gt.masks, device)
        if len(masks):
            centers[img, : len(masks)] = mask_centers(masks)
    return centers


class DenseTargets(NamedTuple):
    """Per-prior training targets of a batch (B images, P priors of all levels, finest first),
    as returned by :meth:`RTMDetHead.get_targets` and :meth:`RTMDetHead.get_targets_batched`.
    """

    labels: Tensor  # (B, P) long, ``num_classes`` for background
    label_weights: Tensor  # (B, P), 0 for priors outside the padded image
    box_targets: Tensor  # (B, P, D) assigned ground-truth boxes, D = 4 (x1y1x2y2) or 5
    assign_metrics: Tensor  # (B, P) IoU with the assigned ground truth, 0 elsewhere
    matched_gt: Tensor  # (B, P) long, index of the assigned ground truth, -1 for background


@MODELS.register_module()
class RTMDetHead(BaseDenseHead):
    """RTMDet head with one set of towers shared by all levels and a learnable scale per level.

    Args:
        num_classes: number of object classes (no background class).
        in_channels: channels of every input feature map.
        feat_channels: channels inside the towers.
        stacked_convs: 3x3 convs in each tower.
        with_objectness: multiply class scores by an objectness (geometric mean of sigmoids).
        pred_kernel_size: kernel size of the prediction convs.
        anchor_generator: prior generator config (``MlvlPointGenerator``, offset 0).
        bbox_coder: accepted for config compatibility; the head always decodes
            (left, top, right, bottom) distances from the prior points.
        loss_cls: classification loss config (``QualityFocalLoss``).
        loss_bbox: box loss config (``GIoULoss``) on decoded boxes.
        train_cfg: ``assigner`` config (``DynamicSoftLabelAssigner``); ``allowed_border`` must be
            negative (priors are points); ``pos_weight`` <= 0 gives positives weight 1.
        test_cfg: ``nms_pre``, ``score_thr``, ``min_bbox_size``, ``nms``, ``max_per_img``.
        batched_assign: assign the whole padded batch in tensor ops (fast, the default);
            False assigns image by image as mmdet does (kept for tests and comparison).

    Outputs of :meth:`forward`: per level, (B, num_classes, H, W) classification logits and
    (B, 4, H, W) distances to the box sides in input pixels.

    Public surface used by the export rewriters (:mod:`rtmdet_plus.deploy.models.dense_heads`),
    which touch nothing private: :attr:`strides`, :attr:`cls_out_channels`,
    :attr:`box_pred_channels`, :attr:`test_cfg`, :meth:`flat_priors`, :meth:`flatten_levels`,
    :meth:`decode_boxes`, :meth:`rescale_boxes` and :meth:`box_sizes` (plus ``box_maps`` of the
    rotated heads and ``relative_coords``, ``mask_logits``, ``dynamic_convs``, ``num_gen_params``
    of the instance heads).

    Extension points overridden by the subclasses:

    - network: ``_init_layers`` (layers, in mmdet's state-dict order), ``init_weights``,
      ``forward`` (extra per-level branches on :meth:`_level_features` /
      :meth:`_level_predictions`), ``_distances`` (raw box output -> distances), and the
      layout attributes ``separate_levels``, ``share_conv``, ``use_depthwise``, ``exp_on_reg``;
    - box format: :attr:`box_pred_channels`, :meth:`decode_boxes`, :meth:`rescale_boxes`,
      :meth:`box_sizes` and :meth:`_batched_nms` (rotated boxes);
    - training: ``loss_by_feat`` (more outputs; built on :meth:`_detection_losses`) and
      :meth:`_box_losses`;
    - prediction: ``predict_by_feat`` (more outputs; built on :meth:`_select_candidates` and
      :meth:`_post_process`).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        with_objectness: bool = True,
        pred_kernel_size: int = 3,
        conv_cfg=None,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        act_cfg=dict(type='ReLU'),
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        train_cfg=None,
        test_cfg=None,
        batched_assign: bool = True,
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if bbox_coder and bbox_coder.get('type') not in (
            'DistancePointBBoxCoder',
            'mmdet.DistancePointBBoxCoder',
        ):
            raise ValueError(
                f'{type(self).__name__} decodes point-to-side distances only; '
                f'bbox_coder={bbox_coder} is not supported'
            )
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.with_objectness = with_objectness
        self.pred_kernel_size = pred_kernel_size
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.batched_assign = batched_assign
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        if train_cfg:
            if train_cfg.get('allowed_border', -1) >= 0:
                raise ValueError(
                    'RTMDet priors are points: train_cfg.allowed_border must be negative'
                )
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
        self._init_layers()

    # ------------------------------------------------------------------ network
    # Layout: this head shares its towers and prediction convs across levels and has a learnable
    # scale per level; the SepBN heads set ``separate_levels`` (one set per level, no scales)
    # before building. The attributes below are the shared layout's values.
    separate_levels = False
    share_conv = False  # separate levels only: tower conv weights shared, norms not
    use_depthwise = False
    exp_on_reg = True  # distances are exp(reg) * stride (else reg * stride)

    @property
    def strides(self) -> List[int]:
        """Stride of every level in input pixels, finest first."""
        return [stride[0] for stride in self.prior_generator.strides]

    def _tower(self) -> nn.ModuleList:
        """``stacked_convs`` 3x3 conv-norm-act layers: in_channels -> feat_channels."""
        conv = DepthwiseSeparableConvModule if self.use_depthwise else ConvModule
        return nn.ModuleList(
            conv(
                self.in_channels if i == 0 else self.feat_channels,
                self.feat_channels,
                3,
                padding=1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
            )
            for i in range(self.stacked_convs)
        )

    def _towers(self, share_conv: Optional[bool] = None) -> nn.ModuleList:
        """One tower, or with ``separate_levels`` a ModuleList of one tower per level whose
        convs (not norms) are level 0's when ``share_conv`` (default: the head's)."""
        if not self.separate_levels:
            return self._tower()
        towers = nn.ModuleList(self._tower() for _ in self.strides)
        if self.share_conv if share_conv is None else share_conv:
            for tower in towers[1:]:
                for layer, first in zip(tower, towers[0]):
                    layer.conv = first.conv
        return towers

    def _pred_conv(self, out_channels: int) -> nn.Module:
        """A prediction conv feat_channels -> out_channels, or one per level."""

        def conv():
            return nn.Conv2d(
                self.feat_channels,
                out_channels,
                self.pred_kernel_size,
                padding=self.pred_kernel_size // 2,
            )

        return nn.ModuleList(conv() for _ in self.strides) if self.separate_levels else conv()

    def _at_level(self, modules: nn.Module, level: int) -> nn.Module:
        """The module of ``level``: itself when shared by all levels."""
        return modules[level] if self.separate_levels else modules

    def _init_layers(self) -> None:
        self.cls_convs = self._towers()
        self.reg_convs = self._towers()
        self.rtm_cls = self._pred_conv(self.num_base_priors * self.cls_out_channels)
        self.rtm_reg = self._pred_conv(self.num_base_priors * 4)
        if self.with_objectness:
            self.rtm_obj = self._pred_conv(1)
        if not self.separate_levels:
            self.scales = nn.ModuleList(Scale(1.0) for _ in self.strides)

    def init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                normal_init(module, mean=0, std=0.01)
            if is_norm(module):
                constant_init(module, 1)
        prior_bias = bias_init_with_prob(0.01)
        for level in range(len(self.strides)):
            normal_init(self._at_level(self.rtm_cls, level), std=0.01, bias=prior_bias)
            normal_init(self._at_level(self.rtm_reg, level), std=0.01)
            if self.with_objectness:
                normal_init(self._at_level(self.rtm_obj, level), std=0.01, bias=prior_bias)

    def _distances(self, reg_out: Tensor, level: int) -> Tensor:
        """Raw box output of a level -> distances in pixels."""
        distances = reg_out.exp() if self.exp_on_reg else reg_out
        if not self.separate_levels:
            distances = self.scales[level](distances).float()
        return distances * self.strides[level]

    def _level_features(self, x: Tensor, level: int) -> Tuple[Tensor, Tensor]:
        """One level's (B, in_channels, H, W) map -> (B, feat_channels, H, W) classification
        and regression tower features."""
        cls_tower = self._at_level(self.cls_convs, level)
        reg_tower = self._at_level(self.reg_convs, level)
        cls_feat = x
        for layer in cls_tower:
            cls_feat = layer(cls_feat)
        if reg_tower is cls_tower and not self.training:
            # One tower serving both branches (RTMDet-Ins SepBN) gives the same features twice
            # in eval mode. In training it runs twice, as in mmdet, so BN statistics match.
            return cls_feat, cls_feat
        reg_feat = x
        for layer in reg_tower:
            reg_feat = layer(reg_feat)
        return cls_feat, reg_feat

    def _level_predictions(
        self, cls_feat: Tensor, reg_feat: Tensor, level: int
    ) -> Tuple[Tensor, Tensor]:
        """Tower features of one level -> (B, C, H, W) class logits (objectness-weighted when
        ``with_objectness``) and (B, 4, H, W) side distances in input pixels."""
        cls_score = self._at_level(self.rtm_cls, level)(cls_feat)
        if self.with_objectness:
            obj_logit = self._at_level(self.rtm_obj, level)(reg_feat)
            cls_score = objectness_weighted_logit(cls_score, obj_logit)
        reg_out = self._at_level(self.rtm_reg, level)(reg_feat)
        return cls_score, self._distances(reg_out, level)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """(B, in_channels, H_l, W_l) maps -> per-level class logits and side distances."""
        cls_scores, bbox_preds = [], []
        for level, x in enumerate(feats):
            cls_score, bbox_pred = self._level_predictions(*self._level_features(x, level), level)
            cls_scores.append(cls_score)
            bbox_preds.append(bbox_pred)
        return tuple(cls_scores), tuple(bbox_preds)

    # ------------------------------------------------------------------ box format
    # Public, used by the export rewriters; the rotated head overrides them (and the NMS).
    @property
    def box_pred_channels(self) -> int:
        """Channels per prior of the box maps given to the loss, prediction and export: 4
        (left, top, right, bottom distances in input pixels)."""
        return 4

    def decode_boxes(
        self, points: Tensor, box_preds: Tensor, max_shape: Optional[Sequence[int]] = None
    ) -> Tensor:
        """(..., 2) prior points x y and (..., box_pred_channels) box outputs, input pixels ->
        (..., 4) boxes x1y1x2y2 in input pixels, clipped to ``max_shape`` (H, W) when given."""
        return distance_to_box(points, box_preds, max_shape=max_shape)

    @staticmethod
    def rescale_boxes(boxes: Tensor, scale_factor: Sequence[float]) -> Tensor:
        """(N, 4) boxes x1y1x2y2 in input pixels -> in original image pixels (``scale_factor``
        (w, h) of the resize from the original image to the input)."""
        return scale_boxes(boxes, scale_factor)

    @staticmethod
    def box_sizes(boxes: Tensor) -> Tensor:
        """(..., 4) boxes x1y1x2y2 -> (..., 2) widths and heights, in the boxes' pixels."""
        return boxes[..., 2:] - boxes[..., :2]

    def _batched_nms(
        self, boxes: Tensor, scores: Tensor, labels: Tensor, nms_cfg: dict
    ) -> Tuple[Tensor, Tensor]:
        """Class-aware NMS of (N, 4) boxes (mmcv's ``batched_nms``) -> (K, 5) boxes with the
        score last and the (K,) indices of the kept boxes, best first."""
        return batched_nms(boxes, scores, labels, nms_cfg)

    # ------------------------------------------------------------------ flat layout
    # Public, used by the export rewriters.
    def flat_priors(
        self, featmap_sizes: Sequence[Tuple[int, int]], device, dtype: torch.dtype = torch.float32
    ) -> Tensor:
        """(P, 4) priors of all levels (finest first, row-major in each level) as cx, cy,
        stride_w, stride_h in input pixels, for feature maps of ``featmap_sizes`` (H, W)."""
        return torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes, dtype=dtype, device=device, with_stride=True
            )
        )

    @staticmethod
    def flatten_levels(maps: Sequence[Tensor], channels: int) -> Tensor:
        """Per-level (B, channels, H, W) maps -> (B, P, channels), levels concatenated finest
        first, in the order of :meth:`flat_priors`."""
        return torch.cat([m.permute(0, 2, 3, 1).reshape(m.size(0), -1, channels) for m in maps], 1)

    # ------------------------------------------------------------------ training
    def loss_by_feat(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore=None,
    ) -> dict:
        """Quality focal loss and IoU-weighted GIoU loss, both normalised by the sum of the
        assigned IoUs over the batch (and over processes when distributed).

        Returns:
            ``loss_cls`` and ``loss_bbox`` scalars.
        """
        losses, _, _ = self._detection_losses(
            cls_scores, bbox_preds, batch_gt_instances, batch_img_metas
        )
        return losses

    def _detection_losses(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
    ) -> Tuple[dict, Tensor, Tensor]:
        """:meth:`loss_by_feat`'s losses, plus what a subclass needs for more losses.

        Returns:
            losses (``loss_cls``, ``loss_bbox``); matched_gt (B, P) long, index of each prior's
            assigned ground truth in its image, -1 for background; priors (P, 4) cx, cy,
            stride_w, stride_h.
        """
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        device = cls_scores[0].device
        priors = self.flat_priors(featmap_sizes, device)
        flat_scores = self.flatten_levels(cls_scores, self.cls_out_channels)
        flat_preds = self.flatten_levels(bbox_preds, self.box_pred_channels)
        flat_boxes = self.decode_boxes(priors[:, :2], flat_preds)

        get_targets = self.get_targets_batched if self.batched_assign else self.get_targets
        targets = get_targets(
            flat_scores.detach(),
            flat_boxes.detach(),
            priors,
            featmap_sizes,
            batch_gt_instances,
            batch_img_metas,
        )

        loss_cls = self.loss_cls(
            flat_scores.reshape(-1, self.cls_out_channels),
            (targets.labels.reshape(-1), targets.assign_metrics.reshape(-1)),
            targets.label_weights.reshape(-1),
            avg_factor=1.0,
        )
        positive = (targets.labels >= 0) & (targets.labels < self.num_classes)
        losses = dict(loss_cls=loss_cls)
        losses.update(
            self._box_losses(
                flat_preds,
                flat_boxes,
                targets.box_targets,
                positive,
                targets.assign_metrics,
                priors,
            )
        )
        avg_factor = reduce_mean(targets.assign_metrics.sum()).clamp_(min=1).item()
        losses = {name: loss / avg_factor for name, loss in losses.items()}
        return losses, targets.matched_gt, priors

    def _box_losses(
        self,
        flat_preds: Tensor,
        flat_boxes: Tensor,
        box_targets: Tensor,
        positive: Tensor,
        assign_metrics: Tensor,
        priors: Tensor,
    ) -> dict:
        """Box losses summed over the positives, weighted by their assigned IoU (the caller
        divides by the batch's IoU sum).

        Args:
            flat_preds: (B, P, box_pred_channels) raw box outputs.
            flat_boxes: (B, P, D) decoded boxes.
            box_targets: (B, P, D) assigned ground truths.
            positive: (B, P) bool.
            assign_metrics: (B, P) IoU with the assigned ground truth.
            priors: (P, 4) cx, cy, stride_w, stride_h.

        Returns:
            ``loss_bbox``.
        """
        if not positive.any():
            return dict(loss_bbox=flat_boxes.sum() * 0)
        return dict(
            loss_bbox=self.loss_bbox(
                flat_boxes[positive],
                box_targets[positive],
                weight=assign_metrics[positive],
                avg_factor=1.0,
            )
        )

    def get_targets(
        self,
        flat_scores: Tensor,
        flat_boxes: Tensor,
        priors: Tensor,
        featmap_sizes,
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
    ) -> DenseTargets:
        """Assign every image and build dense targets.

        Args:
            flat_scores: (B, P, C) detached class logits.
            flat_boxes: (B, P, D) detached decoded boxes (D = 4, or 5 for rotated boxes).
            priors: (P, 4) cx, cy, stride_w, stride_h.

        Returns:
            :class:`DenseTargets`: labels (B, P) long, ``num_classes`` for background;
            label_weights (B, P), 0 for priors outside the padded image; box_targets (B, P, D);
            assign_metrics (B, P) IoU with the assigned ground truth, 0 elsewhere; matched_gt
            (B, P) long, index of the assigned ground truth in its image, -1 for background.
        """
        num_imgs, num_priors = flat_scores.shape[:2]
        labels = priors.new_full((num_imgs, num_priors), self.num_classes, dtype=torch.long)
        matched_gt = torch.full_like(labels, -1)
        label_weights = priors.new_zeros((num_imgs, num_priors))
        box_targets = priors.new_zeros((num_imgs, num_priors, flat_boxes.size(-1)))
        assign_metrics = priors.new_zeros((num_imgs, num_priors))
        for img, (gt_instances, img_meta) in enumerate(zip(batch_gt_instances, batch_img_metas)):
            valid = torch.cat(
                self.prior_generator.valid_flags(
                    featmap_sizes, img_meta['pad_shape'], priors.device
                )
            )
            pred = InstanceData(
                scores=flat_scores[img][valid], bboxes=flat_boxes[img][valid], priors=priors[valid]
            )
            result = self.assigner.assign(pred, gt_instances)
            valid_index = valid.nonzero().squeeze(1)
            pos = result.gt_inds > 0
            pos_index = valid_index[pos]
            matched = result.gt_inds[pos] - 1
            label_weights[img, valid_index] = 1.0
            pos_weight = self.train_cfg.get('pos_weight', -1)
            if pos_weight > 0:
                label_weights[img, pos_index] = pos_weight
            labels[img, pos_index] = gt_instances.labels[matched].long()
            box_targets[img, pos_index] = (
                gt_instances.bboxes[matched].to(box_targets.dtype)
                if isinstance(gt_instances.bboxes, Tensor)
                else gt_instances.bboxes.tensor[matched]
            )
            assign_metrics[img, pos_index] = result.max_overlaps[pos]
            matched_gt[img, pos_index] = matched
        return DenseTargets(labels, label_weights, box_targets, assign_metrics, matched_gt)

    def _prior_valid_flags(self, featmap_sizes, batch_img_metas, device) -> Optional[Tensor]:
        """(B, P) priors inside each image's padded shape, or None when all are."""
        flags = [
            torch.cat(self.prior_generator.valid_flags(featmap_sizes, meta['pad_shape'], device))
            for meta in batch_img_metas
        ]
        flags = torch.stack(flags)
        return None if bool(flags.all()) else flags

    def get_targets_batched(
        self,
        flat_scores: Tensor,
        flat_boxes: Tensor,
        priors: Tensor,
        featmap_sizes,
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
    ) -> DenseTargets:
        """:meth:`get_targets` for the whole batch at once (padded ground truth, no per-image
        loop); same outputs."""
        num_imgs, num_priors = flat_scores.shape[:2]
        box_dim = flat_boxes.size(-1)
        gt_boxes, gt_labels, gt_valid = pad_ground_truth(batch_gt_instances, priors.device, box_dim)
        prior_valid = self._prior_valid_flags(featmap_sizes, batch_img_metas, priors.device)
        gt_centers = padded_mask_centers(batch_gt_instances, gt_boxes.shape[1], priors.device)
        assignment = self.assigner.batch_assign(
            priors,
            flat_boxes,
            flat_scores,
            gt_boxes.to(flat_boxes.dtype),
            gt_labels,
            gt_valid,
            prior_valid,
            gt_centers=gt_centers,
        )
        positive = assignment.gt_index >= 0
        labels = torch.where(
            positive, assignment.labels, torch.full_like(assignment.labels, self.num_classes)
        )
        label_weights = (
            prior_valid.to(flat_boxes.dtype)
            if prior_valid is not None
            else flat_boxes.new_ones(num_imgs, num_priors)
        )
        pos_weight = self.train_cfg.get('pos_weight', -1)
        if pos_weight > 0:
            label_weights = torch.where(
                positive, label_weights.new_tensor(pos_weight), label_weights
            )
        if gt_boxes.size(1):
            index = assignment.gt_index.clamp(min=0)[..., None].expand(-1, -1, box_dim)
            box_targets = gt_boxes.to(flat_boxes.dtype).gather(1, index) * positive[..., None]
        else:  # no ground truth in the whole batch
            box_targets = flat_boxes.new_zeros(num_imgs, num_priors, box_dim)
        assign_metrics = assignment.ious * positive
        return DenseTargets(labels, label_weights, box_targets, assign_metrics, assignment.gt_index)

    # ------------------------------------------------------------------ prediction
    def predict_by_feat(
        self,
        cls_scores: Sequence[Tensor],
        bbox_preds: Sequence[Tensor],
        score_factors=None,
        batch_img_metas: Optional[List[dict]] = None,
        cfg: Optional[ConfigDict] = None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> List[InstanceData]:
        """Per-level outputs -> detections of every image.

        Returns:
            One ``InstanceData`` per image with ``bboxes`` (N, 4) x1y1x2y2 (original image
            pixels when ``rescale``), ``scores`` (N,) and ``labels`` (N,).
        """
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        level_priors = self.prior_generator.grid_priors(
            featmap_sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device
        )
        results = []
        for img, img_meta in enumerate(batch_img_metas):
            result = self._select_candidates(
                [score[img] for score in cls_scores],
                [pred[img] for pred in bbox_preds],
                level_priors,
                img_meta,
                cfg,
            )
            results.append(self._post_process(result, cfg, rescale, with_nms, img_meta))
        return results

    def _select_candidates(
        self,
        cls_scores,
        bbox_preds,
        level_priors,
        img_meta,
        cfg,
        level_extras: Optional[Sequence[dict]] = None,
    ) -> InstanceData:
        """Per level, keep the ``nms_pre`` best (prior, class) pairs above ``score_thr``.

        Args:
            cls_scores, bbox_preds: one image's per-level (C, H, W) logits and
                (box_pred_channels, H, W) box outputs.
            level_priors: per-level (H*W, 2+) priors; x y first.
            level_extras: per level, a dict of (H*W, ...) tensors kept alongside (e.g. kernels).

        Returns:
            ``InstanceData`` with ``bboxes`` (N, 4) decoded and clipped to ``img_shape``
                (:meth:`decode_boxes`),
            ``scores`` (N,), ``labels`` (N,) and the kept extras.
        """
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0)
        kept_scores, kept_labels, kept_dists, kept_points = [], [], [], []
        kept_extras = {}
        level_extras = level_extras or [{}] * len(cls_scores)
        for cls_score, bbox_pred, points, extras in zip(
            cls_scores, bbox_preds, level_priors, level_extras
        ):
            scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            dists = bbox_pred.permute(1, 2, 0).reshape(-1, self.box_pred_channels)
            scores, labels, _, kept = filter_scores_and_topk(
                scores, score_thr, nms_pre, dict(extras, dists=dists, points=points)
            )
            kept_scores.append(scores)
            kept_labels.append(labels)
            kept_dists.append(kept['dists'])
            kept_points.append(kept['points'][:, :2])
            for name in extras:
                kept_extras.setdefault(name, []).append(kept[name])
        result = InstanceData(
            bboxes=self.decode_boxes(
                torch.cat(kept_points), torch.cat(kept_dists), max_shape=img_meta['img_shape']
            ),
            scores=torch.cat(kept_scores),
            labels=torch.cat(kept_labels),
        )
        for name, values in kept_extras.items():
            result[name] = torch.cat(values)
        return result

    def _post_process(
        self, result: InstanceData, cfg, rescale: bool, with_nms: bool, img_meta: dict
    ) -> InstanceData:
        """Rescale to the original image (:meth:`rescale_boxes`), drop boxes at most
        ``min_bbox_size`` wide or high (:meth:`box_sizes`), then class-aware NMS
        (``cfg['nms']``, :meth:`_batched_nms`) keeping at most ``max_per_img``."""
        if rescale:
            result.bboxes = self.rescale_boxes(result.bboxes, img_meta['scale_factor'])
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            keep = (self.box_sizes(result.bboxes) > min_size).all(dim=-1)
            if not keep.all():
                result = result[keep]
        if with_nms and result.bboxes.numel() > 0:
            dets, keep = self._batched_nms(result.bboxes, result.scores, result.labels, cfg['nms'])
            result = result[keep]
            result.scores = dets[:, -1]
            result = result[: cfg['max_per_img']]
        return result


@MODELS.register_module()
class RTMDetSepBNHead(RTMDetHead):
    """RTMDet head with separate towers, norms and prediction convs per level and no scales;
    with ``share_conv`` the tower conv weights are shared across levels while the norms stay
    separate (see the layout attributes of :class:`RTMDetHead`).

    Args:
        share_conv: share tower conv weights across levels.
        use_depthwise: depthwise-separable tower convs.
        exp_on_reg: distances are ``exp(reg) * stride`` (True, m/l/x) or ``reg * stride``
            (False, tiny/s).

    Other arguments as :class:`RTMDetHead`, with BN + SiLU and 1x1 prediction convs by default.
    A shared conv appears under every level's name in the state dict, as in mmdet.
    """

    separate_levels = True

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        share_conv: bool = True,
        use_depthwise: bool = False,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='SiLU'),
        pred_kernel_size: int = 1,
        exp_on_reg: bool = False,
        **kwargs,
    ) -> None:
        self.share_conv = share_conv
        self.use_depthwise = use_depthwise
        self.exp_on_reg = exp_on_reg
        super().__init__(
            num_classes,
            in_channels,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            pred_kernel_size=pred_kernel_size,
            **kwargs,
        )
