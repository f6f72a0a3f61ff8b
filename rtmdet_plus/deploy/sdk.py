"""SDK files (``deploy.json``, ``pipeline.json``) whose post-processing module exists in the SDK.

MMDeploy writes the codebase name as the C++ module of the post-processing task. Our deploy
configs name the ``mmdet`` codebase, a module the SDK has, for every task; but rotated boxes are
rescaled by ``ResizeRBBox``, which the SDK keeps in its ``mmrotate`` module. Importing
:mod:`rtmdet_plus.deploy` wraps MMDeploy's ``get_postprocess`` (used by ``export2SDK``, also
from MMDeploy's own ``tools/deploy.py``) so that component is looked up there.
"""
import functools

from mmdeploy.backend.sdk import export_info

# SDK component -> the SDK module that registers it, where it is not the codebase's own.
SDK_MODULE_OF_COMPONENT = {'ResizeRBBox': 'mmrotate'}

_MARK = '_rtmdet_plus_sdk_modules'


def patch_sdk_export() -> None:
    """Make ``export_info.get_postprocess`` name the SDK module of the component (idempotent)."""
    original = export_info.get_postprocess
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def get_postprocess(*args, **kwargs) -> dict:
        info = original(*args, **kwargs)
        info['module'] = SDK_MODULE_OF_COMPONENT.get(info.get('component'), info['module'])
        return info

    setattr(get_postprocess, _MARK, True)
    export_info.get_postprocess = get_postprocess
