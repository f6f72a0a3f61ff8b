"""Side-by-side helpers for the tests and benchmarks (not part of the package): mmdet 3.3.0
reference models built from mmdet's own configs, ours from ours, perturbed weights and synthetic
batches."""

import copy
import os

import mmdet
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from rtmdet_plus.registry import MODELS

# the checkout, or the installed package's .mim folder: both hold configs/ and tools/
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(REPO, 'configs')
MMDET_CONFIGS = os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs')


def single_process_model_cfg(model_cfg):
    """Copy of a model config runnable in one CPU process: SyncBN -> BN, no pretrained init."""
    model_cfg = copy.deepcopy(model_cfg)

    def fix(node):
        if isinstance(node, dict):
            if node.get('type') == 'SyncBN':
                node['type'] = 'BN'
            for value in node.values():
                fix(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                fix(value)

    fix(model_cfg)
    model_cfg.backbone.init_cfg = None
    return model_cfg


def build_reference(config_name: str):
    """mmdet 3.3.0's model from mmdet's own shipped config, randomly initialised."""
    cfg = Config.fromfile(os.path.join(MMDET_CONFIGS, config_name))
    init_default_scope('mmdet')
    model = MMDET_MODELS.build(single_process_model_cfg(cfg.model))
    model.init_weights()
    return model


def build_ours(config_name: str):
    """Our model from our config in ``configs/``."""
    cfg = Config.fromfile(os.path.join(CONFIGS, config_name))
    init_default_scope('rtmdet_plus')
    return MODELS.build(single_process_model_cfg(cfg.model))


def perturbed_state_dict(model: torch.nn.Module, seed: int = 0, scale: float = 0.05) -> dict:
    """The model's state dict with every float tensor moved by random noise (variances kept > 0)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            noise = scale * torch.randn(value.shape, generator=generator)
            value = (value + noise).abs() + 0.5 if key.endswith('running_var') else value + noise
        state[key] = value
    return state


def triangle_masks(boxes: torch.Tensor, height: int, width: int) -> BitmapMasks:
    """(G, 4) boxes -> ``BitmapMasks`` (G, height, width): the lower-left triangle of each box
    (pixel centres inside the box on or below its top-left to bottom-right diagonal), so a
    mask's centroid differs from its box centre."""
    xs = torch.arange(width, dtype=torch.float32)[None, None, :] + 0.5
    ys = torch.arange(height, dtype=torch.float32)[None, :, None] + 0.5
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    inside = (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)
    below_diagonal = (xs - x1) * (y2 - y1) <= (ys - y1) * (x2 - x1)
    return BitmapMasks((inside & below_diagonal).to(torch.uint8).numpy(), height, width)


def synthetic_batch(
    batch_size: int,
    size: int,
    objects_per_image,
    num_classes: int = 80,
    seed: int = 0,
    scale_factor=(1.0, 1.0),
    with_mask: bool = False,
):
    """Random images and data samples with boxes of varied sizes inside a ``size`` square.

    ``objects_per_image`` is an int or a list (0 gives an image without objects).
    ``with_mask`` adds ``BitmapMasks`` (see :func:`triangle_masks`) to the ground truth; the
    random draws do not change, so boxes and images are the same either way.
    Returns ``dict(inputs=(B, 3, size, size) float, data_samples=[DetDataSample])`` as the
    data preprocessor would produce it.
    """
    generator = torch.Generator().manual_seed(seed)
    if isinstance(objects_per_image, int):
        objects_per_image = [objects_per_image] * batch_size
    samples = []
    for count in objects_per_image:
        centers = torch.rand(count, 2, generator=generator) * size
        sides = (torch.rand(count, 2, generator=generator) * 0.45 + 0.05) * size
        boxes = torch.cat([centers - sides / 2, centers + sides / 2], 1).clamp(0, size - 1)
        labels = torch.randint(0, num_classes, (count,), generator=generator)
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                pad_shape=(size, size),
                batch_input_shape=(size, size),
                ori_shape=(round(size / scale_factor[1]), round(size / scale_factor[0])),
                scale_factor=scale_factor,
            )
        )
        sample.gt_instances = InstanceData(bboxes=boxes, labels=labels)
        if with_mask:
            sample.gt_instances.masks = triangle_masks(boxes, size, size)
        samples.append(sample)
    inputs = torch.randn(batch_size, 3, size, size, generator=generator)
    return dict(inputs=inputs, data_samples=samples)


def max_abs_diff(a, b) -> float:
    """Largest absolute difference over paired tensors of two sequences (same shapes)."""
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def load_perturbed_pair(reference, ours, seed: int = 1, score_thr=None):
    """Load the same perturbed copy of ``reference``'s weights into both models, strictly.

    ``score_thr`` (if given) replaces both heads' test score threshold: randomly weighted
    models score every prior near the 0.01 prior, so a low threshold keeps detections to compare.
    Returns ``(reference, ours)``.
    """
    state = perturbed_state_dict(reference, seed=seed)
    reference.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    if score_thr is not None:
        for model in (reference, ours):
            model.bbox_head.test_cfg['score_thr'] = score_thr
    return reference, ours


def loss_value(value) -> torch.Tensor:
    """A loss as one tensor: mmdet returns some losses as per-level lists, which are summed."""
    return sum(value) if isinstance(value, (list, tuple)) else value
