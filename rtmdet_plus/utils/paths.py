"""Files the installed package carries: configs, tools and the model index under
``rtmdet_plus/.mim`` (copies in a wheel, links to the checkout in a development install; laid
out by ``setup.py``), where mim and mmengine's inferencers look for them."""

import os.path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIM_DIR = osp.join(PACKAGE_DIR, '.mim')


def package_config(relative_path: str) -> str:
    """``<package>/.mim/configs/<relative_path>``, e.g. ``'deploy/detection_onnxruntime_static.py'``
    (not checked to exist: the callers' file checks name it)."""
    return osp.join(MIM_DIR, 'configs', relative_path)
