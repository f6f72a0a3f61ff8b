"""TensorRT 10 engine building and inference for MMDeploy's TensorRT backend.

MMDeploy 1.3.1 builds and runs engines with TensorRT 8 calls that TensorRT 10 removed
(``binding_is_input``, ``get_binding_index``, ``set_binding_shape``, ``execute_async_v2``,
``max_workspace_size``). :func:`build_engine` and :class:`TRTWrapper` use the named-tensor API
(``num_io_tensors``, ``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``,
``set_memory_pool_limit``, ``build_serialized_network``); :mod:`rtmdet_plus.deploy.patches` makes
MMDeploy's TensorRT backend manager use them (:func:`manager_to_backend`,
:func:`manager_build_wrapper`). MMDeploy's plugin library
(``libmmdeploy_tensorrt_ops.so``: TRTBatchedNMS, TRTBatchedRotatedNMS) is loaded first.
Everything here needs the ``tensorrt`` package and a CUDA device.
"""

import ctypes
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
from mmdeploy.backend.base import BaseWrapper


def _tensorrt():
    """The ``tensorrt`` module, or ImportError saying what is needed."""
    try:
        import tensorrt  # optional package (TensorRT 10, with a CUDA GPU)
    except ImportError as error:
        raise ImportError(
            'the TensorRT backend needs the tensorrt package (TensorRT 10) and a '
            'CUDA GPU; use an ONNX Runtime deploy config on a CPU'
        ) from error
    return tensorrt


def load_plugins() -> str:
    """Load MMDeploy's TensorRT plugin library and TensorRT's own; returns its path."""
    # optional: MMDeploy's TensorRT backend, looked up when used
    from mmdeploy.backend.tensorrt.init_plugins import get_ops_path

    trt = _tensorrt()
    path = get_ops_path()
    if not path or not osp.isfile(path):
        raise RuntimeError(
            'MMDeploy\'s TensorRT plugin library libmmdeploy_tensorrt_ops.so '
            '(TRTBatchedNMS, TRTBatchedRotatedNMS) is missing; reinstall mmdeploy'
        )
    ctypes.CDLL(path)
    trt.init_libnvinfer_plugins(trt.Logger(trt.Logger.ERROR), '')
    return path


def input_profile(deploy_cfg) -> Dict[str, dict]:
    """``backend_config.model_inputs[0].input_shapes``: input name -> min/opt/max shapes."""
    return dict(deploy_cfg.backend_config.model_inputs[0].input_shapes)


def build_engine(onnx_file: str, engine_file: str, deploy_cfg, device: str = 'cuda:0') -> str:
    """Build ``engine_file`` from ``onnx_file`` with the deploy config's ``common_config``
    (``fp16_mode``, ``max_workspace_size`` in bytes, 0 = TensorRT's default) and input shapes."""
    if not torch.cuda.is_available() or not device.startswith('cuda'):
        raise RuntimeError(
            f'building a TensorRT engine needs a CUDA device; got device={device!r} '
            f'(CUDA available: {torch.cuda.is_available()})'
        )
    trt = _tensorrt()
    load_plugins()
    torch.cuda.set_device(torch.device(device))
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch always
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_file):
        errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f'TensorRT could not parse {onnx_file}: {errors}')
    config = builder.create_builder_config()
    common = deploy_cfg.backend_config.get('common_config', {})
    if common.get('max_workspace_size', 0):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, common['max_workspace_size'])
    if common.get('fp16_mode', False):
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, shapes in input_profile(deploy_cfg).items():
        profile.set_shape(name, shapes['min_shape'], shapes['opt_shape'], shapes['max_shape'])
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f'TensorRT failed to build an engine from {onnx_file}')
    with open(engine_file, 'wb') as file:
        file.write(serialized)
    return engine_file


class TRTWrapper(BaseWrapper):
    """Runs a TensorRT 10 engine on CUDA tensors (MMDeploy's wrapper interface).

    Args:
        engine: path of a serialized engine.
        output_names: outputs to return, in order (default: all, engine order).
    """

    def __init__(self, engine: str, output_names: Optional[Sequence[str]] = None):
        trt = _tensorrt()
        load_plugins()
        self._trt = trt
        with open(engine, 'rb') as file:
            self.engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(
                file.read()
            )
        if self.engine is None:
            raise RuntimeError(f'TensorRT could not load the engine {engine}')
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = [self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names]
        self._input_names = [n for n, flag in zip(names, is_input) if flag]
        if output_names is None:
            output_names = [n for n, flag in zip(names, is_input) if not flag]
        super().__init__(output_names)
        self.context = self.engine.create_execution_context()
        self.input_shape = tuple(self.engine.get_tensor_shape(self._input_names[0]))

    def _torch_dtype(self, name: str) -> torch.dtype:
        trt = self._trt
        return {
            trt.float32: torch.float32,
            trt.float16: torch.float16,
            trt.int32: torch.int32,
            trt.int64: torch.int64,
            trt.bool: torch.bool,
            trt.int8: torch.int8,
        }[self.engine.get_tensor_dtype(name)]

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Input name -> CUDA tensor; returns output name -> CUDA tensor."""
        for name in self._input_names:
            tensor = inputs[name].cuda().contiguous()
            if tensor.dtype == torch.long:
                tensor = tensor.int()
            inputs[name] = tensor
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in self._output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            outputs[name] = torch.empty(shape, dtype=self._torch_dtype(name), device='cuda')
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        stream = torch.cuda.current_stream()
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError('TensorRT execution failed')
        stream.synchronize()
        return outputs


# MMDeploy's TensorRT backend manager (``TensorRTManager``) gets these two as classmethods from
# rtmdet_plus.deploy.patches.


def manager_build_wrapper(
    cls,
    backend_files,
    device='cuda:0',
    input_names=None,
    output_names=None,
    deploy_cfg=None,
    **kwargs,
):
    """``TensorRTManager.build_wrapper``: a :class:`TRTWrapper` of ``backend_files[0]``."""
    return TRTWrapper(engine=backend_files[0], output_names=output_names)


def manager_to_backend(
    cls, ir_files, work_dir, deploy_cfg, log_level=None, device='cuda:0', **kwargs
):
    """``TensorRTManager.to_backend``: an engine built by :func:`build_engine` from each ONNX
    file, into ``work_dir``."""
    engines = []
    for onnx_file in ir_files:
        engine = osp.join(work_dir, osp.splitext(osp.basename(onnx_file))[0] + '.engine')
        engines.append(build_engine(onnx_file, engine, deploy_cfg, device=device))
    return engines
