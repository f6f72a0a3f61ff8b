"""MMDeploy's backend model (``End2EndModel``) post-processes our heads' outputs as PyTorch does.

``mmdeploy.apis.inference_model`` and every MMDeploy tool run the exported graph through the
mmdet codebase's ``End2EndModel``, whose post-processing assumes mmdet's RTMDet-Ins outputs:
mask probabilities, resized by nearest neighbour and kept at >= 0.5. Our graphs give mask
logits (so that the bilinear resize to the image is PyTorch's own), which that reading would
shrink. :func:`our_postprocessing_results` (installed by :mod:`rtmdet_plus.deploy.patches`)
makes ``End2EndModel`` hand the outputs of models built with our heads to
:func:`~rtmdet_plus.deploy.results.instances_from_outputs`, the head's own rescale, clip,
small-box filter and mask resize; other models keep MMDeploy's.
"""

import functools
from typing import Callable

from mmengine.config import Config

from .results import instances_from_outputs
from .sdk import builds_our_head


def postprocess_options(model_cfg: Config) -> dict:
    """``mask_thr`` and ``min_bbox_size`` of ``instances_from_outputs`` from the model's
    ``test_cfg``, with the heads' defaults (0.5; -1 keeps every box)."""
    test_cfg = model_cfg.model.get('test_cfg') or {}
    return dict(
        mask_thr=test_cfg.get('mask_thr_binary', 0.5),
        min_bbox_size=test_cfg.get('min_bbox_size', -1),
    )


def our_postprocessing_results(original: Callable) -> Callable:
    """``End2EndModel.postprocessing_results`` (``original``) that post-processes the outputs
    of models with our heads as those heads do (other models: ``original``)."""

    @functools.wraps(original)
    def postprocessing_results(
        self, batch_dets, batch_labels, batch_masks, data_samples, rescale: bool = True
    ):
        if self.model_cfg is None or not builds_our_head(self.model_cfg):
            return original(self, batch_dets, batch_labels, batch_masks, data_samples, rescale)
        options = postprocess_options(self.model_cfg)
        for index, sample in enumerate(data_samples):
            masks = batch_masks[index] if batch_masks is not None else None
            sample.pred_instances = instances_from_outputs(
                batch_dets[index],
                batch_labels[index],
                sample.metainfo,
                masks,
                rescale=rescale,
                **options,
            )

    return postprocessing_results
