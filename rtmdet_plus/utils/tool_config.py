"""The config handling shared by ``tools/train.py`` and ``tools/test.py``."""

import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope

from .dist import prepare_cpu_distributed


def load_tool_config(
    config: str,
    cfg_options: Optional[dict] = None,
    work_dir: Optional[str] = None,
    launcher: str = 'none',
) -> Config:
    """Read ``config``, apply the command line and prepare the process for the Runner.

    - ``cfg_options`` (``--cfg-options k=v``) are merged into the config;
    - ``work_dir``: the command line's, else the config's, else ``work_dirs/<config name>``;
    - the default scope is initialised from ``cfg.default_scope`` (``rtmdet_plus``);
    - with ``launcher`` other than ``'none'`` and no GPU, the gloo process group is joined and
      the config adapted (see :func:`rtmdet_plus.utils.dist.prepare_cpu_distributed`).
    """
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'Config file {config} does not exist: pass a path such as '
            'configs/rtmdet/rtmdet_tiny_8xb32-300e_coco.py.'
        )
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    init_default_scope(cfg.get('default_scope', 'rtmdet_plus'))
    prepare_cpu_distributed(cfg)
    return cfg
