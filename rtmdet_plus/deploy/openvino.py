"""OpenVINO (2024.0 and later) as MMDeploy's OpenVINO backend.

MMDeploy 1.3.1 converts with the Model Optimizer ``mo`` (removed in OpenVINO 2025.0) and runs
with ``openvino.inference_engine.IECore`` (removed in 2024.0). :func:`convert_to_ir` writes the IR
(``end2end.xml`` / ``.bin``) with ``ov.convert_model`` of the exported ONNX file, as ``ovc`` does;
:class:`OpenVINOWrapper` runs it with ``ov.Core().compile_model`` on the CPU.
:mod:`rtmdet_plus.deploy.patches` makes MMDeploy's OpenVINO backend manager use both
(:func:`manager_to_backend`, :func:`manager_build_wrapper`), so that
``tools/deploy.py`` (ours and MMDeploy's), ``BackendDetector`` and ``mmdeploy.apis.inference_model``
work with OpenVINO deploy configs.
"""

import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmdeploy.backend.base import BaseWrapper

_INSTALL_HINT = 'pip install openvino (2024.0 or later; rtmdet_plus is tested with 2026.4)'


def _openvino():
    """The ``openvino`` module, or ImportError naming the package to install."""
    try:
        import openvino  # optional package (pip install openvino)
    except ImportError as error:
        raise ImportError(
            f'the OpenVINO backend needs the openvino package: {_INSTALL_HINT}; '
            'or use an ONNX Runtime deploy config'
        ) from error
    if not hasattr(openvino, 'convert_model'):
        raise ImportError(
            f'openvino {getattr(openvino, "__version__", "?")} is too old (no '
            f'openvino.convert_model): {_INSTALL_HINT}'
        )
    return openvino


def ir_file(onnx_file: str, work_dir: str) -> str:
    """``work_dir/<onnx stem>.xml``: where the IR of ``onnx_file`` goes (its weights beside it
    in ``.bin``)."""
    return osp.join(work_dir, osp.splitext(osp.basename(onnx_file))[0] + '.xml')


def nms_rotated_extension():
    """The ONNX frontend's conversion of ``mmdeploy::NMSRotated`` (RTMDet-R's graphs: boxes
    (B, N, 5) cx cy w h angle, scores (B, C, N) -> (num_selected, 3) rows image, class, box) to
    OpenVINO's ``NMSRotated`` (opset 13). The rotation direction does not matter: reflecting every
    box keeps every IoU."""
    _openvino()
    import openvino.opset13 as ops  # optional package, checked by _openvino()
    from openvino.frontend.onnx import ConversionExtension

    def convert(node):
        nms = ops.nms_rotated(
            node.get_input(0),
            node.get_input(1),
            np.array([np.iinfo(np.int32).max], dtype=np.int64),
            np.array([node.get_attribute('iou_threshold')], dtype=np.float32),
            np.array([node.get_attribute('score_threshold')], dtype=np.float32),
            sort_result_descending=False,
            output_type='i64',
        )
        return [nms.output(0)]

    return ConversionExtension('NMSRotated', 'mmdeploy', convert)


def convert_to_ir(onnx_file: str, xml_file: str) -> str:
    """Convert ``onnx_file`` to OpenVINO IR ``xml_file`` (+ ``.bin``), weights kept in float32
    (``ovc`` would store them in float16), ``mmdeploy::NMSRotated`` as OpenVINO's own op. Shapes
    are the ONNX file's: a static export gives a static IR."""
    ov = _openvino()
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file not found: {onnx_file!r}; export it first')
    model = ov.convert_model(onnx_file, extension=[nms_rotated_extension()])
    ov.save_model(model, xml_file, compress_to_fp16=False)
    return xml_file


class OpenVINOWrapper(BaseWrapper):
    """Runs an OpenVINO IR on the CPU in float32 (MMDeploy's wrapper interface).

    Args:
        ir_model_file: ``end2end.xml`` (its ``.bin`` beside it).
        output_names: outputs to return, in order (default: the model's, in its order).
        num_threads: CPU inference threads (default: OpenVINO's choice).
    """

    def __init__(
        self,
        ir_model_file: str,
        output_names: Optional[Sequence[str]] = None,
        num_threads: Optional[int] = None,
    ):
        ov = _openvino()
        for path in (ir_model_file, osp.splitext(ir_model_file)[0] + '.bin'):
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'OpenVINO IR file not found: {path!r}; convert the '
                    'model first (tools/deploy.py with an OpenVINO config)'
                )
        core = ov.Core()
        model = core.read_model(ir_model_file)
        # float32 arithmetic: on CPUs with bf16 (AVX512_BF16, AMX) OpenVINO defaults to bf16
        config = {'INFERENCE_PRECISION_HINT': 'f32'}
        if num_threads is not None:
            config['INFERENCE_NUM_THREADS'] = int(num_threads)
        self.compiled = core.compile_model(model, 'CPU', config)
        self.request = self.compiled.create_infer_request()
        self._input_names = [port.get_any_name() for port in self.compiled.inputs]
        if output_names is None:
            output_names = [port.get_any_name() for port in self.compiled.outputs]
        super().__init__(output_names)
        shape = self.compiled.inputs[0].get_partial_shape()
        self.input_shape = tuple(dim.get_length() if dim.is_static else None for dim in shape)

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Input name -> tensor; returns output name -> CPU tensor."""
        feed = {
            name: np.ascontiguousarray(inputs[name].detach().cpu().numpy())
            for name in self._input_names
        }
        results = self.request.infer(feed)
        by_name = {port.get_any_name(): value for port, value in results.items()}
        return {name: torch.from_numpy(np.array(by_name[name])) for name in self._output_names}


# MMDeploy's OpenVINO backend manager (``OpenVINOManager``) gets these two as classmethods from
# rtmdet_plus.deploy.patches.


def manager_build_wrapper(
    cls, backend_files, device='cpu', input_names=None, output_names=None, deploy_cfg=None, **kwargs
):
    """``OpenVINOManager.build_wrapper``: an :class:`OpenVINOWrapper` of ``backend_files[0]``
    (CPU only)."""
    if not str(device).startswith('cpu'):
        raise ValueError(f'the OpenVINO backend runs on the CPU; got device={device!r}')
    return OpenVINOWrapper(backend_files[0], output_names=output_names)


def manager_to_backend(cls, ir_files, work_dir, deploy_cfg, log_level=None, device='cpu', **kwargs):
    """``OpenVINOManager.to_backend``: each ONNX file converted by :func:`convert_to_ir` into
    ``work_dir``."""
    return [convert_to_ir(onnx_file, ir_file(onnx_file, work_dir)) for onnx_file in ir_files]
