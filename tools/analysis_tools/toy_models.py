"""Small exportable models with non-trivial predictions, for the deploy tests and benchmark.

No pretrained checkpoint can be downloaded here, and a freshly initialised RTMDet predicts
nothing useful (every score near the 0.01 prior, the same boxes for every image).
:func:`toy_detector_weights` draws weights that give image-dependent, overlapping boxes of varied
sizes and scores, so NMS, top-k and score thresholds all have work to do.
"""

import copy
import os.path as osp
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rtmdet_plus.registry import MODELS


def small_input_config(
    model_cfg: str,
    size: Optional[int] = None,
    out_file: Optional[str] = None,
    keep_ratio: bool = True,
    **test_cfg,
) -> Config:
    """``model_cfg`` with its test pipeline resizing/padding to ``size`` x ``size`` (None: as
    is; ``keep_ratio=False`` stretches the image to the whole input, no padding), no pretrained
    backbone download, and ``test_cfg`` entries overridden; written to ``out_file`` when given
    (tools and MMDeploy's subprocesses load configs by path)."""
    cfg = Config.fromfile(model_cfg)
    cfg.model.backbone.init_cfg = None
    if size is not None:
        for step in cfg.test_pipeline:
            if step['type'] in ('Resize', 'mmdet.Resize'):
                step['scale'] = (size, size)
                step['keep_ratio'] = keep_ratio
            if step['type'] in ('Pad', 'mmdet.Pad'):
                step['size'] = (size, size)
    cfg.model.test_cfg.update(test_cfg)
    for loader in ('val_dataloader', 'test_dataloader'):
        if loader in cfg and 'pipeline' in cfg[loader].get('dataset', {}):
            cfg[loader].dataset.pipeline = copy.deepcopy(cfg.test_pipeline)
    if out_file is not None:
        cfg.dump(out_file)
        cfg = Config.fromfile(out_file)
    return cfg


def build_model(cfg: Config) -> nn.Module:
    """The detector of ``cfg`` in eval mode (``cfg.default_scope``)."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'rtmdet_plus')):
        return MODELS.build(copy.deepcopy(cfg.model)).eval()


def calibration_images(size: int = 320, count: int = 4, seed: int = 0) -> torch.Tensor:
    """(count, 3, size, size) float images in 0-255: noise at several scales (a rough stand-in
    for natural image statistics) under semi-transparent rectangles of random colours."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.full((count, 3, size, size), 128.0)
    for cells, amplitude in ((4, 60.0), (16, 30.0), (64, 20.0), (size, 20.0)):
        noise = torch.randn(count, 3, cells, cells, generator=generator) * amplitude
        images += F.interpolate(noise, size=(size, size), mode='bilinear', align_corners=False)
    for image in images:
        for _ in range(6):
            x1, y1 = (torch.rand(2, generator=generator) * size * 0.8).long().tolist()
            w, h = (torch.rand(2, generator=generator) * size * 0.4 + 8).long().tolist()
            colour = torch.rand(3, 1, 1, generator=generator) * 255
            image[:, y1 : y1 + h, x1 : x1 + w] = (
                0.5 * image[:, y1 : y1 + h, x1 : x1 + w] + 0.5 * colour
            )
    return images.clamp(0, 255)


def toy_detector_weights(
    model: nn.Module, seed: int = 0, cls_bias: float = -3.0, cls_gain: float = 0.3
) -> dict:
    """Weights that make an untrained detector predict image-dependent, non-trivial boxes.

    Conv weights are He-normal (variance 2 / fan_in); BN running statistics are measured on
    :func:`calibration_images` passed through the model's data preprocessor, so every layer
    sees unit-scale activations and the image drives the outputs (PyTorch's default init
    shrinks them layer after layer until every image gives the same prediction). Class convs get
    weights x``cls_gain`` and a bias of ``cls_bias`` + N(0, 0.5) per class and level, box convs
    weights x0.1 and a bias of
    1-4 (distances of 1-4 strides), angle convs weights x0.5 and a bias in (-0.6, 0.6) radians.
    """
    generator = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=generator) * (high - low) + low

    state = {name: value.clone() for name, value in model.state_dict().items()}
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            channels = module.num_features
            state[f'{name}.weight'] = uniform(channels, 0.8, 1.2)
            state[f'{name}.bias'] = torch.randn(channels, generator=generator) * 0.1
        if not isinstance(module, nn.Conv2d):
            continue
        fan_in = module.weight[0].numel()
        weight = torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
        state[f'{name}.weight'] = weight
        leaf = name.split('.')
        if 'rtm_cls' in leaf:
            state[f'{name}.weight'] = weight * cls_gain
            state[f'{name}.bias'] = (
                torch.randn(module.out_channels, generator=generator) * 0.5 + cls_bias
            )
        elif 'rtm_reg' in leaf:
            state[f'{name}.weight'] = weight * 0.1
            state[f'{name}.bias'] = uniform(module.out_channels, 1.0, 4.0)
        elif 'rtm_ang' in leaf:  # angles vary from box to box: few exactly parallel edges
            state[f'{name}.weight'] = weight * 0.5
            state[f'{name}.bias'] = uniform(module.out_channels, -0.6, 0.6)
    model.load_state_dict(state)
    calibrate_norms(model, calibration_images(seed=seed))
    return {name: value.clone() for name, value in model.state_dict().items()}


@torch.no_grad()
def calibrate_norms(model: nn.Module, images: torch.Tensor) -> None:
    """Set every BN layer's running statistics to those of ``images`` (B, 3, H, W, 0-255)
    through the model's data preprocessor, backbone, neck and head; leaves the model in eval."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: one batch sets the statistics exactly
    model.train()
    inputs = model.data_preprocessor(dict(inputs=list(images.to(torch.uint8))), False)['inputs']
    model.bbox_head(model.extract_feat(inputs))
    model.eval()
    for norm in norms:
        norm.momentum = 0.1


def write_checkpoint(cfg: Config, path: str, seed: int = 0, cls_bias: float = -3.0) -> nn.Module:
    """Save a perturbed checkpoint of ``cfg``'s model (mmengine layout: ``state_dict`` and
    ``meta.dataset_meta``) to ``path``; returns the model with those weights loaded."""
    model = build_model(cfg)
    toy_detector_weights(model, seed, cls_bias=cls_bias)
    classes = None
    for loader in ('test_dataloader', 'val_dataloader'):
        metainfo = cfg.get(loader, {}).get('dataset', {}).get('metainfo')
        if metainfo:
            classes = metainfo.get('classes')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=classes) if classes else {}),
        ),
        osp.abspath(path),
    )
    return model


def toy_model_files(
    model_cfg: str,
    work_dir: str,
    size: int = 320,
    keep_ratio: bool = False,
    seed: int = 0,
    cls_bias: float = -3.0,
    **test_cfg,
):
    """Write ``work_dir/model.py`` (``model_cfg`` at ``size``, see :func:`small_input_config`)
    and ``work_dir/model.pth`` (:func:`write_checkpoint`); returns the two paths."""
    cfg_path, ckpt_path = osp.join(work_dir, 'model.py'), osp.join(work_dir, 'model.pth')
    cfg = small_input_config(model_cfg, size, out_file=cfg_path, keep_ratio=keep_ratio, **test_cfg)
    write_checkpoint(cfg, ckpt_path, seed, cls_bias=cls_bias)
    return cfg_path, ckpt_path


def write_test_image(path: str, size=(240, 320), seed: int = 1) -> str:
    """A generated (H, W) = ``size`` BGR picture (see :func:`calibration_images`) at ``path``,
    for tests that need no shared data."""
    import mmcv

    image = calibration_images(max(size), 1, seed)[0, :, : size[0], : size[1]]
    mmcv.imwrite(image.permute(1, 2, 0).to(torch.uint8).numpy(), path)
    return path
