"""Export a model with a deploy config, run the export with its pipeline, run the SDK.

``export_model`` is what ``tools/deploy.py`` does, in this process: ONNX (and a TensorRT engine
for TensorRT configs), the SDK files with ``dump_info``. ``BackendDetector`` runs an exported model
on an image as the PyTorch model would (its test pipeline, results on the original image).
``SDKDetector`` runs the MMDeploy SDK on a dumped folder (``sdk_predict``: on one image).
``export_and_run_sdk`` chains them and draws the SDK's detections (the demo's last step).
"""

import copy
import os.path as osp
from typing import List, Optional, Sequence, Union

import mmcv
import mmengine
import numpy as np
import torch
from mmdeploy.apis import build_task_processor, torch2onnx
from mmdeploy.apis.onnx import export as onnx_export
from mmdeploy.backend.sdk.export_info import export2SDK
from mmdeploy.codebase.mmdet.deploy.object_detection import _get_dataset_metainfo
from mmdeploy.utils import (
    Backend,
    get_backend,
    get_dynamic_axes,
    get_input_shape,
    get_ir_config,
    get_onnx_config,
    load_config,
)
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from rtmdet_plus.utils.paths import package_config
from rtmdet_plus.visualization import draw_detections

from .backend_model import postprocess_options
from .checks import (
    check_custom_ops,
    check_file,
    check_input_tensor,
    check_sdk_folder,
    check_sdk_numpy,
    check_task_matches,
)
from .openvino import convert_to_ir, ir_file
from .quantization import calibration_set, quantize_model
from .results import instances_from_outputs, sdk_instances
from .tensorrt import build_engine

DEFAULT_DEPLOY_CFG = package_config('deploy/detection_onnxruntime_static.py')
# written beside the backend files, so that an exported folder names its deploy config
# (tools/infer.py --backend reads it)
SAVED_DEPLOY_CONFIG = 'deploy_config.py'


def load_configs(deploy_cfg: Union[str, Config], model_cfg: Union[str, Config]):
    """Both configs loaded (files checked to exist) and checked to be for the same task."""
    for cfg, what in ((deploy_cfg, 'deploy config'), (model_cfg, 'model config')):
        if isinstance(cfg, str):
            check_file(cfg, what)
    deploy_cfg, model_cfg = load_config(deploy_cfg, model_cfg)
    check_task_matches(deploy_cfg, model_cfg)
    return deploy_cfg, model_cfg


def backend_files(deploy_cfg: Config, work_dir: str) -> List[str]:
    """The files a backend model is loaded from: ``end2end.onnx``, ``end2end.engine``
    (TensorRT) or ``end2end.xml`` (OpenVINO)."""
    onnx_file = osp.join(work_dir, get_ir_config(deploy_cfg)['save_file'])
    backend = get_backend(deploy_cfg)
    if backend == Backend.TENSORRT:
        return [osp.splitext(onnx_file)[0] + '.engine']
    if backend == Backend.OPENVINO:
        return [ir_file(onnx_file, work_dir)]
    return [onnx_file]


def export_model(
    deploy_cfg: Union[str, Config],
    model_cfg: Union[str, Config],
    checkpoint: Optional[str],
    img: Union[str, np.ndarray],
    work_dir: str,
    device: str = 'cpu',
    dump_info: bool = True,
    build_backend: bool = True,
    calib_dataloader: Optional[str] = None,
    calib_images: Optional[int] = None,
) -> List[str]:
    """Export ``model_cfg`` + ``checkpoint`` with ``deploy_cfg``.

    Writes ``end2end.onnx`` into ``work_dir`` (traced on ``img``), with ``dump_info`` the SDK's
    ``deploy.json``, ``pipeline.json`` and ``detail.json``, for TensorRT configs
    ``end2end.engine`` (TensorRT 10 API, needs a CUDA device) and for OpenVINO configs
    ``end2end.xml`` / ``.bin`` (``build_backend=False`` stops at the ONNX file). INT8 configs
    (a ``quantization`` dict) then quantize ``end2end.onnx`` (the float graph kept as
    ``end2end_fp32.onnx``), calibrated on ``calib_images`` images of the model config's
    ``calib_dataloader`` (defaults: the deploy config's), before any OpenVINO conversion.
    ``deploy_config.py`` records the deploy config beside the files (``tools/infer.py`` reads
    it). ``checkpoint=None`` exports the model's initial weights. The ONNX export runs
    in a subprocess when MMDeploy's pipeline manager is told so (``tools/deploy.py`` does, as
    MMDeploy's does). Returns the backend files.
    """
    if checkpoint is not None:
        check_file(checkpoint, 'checkpoint', 'give the .pth file written by training')
    if isinstance(img, str):
        check_file(img, 'image')
    deploy_arg, model_arg = deploy_cfg, model_cfg  # paths stay paths for MMDeploy's subprocess
    deploy_cfg, model_cfg = load_configs(deploy_cfg, model_cfg)
    # INT8: the calibration images are checked before the export
    calibration = calibration_set(deploy_cfg, model_cfg, calib_dataloader, calib_images)
    mmengine.mkdir_or_exist(osp.abspath(work_dir))
    save_file = get_ir_config(deploy_cfg)['save_file']
    if get_backend(deploy_cfg) == Backend.TENSORRT and device == 'cpu':
        if build_backend:
            raise RuntimeError(
                'a TensorRT engine needs a CUDA device: give device="cuda:0", or '
                'build_backend=False for the ONNX file alone'
            )
        export_onnx_on_cpu(deploy_cfg, model_cfg, checkpoint, img, osp.join(work_dir, save_file))
    else:
        torch2onnx(img, work_dir, save_file, deploy_arg, model_arg, checkpoint, device=device)
    if dump_info:
        export2SDK(deploy_cfg, model_cfg, work_dir, pth=checkpoint, device=device)
    if calibration:
        quantize_model(osp.join(work_dir, save_file), deploy_cfg, model_cfg, calibration)
    files = backend_files(deploy_cfg, work_dir)
    if build_backend and get_backend(deploy_cfg) == Backend.TENSORRT:
        build_engine(osp.join(work_dir, save_file), files[0], deploy_cfg, device=device)
    if build_backend and get_backend(deploy_cfg) == Backend.OPENVINO:
        convert_to_ir(osp.join(work_dir, save_file), files[0])
    deploy_cfg.dump(osp.join(work_dir, SAVED_DEPLOY_CONFIG))
    return files


def export_onnx_on_cpu(
    deploy_cfg: Config, model_cfg: Config, checkpoint: Optional[str], img, onnx_file: str
) -> str:
    """The ONNX file of a GPU-backend deploy config (TensorRT: static shape, TensorRT's NMS
    plugins) exported on the CPU. MMDeploy's ``torch2onnx`` refuses the CPU for TensorRT configs
    although the graph does not depend on the device: this builds the model and inputs with an
    ONNX Runtime copy of the config and exports with the real one."""
    build_cfg = copy.deepcopy(deploy_cfg)
    build_cfg.backend_config = dict(type='onnxruntime')
    task_processor = build_task_processor(model_cfg, build_cfg, 'cpu')
    model = task_processor.build_pytorch_model(checkpoint)
    data, inputs = task_processor.create_input(
        img, get_input_shape(deploy_cfg), model.data_preprocessor
    )
    onnx_cfg = get_onnx_config(deploy_cfg)
    names = onnx_cfg['input_names'] + onnx_cfg['output_names']
    onnx_export(
        model,
        inputs,
        osp.splitext(onnx_file)[0],
        backend=get_backend(deploy_cfg).value,
        input_metas=dict(data_samples=data['data_samples'], mode='predict'),
        context_info=dict(deploy_cfg=deploy_cfg),
        input_names=onnx_cfg['input_names'],
        output_names=onnx_cfg['output_names'],
        opset_version=onnx_cfg.get('opset_version', 11),
        dynamic_axes=get_dynamic_axes(deploy_cfg, names),
        keep_initializers_as_inputs=onnx_cfg.get('keep_initializers_as_inputs', False),
        optimize=onnx_cfg.get('optimize', False),
    )
    return onnx_file


class BackendDetector:
    """An exported model behind its model config's test pipeline.

    Args:
        deploy_cfg, model_cfg: the configs it was exported with.
        files: backend files (``end2end.onnx`` / ``end2end.engine`` / ``end2end.xml``).
        device: 'cpu' or 'cuda:N'.

    ``detector(img)`` -> ``InstanceData`` on the original image, as the PyTorch model's
    ``pred_instances`` (``bboxes``, ``scores``, ``labels``, and ``masks`` for RTMDet-Ins).
    """

    def __init__(self, deploy_cfg, model_cfg, files: Sequence[str], device: str = 'cpu'):
        self.deploy_cfg, self.model_cfg = load_configs(deploy_cfg, model_cfg)
        for path in files:
            check_file(path, 'exported model', 'export it first (tools/deploy.py)')
        self.backend = get_backend(self.deploy_cfg)
        if self.backend == Backend.ONNXRUNTIME:
            check_custom_ops(files[0])
        self.task_processor = build_task_processor(self.model_cfg, self.deploy_cfg, device)
        self.model = self.task_processor.build_backend_model(list(files))
        self.input_shape = get_input_shape(self.deploy_cfg)
        self.postprocess_options = postprocess_options(self.model_cfg)

    @property
    def expected_input_shape(self) -> tuple:
        """(N, C, H, W) the backend accepts; str entries are free dimensions."""
        wrapper = self.model.wrapper
        if hasattr(wrapper, 'sess'):
            return tuple(wrapper.sess.get_inputs()[0].shape)
        return tuple(getattr(wrapper, 'input_shape', (None, 3, None, None)))

    def preprocess(self, img: Union[str, np.ndarray]):
        """Image -> (data with ``data_samples``, (1, 3, H, W) input tensor)."""
        if isinstance(img, str):
            check_file(img, 'image')
        return self.task_processor.create_input(img, self.input_shape, self.model.data_preprocessor)

    def run_tensor(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Raw backend outputs for a (N, 3, H, W) input tensor (checked against the shape the
        export fixed): dets, labels and, for RTMDet-Ins, masks."""
        check_input_tensor(inputs, self.expected_input_shape)
        with torch.no_grad():
            return self.model.predict(inputs.contiguous())

    def __call__(self, img: Union[str, np.ndarray]) -> InstanceData:
        data, inputs = self.preprocess(img)
        outputs = self.run_tensor(inputs)
        masks = outputs[2][0] if len(outputs) > 2 else None
        return instances_from_outputs(
            outputs[0][0],
            outputs[1][0],
            data['data_samples'][0].metainfo,
            masks,
            **self.postprocess_options,
        )


class SDKDetector:
    """The MMDeploy SDK's Python API (``mmdeploy_runtime.Detector``, ``RotatedDetector`` with
    ``rotated``) on a folder written with ``dump_info``; the folder and numpy are checked first.

    ``detector(img)`` (a path, or an (H, W, 3) uint8 BGR array) -> the SDK's detections on the
    original image as ``InstanceData`` (:func:`~rtmdet_plus.deploy.results.sdk_instances`).
    """

    def __init__(self, work_dir: str, rotated: bool = False, device: str = 'cpu'):
        check_sdk_folder(work_dir)
        check_sdk_numpy()
        import mmdeploy_runtime  # optional package (mmdeploy-runtime, the SDK binding)

        device_name, _, device_id = device.partition(':')
        cls = mmdeploy_runtime.RotatedDetector if rotated else mmdeploy_runtime.Detector
        self.rotated = rotated
        self.sdk = cls(model_path=work_dir, device_name=device_name, device_id=int(device_id or 0))

    def __call__(self, img: Union[str, np.ndarray]) -> InstanceData:
        image = mmcv.imread(img) if isinstance(img, str) else img
        return sdk_instances(self.sdk(image), rotated=self.rotated)


def sdk_predict(
    work_dir: str, img: Union[str, np.ndarray], rotated: bool = False, device: str = 'cpu'
) -> InstanceData:
    """Run the MMDeploy SDK's Python API (``mmdeploy_runtime.Detector``, ``RotatedDetector``
    with ``rotated``) on a folder written with ``dump_info`` and return its detections on the
    original image as ``InstanceData`` (:class:`SDKDetector` on one image)."""
    return SDKDetector(work_dir, rotated=rotated, device=device)(img)


def export_and_run_sdk(
    model_cfg: str,
    checkpoint: str,
    img: str,
    work_dir: str,
    out_file: Optional[str] = None,
    deploy_cfg: str = DEFAULT_DEPLOY_CFG,
    score_thr: float = 0.3,
) -> InstanceData:
    """Export a trained detector with the ONNX Runtime config, run SDK inference on ``img`` and
    (with ``out_file``) save a picture of the detections scoring at least ``score_thr``.

    Returns:
        The SDK's detections on the original image.
    """
    export_model(deploy_cfg, model_cfg, checkpoint, img, work_dir, dump_info=True)
    result = sdk_predict(work_dir, img)
    if out_file is not None:
        sample = DetDataSample(pred_instances=result)
        meta = _get_dataset_metainfo(Config.fromfile(model_cfg)) or {}
        draw_detections(mmcv.imread(img), sample, meta, score_thr=score_thr, out_file=out_file)
    return result
