"""MMDeploy's backend model (``End2EndModel``) post-processes our heads' outputs as PyTorch does.

``mmdeploy.apis.inference_model`` and every MMDeploy tool run the exported graph through the
mmdet codebase's ``End2EndModel``, whose post-processing assumes mmdet's RTMDet-Ins outputs:
mask probabilities, resized by nearest neighbour and kept at >= 0.5. Our graphs give mask
logits (so that the bilinear resize to the image is PyTorch's own), which that reading would
shrink. :func:`patch_backend_model` makes ``End2EndModel`` hand the outputs of models built with
our heads to :func:`~rtmdet_plus.deploy.results.instances_from_outputs`, the head's own
rescale, clip, small-box filter and mask resize; other models keep MMDeploy's.
"""
import functools

from mmdeploy.codebase.mmdet.deploy.object_detection_model import End2EndModel
from mmengine.config import Config

from .results import instances_from_outputs
from .sdk import builds_our_head

_MARK = '_rtmdet_plus_backend_model'


def postprocess_options(model_cfg: Config) -> dict:
    """``mask_thr`` and ``min_bbox_size`` of ``instances_from_outputs`` from the model's
    ``test_cfg``, with the heads' defaults (0.5; -1 keeps every box)."""
    test_cfg = model_cfg.model.get('test_cfg') or {}
    return dict(mask_thr=test_cfg.get('mask_thr_binary', 0.5),
                min_bbox_size=test_cfg.get('min_bbox_size', -1))


def patch_backend_model() -> None:
    """Wrap ``End2EndModel.postprocessing_results`` for our heads (idempotent)."""
    original = End2EndModel.postprocessing_results
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def postprocessing_results(self, batch_dets, batch_labels, batch_masks, data_samples,
                               rescale: bool = True):
        if self.model_cfg is None or not builds_our_head(self.model_cfg):
            return original(self, batch_dets, batch_labels, batch_masks, data_samples, rescale)
        options = postprocess_options(self.model_cfg)
        for index, sample in enumerate(data_samples):
            masks = batch_masks[index] if batch_masks is not None else None
            sample.pred_instances = instances_from_outputs(
                batch_dets[index], batch_labels[index], sample.metainfo, masks,
                rescale=rescale, **options)

    setattr(postprocessing_results, _MARK, True)
    End2EndModel.postprocessing_results = postprocessing_results
