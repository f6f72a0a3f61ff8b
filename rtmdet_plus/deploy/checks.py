"""Clear errors for bad deployment input: missing files, a deploy config for another task, a
missing custom-op library, a raw input tensor of the wrong shape."""

import importlib.util
import json
import os.path as osp
from typing import Sequence

import numpy as np
import onnx
from mmengine.config import Config

from .sdk import waits_for_net_outputs

# deploy task -> the deploy configs for it, named in error messages
DEPLOY_CONFIGS = {
    'detection': 'configs/deploy/detection_onnxruntime_static.py',
    'instance-seg': 'configs/deploy/instance-seg_rtmdet-ins_onnxruntime_static-640x640.py',
    'rotated': 'configs/deploy/rotated-detection_onnxruntime_static-1024x1024.py',
}


def check_file(path: str, what: str, hint: str = '') -> str:
    """``path`` if it is a file, else FileNotFoundError naming ``what`` and the path."""
    if not path or not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path!r}' + (f'; {hint}' if hint else ''))
    return path


def model_task(model_cfg: Config) -> str:
    """'detection', 'instance-seg' or 'rotated', from the type of ``model.bbox_head``."""
    head = model_cfg.model.get('bbox_head', {}).get('type', '').split('.')[-1]
    if head.startswith('Rotated'):
        return 'rotated'
    if 'Ins' in head:
        return 'instance-seg'
    return 'detection'


def deploy_task(deploy_cfg: Config) -> str:
    """'detection', 'instance-seg' or 'rotated', from ``codebase_config.task`` and the outputs."""
    if deploy_cfg.codebase_config.get('task') == 'RotatedDetection':
        return 'rotated'
    if 'masks' in deploy_cfg.onnx_config.get('output_names', []):
        return 'instance-seg'
    return 'detection'


def check_task_matches(deploy_cfg: Config, model_cfg: Config) -> str:
    """The task both configs agree on, else ValueError naming both files and the deploy
    config to use instead."""
    model, deploy = model_task(model_cfg), deploy_task(deploy_cfg)
    if model != deploy:
        raise ValueError(
            f'deploy config {deploy_cfg.filename!r} is for {deploy}, but model config '
            f'{model_cfg.filename!r} is a {model} model ({model_cfg.model.bbox_head.type}); use a '
            f'{model} deploy config such as {DEPLOY_CONFIGS[model]}'
        )
    return model


def custom_op_domains(onnx_file: str) -> Sequence[str]:
    """Op types of ``onnx_file`` in the ``mmdeploy`` domain (custom ops), sorted."""
    graph = onnx.load(onnx_file, load_external_data=False).graph
    return sorted({node.op_type for node in graph.node if node.domain == 'mmdeploy'})


def check_custom_ops(onnx_file: str) -> str:
    """Path of MMDeploy's ONNX Runtime op library when ``onnx_file`` needs it ('' otherwise);
    RuntimeError naming the ops and the expected path when the library is missing."""
    ops = custom_op_domains(onnx_file)
    if not ops:
        return ''
    # optional: MMDeploy's ONNX Runtime backend, looked up when a graph needs its ops
    from mmdeploy.backend.onnxruntime.init_plugins import get_ops_path

    path = get_ops_path()
    if not path or not osp.isfile(path):
        import mmdeploy  # optional package (where its op library should be)

        expected = osp.join(osp.dirname(mmdeploy.__file__), 'lib', 'libmmdeploy_onnxruntime_ops.so')
        raise RuntimeError(
            f'{onnx_file} uses the custom ops {", ".join(ops)}, implemented in MMDeploy\'s ONNX '
            f'Runtime op library, which is missing (expected {expected}); reinstall the '
            'mmdeploy==1.3.1 wheel, which ships it'
        )
    return path


def check_input_tensor(tensor, expected_shape: Sequence) -> None:
    """ValueError unless ``tensor`` (N, C, H, W) fits ``expected_shape`` (ints fixed, str or
    None free), naming both shapes."""
    shape = tuple(tensor.shape)
    fixed = [dim if isinstance(dim, int) else None for dim in expected_shape]
    if len(shape) != len(fixed) or any(
        want is not None and want != got for want, got in zip(fixed, shape)
    ):
        spelled = tuple(dim if dim is not None else '?' for dim in fixed)
        raise ValueError(
            f'input tensor of shape {shape} does not fit the exported model, which expects '
            f'{spelled} (N, C, H, W); give an image (it is resized as the model\'s test pipeline '
            'says) or a tensor of that shape'
        )


def sdk_numpy_problem() -> str:
    """What is wrong with numpy for the installed MMDeploy SDK binding ('' when nothing is):
    ``mmdeploy_runtime`` 1.3.1 was built against numpy 1.x, and under numpy 2 its Detector /
    RotatedDetector return the same label for every box."""
    if (
        int(np.__version__.split('.')[0]) < 2
        or importlib.util.find_spec('mmdeploy_runtime') is None
    ):
        return ''
    return (
        f'numpy {np.__version__} is installed, but the MMDeploy SDK binding (mmdeploy-runtime '
        '1.3.1) was built for numpy 1.x and gives every box the same label under numpy 2: '
        "pip install 'numpy<2' (requirements/constraints.txt pins 1.26.4)"
    )


def check_sdk_numpy() -> None:
    """RuntimeError with :func:`sdk_numpy_problem`'s message, if any."""
    problem = sdk_numpy_problem()
    if problem:
        raise RuntimeError(problem)


def check_sdk_folder(work_dir: str) -> None:
    """FileNotFoundError unless ``work_dir`` has the SDK's files; ValueError for an RTMDet-Ins
    folder whose pipeline lets the SDK read unfinished outputs (exported before the SDK
    export waited for them: see :mod:`rtmdet_plus.deploy.sdk`)."""
    for name in ('deploy.json', 'pipeline.json'):
        check_file(
            osp.join(work_dir, name),
            'SDK file',
            'export with dump_info=True (tools/deploy.py --dump-info)',
        )
    pipeline_file = osp.join(work_dir, 'pipeline.json')
    with open(pipeline_file) as f:
        pipeline = json.load(f)
    if not waits_for_net_outputs(pipeline):
        raise ValueError(
            f'{pipeline_file}: the SDK would post-process the masks before the network\'s outputs '
            'are copied (corrupt or no detections); export the folder again with tools/deploy.py '
            "and rtmdet_plus's deploy configs, which add the task that waits for them"
        )
