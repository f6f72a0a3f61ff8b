"""SDK files (``deploy.json``, ``pipeline.json``) whose post-processing module exists in the SDK.

MMDeploy writes the codebase name as the C++ module of the post-processing task. Our deploy
configs name the ``mmdet`` codebase, a module the SDK has, for every task; but rotated boxes are
rescaled by ``ResizeRBBox``, which the SDK keeps in its ``mmrotate`` module. Importing
:mod:`rtmdet_plus.deploy` wraps MMDeploy's ``get_postprocess`` (used by ``export2SDK``, also
from MMDeploy's own ``tools/deploy.py``) so that component is looked up there, and so that the
SDK thresholds our RTMDet-Ins graphs' mask logits at the logit of ``mask_thr_binary``.
"""
import functools

from mmdeploy.backend.sdk import export_info

from .results import mask_logit_threshold

# SDK component -> the SDK module that registers it, where it is not the codebase's own.
SDK_MODULE_OF_COMPONENT = {'ResizeRBBox': 'mmrotate'}

_MARK = '_rtmdet_plus_sdk_modules'


def builds_our_head(model_cfg) -> bool:
    """Whether ``model_cfg``'s ``bbox_head`` is one of rtmdet_plus's heads."""
    from rtmdet_plus.registry import MODELS
    head = model_cfg.model.get('bbox_head', {}).get('type', '')
    scope, _, name = head.rpartition('.')
    if scope:
        return scope == 'rtmdet_plus' and name in MODELS.module_dict
    return model_cfg.get('default_scope') == 'rtmdet_plus' and name in MODELS.module_dict


def patch_sdk_export() -> None:
    """Make ``export_info.get_postprocess`` name the SDK module of the component (idempotent)."""
    original = export_info.get_postprocess
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def get_postprocess(deploy_cfg, model_cfg, *args, **kwargs) -> dict:
        info = original(deploy_cfg, model_cfg, *args, **kwargs)
        info['module'] = SDK_MODULE_OF_COMPONENT.get(info.get('component'), info['module'])
        if info.get('component') == 'ResizeInstanceMask' and builds_our_head(model_cfg):
            # our RTMDet-Ins graphs give mask logits: threshold them at the logit
            params = info['params']
            params['mask_thr_binary'] = mask_logit_threshold(params.get('mask_thr_binary', 0.5))
        return info

    setattr(get_postprocess, _MARK, True)
    export_info.get_postprocess = get_postprocess
