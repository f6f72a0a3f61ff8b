"""Deployment through MMDeploy 1.3.1 on the current stack.

Importing this package (our deploy configs do it through ``custom_imports`` and
``codebase_config.module``) registers, for MMDeploy's mmdet codebase:

- the legacy TorchScript ONNX exporter as ``torch.onnx.export``'s default (torch >= 2.9),
- function rewriters for our heads (decoding and NMS in the graph; no hard-coded CUDA device),
- the ``RotatedDetection`` task (RTMDet-R without mmrotate),
- the backend model's post-processing of our heads' outputs as PyTorch's (``inference_model``),
- SDK files naming SDK modules that exist (mmdet, mmrotate), RTMDet-Ins pipelines that wait for
  the network's outputs,
- models built in the model config's scope by every MMDeploy task processor,
- TensorRT 10 engine building and inference for MMDeploy's TensorRT backend;
- OpenVINO IR conversion (``ov.convert_model``) and inference for MMDeploy's OpenVINO backend;

and warns when numpy 2 is installed beside the SDK binding, which then mislabels every box.
"""
import warnings

import rtmdet_plus  # noqa: F401  (registers the models)

from .checks import sdk_numpy_problem

_numpy_problem = sdk_numpy_problem()
if _numpy_problem:
    warnings.warn(_numpy_problem)

from .torch_compat import use_legacy_onnx_exporter  # noqa: E402

use_legacy_onnx_exporter()

from . import models  # noqa: E402,F401  (rewriters)
from .backend_model import patch_backend_model  # noqa: E402
from .openvino import patch_openvino_backend  # noqa: E402
from .rotated_detection import RotatedDetection  # noqa: E402
from .sdk import patch_sdk_export  # noqa: E402
from .task_scope import patch_task_scope  # noqa: E402
from .tensorrt import patch_tensorrt_backend  # noqa: E402

patch_backend_model()
patch_openvino_backend()
patch_sdk_export()
patch_task_scope()
patch_tensorrt_backend()

from .apis import (BackendDetector, export_and_run_sdk, export_model,  # noqa: E402
                   sdk_predict)
from .results import instances_from_outputs, sdk_instances  # noqa: E402

__all__ = ['BackendDetector', 'RotatedDetection', 'export_and_run_sdk', 'export_model',
           'instances_from_outputs', 'sdk_instances', 'sdk_predict', 'use_legacy_onnx_exporter']
