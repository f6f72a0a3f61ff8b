"""One inference interface over the PyTorch model and every deployed backend.

    inferencer = Inferencer('rtmdet_tiny_shapes.py', 'work_dirs/epoch_24.pth')        # PyTorch
    inferencer = Inferencer('rtmdet_tiny_shapes.py', 'deploy/ort', backend='onnxruntime')
    out = inferencer('images/', batch_size=4)      # a folder, glob, list of paths or arrays
    out['predictions'][0]   # {'labels': [...], 'scores': [...], 'bboxes': [...](, 'masks')}

Every backend gives its detections on the original image as ``InstanceData`` (``bboxes``
(N, 4) x1 y1 x2 y2 pixels, or :class:`RotatedBoxes` (N, 5) cx, cy, w, h, angle in radians for
RTMDet-R; ``scores`` (N,), ``labels`` (N,), ``masks`` (N, H, W) bool for RTMDet-Ins), and
:func:`prediction_dict` turns them into mmdet's ``DetInferencer`` result dicts. PyTorch runs
``batch_size`` images per forward; the deployed backends, exported with a static batch of one,
run them one by one.
"""

import copy
import importlib.util
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from rtmdet_plus.registry import DATASETS

from .inference import init_detector
from .sources import Frame, open_source, read_image

BACKENDS = ('pytorch', 'onnxruntime', 'openvino', 'sdk')
# the pip packages each deployed backend needs, by the module that must import
BACKEND_PACKAGES = {
    'onnxruntime': ('onnxruntime', 'onnxruntime'),
    'openvino': ('openvino', 'openvino'),
    'sdk': ('mmdeploy_runtime', 'mmdeploy-runtime==1.3.1 "numpy<2"'),
}


def prediction_dict(instances: InstanceData, score_thr: Optional[float] = None) -> dict:
    """mmdet ``DetInferencer``'s result dict of one image: ``labels``, ``scores``, ``bboxes``
    (lists; boxes as x1 y1 x2 y2, or cx cy w h angle for rotated boxes) and, with masks,
    ``masks`` as COCO RLE dicts (``counts`` a str), keeping the detections scoring at least
    ``score_thr`` (all when None)."""
    keep = (
        torch.ones(len(instances), dtype=torch.bool)
        if score_thr is None
        else instances.scores >= score_thr
    )
    boxes = instances.bboxes
    boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
    out = dict(
        labels=instances.labels[keep].tolist(),
        scores=[round(float(score), 6) for score in instances.scores[keep]],
        bboxes=[[round(float(v), 3) for v in box] for box in boxes[keep]],
    )
    if 'masks' in instances:
        masks = np.asarray(instances.masks[keep].cpu().numpy(), dtype=np.uint8)
        out['masks'] = []
        for mask in masks:
            rle = mask_utils.encode(np.asfortranarray(mask))
            out['masks'].append(dict(size=list(rle['size']), counts=rle['counts'].decode()))
    return out


def _require_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f'backend {backend!r}: choose one of {", ".join(BACKENDS)}')
    if backend in BACKEND_PACKAGES:
        module, package = BACKEND_PACKAGES[backend]
        if importlib.util.find_spec(module) is None or importlib.util.find_spec('mmdeploy') is None:
            raise ImportError(
                f'the {backend} backend needs {module} and mmdeploy, and one of '
                f'them is not installed: pip install {package} mmdeploy==1.3.1 '
                "(or pip install 'rtmdet_plus[deploy]')"
            )


def exported_deploy_config(folder: str, deploy_cfg: Optional[str] = None) -> str:
    """The deploy config a model in ``folder`` was exported with: ``deploy_cfg`` when given,
    else the ``deploy_config.py`` our export writes there."""
    if deploy_cfg is not None:
        if not osp.isfile(deploy_cfg):
            raise FileNotFoundError(f'deploy config not found: {deploy_cfg}')
        return deploy_cfg
    # optional: rtmdet_plus.deploy needs mmdeploy (pip install 'rtmdet_plus[deploy]')
    from rtmdet_plus.deploy.apis import SAVED_DEPLOY_CONFIG

    saved = osp.join(folder, SAVED_DEPLOY_CONFIG)
    if not osp.isfile(saved):
        raise FileNotFoundError(
            f'{folder} has no {SAVED_DEPLOY_CONFIG}: give the deploy config the model was exported '
            'with (--deploy-cfg configs/deploy/...py), or export again with tools/deploy.py'
        )
    return saved


class Inferencer:
    """A detector (PyTorch checkpoint or exported model) run over images.

    Args:
        config: the model config (file, or ``Config``).
        model: for ``backend='pytorch'`` a checkpoint (path or URL; None keeps the initial
            weights); for a deployed backend the folder ``tools/deploy.py`` wrote (or its
            ``end2end.onnx`` / ``end2end.xml``).
        backend: 'pytorch', 'onnxruntime', 'openvino' or 'sdk' (the MMDeploy SDK's Python API on
            a folder exported with ``--dump-info``).
        deploy_cfg: the deploy config of an exported model; default: the ``deploy_config.py``
            saved in its folder.
        device: 'cpu' or 'cuda:N'.
        cfg_options: overrides of the model config (PyTorch).
    """

    def __init__(
        self,
        config: Union[str, Config],
        model: Optional[str] = None,
        backend: str = 'pytorch',
        deploy_cfg: Optional[str] = None,
        device: str = 'cpu',
        cfg_options: Optional[dict] = None,
    ):
        _require_backend(backend)
        if isinstance(config, str) and not osp.isfile(config):
            raise FileNotFoundError(f'model config not found: {config}')
        self.backend = backend
        self.cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
        if cfg_options:
            self.cfg.merge_from_dict(cfg_options)
        if backend == 'pytorch':
            self._build_pytorch(model, device)
        else:
            if model is None:
                raise ValueError(
                    f'the {backend} backend needs the exported model: give its '
                    'folder (tools/deploy.py --work-dir)'
                )
            folder = model if osp.isdir(model) else osp.dirname(model)
            if not osp.exists(model):
                raise FileNotFoundError(
                    f'exported model not found: {model} (export it with tools/deploy.py)'
                )
            self._build_deployed(folder, exported_deploy_config(folder, deploy_cfg), device)

    # -- building ---------------------------------------------------------------------------
    def _build_pytorch(self, checkpoint: Optional[str], device: str) -> None:
        if checkpoint is not None and '://' not in checkpoint and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        self.model = init_detector(copy.deepcopy(self.cfg), checkpoint, device=device)
        self.dataset_meta = self.model.dataset_meta or {}
        init_default_scope(self.cfg.get('default_scope', 'rtmdet_plus'))
        # arrays in, no annotations (a test pipeline that evaluates may load them)
        pipeline = [
            step
            for step in copy.deepcopy(self.cfg.test_dataloader.dataset.pipeline)
            if not str(step['type']).endswith('LoadAnnotations')
        ]
        pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
        self.pipeline = Compose(pipeline)

    def _build_deployed(self, folder: str, deploy_cfg: str, device: str) -> None:
        # optional: the deployed backends need mmdeploy (checked by _require_backend)
        from mmdeploy.utils import get_backend

        from rtmdet_plus.deploy.apis import (
            BackendDetector,
            SDKDetector,
            backend_files,
            load_configs,
        )
        from rtmdet_plus.deploy.checks import model_task

        deploy, _ = load_configs(deploy_cfg, self.cfg)
        self.dataset_meta = _dataset_meta(self.cfg)
        if self.backend == 'sdk':
            self.rotated = model_task(self.cfg) == 'rotated'
            self.detector = SDKDetector(folder, rotated=self.rotated, device=device)
            return
        exported_for = get_backend(deploy).value
        if exported_for != self.backend:
            raise ValueError(
                f'{deploy_cfg} is a deploy config for {exported_for}, not '
                f'{self.backend}: give --backend {exported_for}, or the deploy '
                f'config the {self.backend} model was exported with'
            )
        self.detector = BackendDetector(deploy, self.cfg, backend_files(deploy, folder), device)

    # -- running ----------------------------------------------------------------------------
    def predict(self, images: Sequence[np.ndarray]) -> List[InstanceData]:
        """Detections of each (H, W, 3) uint8 BGR image, on the original image."""
        if self.backend == 'pytorch':
            return self._predict_pytorch(images)
        return [self.detector(image) for image in images]

    def _predict_pytorch(self, images: Sequence[np.ndarray]) -> List[InstanceData]:
        batch = pseudo_collate(
            [self.pipeline(dict(img=image, img_id=index)) for index, image in enumerate(images)]
        )
        with torch.no_grad():
            samples = self.model.test_step(batch)
        return [sample.pred_instances.cpu() for sample in samples]

    def __call__(
        self,
        inputs,
        batch_size: int = 1,
        score_thr: Optional[float] = None,
        return_instances: bool = False,
    ) -> dict:
        """Run over ``inputs``: an image path, folder, glob, ``.txt`` list or video, a list of
        paths, or (H, W, 3) BGR arrays. Returns ``{'predictions': [dict per image]}``
        (:func:`prediction_dict`; ``InstanceData`` with ``return_instances``). An unreadable
        image raises, naming it (``tools/infer.py`` skips and counts such images instead)."""
        predictions, batch = [], []
        step = max(1, batch_size)
        for frame in _frames(inputs):
            if frame.image is None:
                raise ValueError(f'cannot read {frame.name}: {frame.error}')
            batch.append(frame.image)
            if len(batch) == step:
                predictions.extend(self.predict(batch))
                batch = []
        if batch:
            predictions.extend(self.predict(batch))
        if not return_instances:
            predictions = [prediction_dict(instances, score_thr) for instances in predictions]
        return dict(predictions=predictions)


def _frames(inputs) -> Iterator[Frame]:
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if isinstance(inputs, (list, tuple)):
        return (
            Frame(f'array{index}', index, item)
            if isinstance(item, np.ndarray)
            else read_image(str(item), index)
            for index, item in enumerate(inputs)
        )
    return iter(open_source(inputs))


def _dataset_meta(cfg: Config) -> dict:
    """``classes`` (and ``palette``) of the model config's test dataset: its ``metainfo``, else
    its class's (looked up from our scope, which falls back to mmdet's)."""
    dataset = cfg.test_dataloader.dataset
    metainfo = dataset.get('metainfo')
    if metainfo and 'classes' in metainfo:
        return dict(metainfo)
    name = dataset.type
    dataset_class = name if isinstance(name, type) else DATASETS.get(name)
    if dataset_class is None:
        raise KeyError(
            f'dataset type {name!r} of the model config is not registered; '
            'give test_dataloader.dataset.metainfo=dict(classes=...)'
        )
    return dict(dataset_class.METAINFO)
