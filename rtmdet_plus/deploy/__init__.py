"""Deployment through MMDeploy 1.3.1 on the current stack.

Importing this package (our deploy configs do it through ``custom_imports`` and
``codebase_config.module``) registers, for MMDeploy's mmdet codebase:

- function rewriters for our heads (decoding and NMS in the graph; no hard-coded CUDA device),
- the ``RotatedDetection`` task (RTMDet-R without mmrotate),

and applies the patches of :mod:`rtmdet_plus.deploy.patches` (the table there says what each is
for), which give:

- the legacy TorchScript ONNX exporter as ``torch.onnx.export``'s default (torch >= 2.9),
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

# warned before MMDeploy is imported
_numpy_problem = sdk_numpy_problem()
if _numpy_problem:
    warnings.warn(_numpy_problem)

from . import models  # noqa: E402,F401  (rewriters)
from .apis import (  # noqa: E402
    BackendDetector,
    SDKDetector,
    export_and_run_sdk,
    export_model,
    sdk_predict,
)
from .patches import apply_patches  # noqa: E402
from .results import instances_from_outputs, sdk_instances  # noqa: E402
from .rotated_detection import RotatedDetection  # noqa: E402

apply_patches()

__all__ = [
    'BackendDetector',
    'RotatedDetection',
    'SDKDetector',
    'apply_patches',
    'export_and_run_sdk',
    'export_model',
    'instances_from_outputs',
    'sdk_instances',
    'sdk_predict',
]
