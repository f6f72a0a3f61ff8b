"""SDK files (``deploy.json``, ``pipeline.json``) whose post-processing module exists in the SDK.

MMDeploy writes the codebase name as the C++ module of the post-processing task. Our deploy
configs name the ``mmdet`` codebase, a module the SDK has, for every task; but rotated boxes are
rescaled by ``ResizeRBBox``, which the SDK keeps in its ``mmrotate`` module. Importing
:mod:`rtmdet_plus.deploy` wraps MMDeploy's ``get_postprocess`` (used by ``export2SDK``, also
from MMDeploy's own ``tools/deploy.py``) with :func:`sdk_module_postprocess`, so that component
is looked up there, and so that the SDK thresholds our RTMDet-Ins graphs' mask logits at the
logit of ``mask_thr_binary``.

It also wraps ``get_pipeline`` (:func:`waiting_pipeline`) for ``ResizeInstanceMask`` pipelines
(RTMDet-Ins, ours and mmdet's). The SDK's ``Net`` task hands its outputs on while the CPU stream
is still copying them (only under a profiler does it wait), and ``ResizeInstanceMask`` reads
``dets`` and ``labels`` before its own wait (MMDeploy 1.3.1 commented that wait out;
``ResizeBBox`` keeps it): corrupt or no detections, mostly on a detector's first call. The
pipeline gets one more task between the two, an empty ``Transform`` (``Compose`` of nothing):
every SDK operation context waits for its stream when it closes, so the post-processing starts
on finished outputs. This is in the exported folder, so every SDK user
(``mmdeploy_runtime.Detector``, the C and C++ APIs) gets it.

Both wrappers are installed by :func:`rtmdet_plus.deploy.patches.apply_patches`.
"""

import functools
from typing import Callable

from rtmdet_plus.registry import MODELS

from .results import mask_logit_threshold

# SDK component -> the SDK module that registers it, where it is not the codebase's own.
SDK_MODULE_OF_COMPONENT = {'ResizeRBBox': 'mmrotate'}

# The task that waits for the network's outputs, and the name of its output.
WAIT_TASK_NAME = 'wait_for_net_outputs'
WAITED_OUTPUT = 'waited_infer_output'


def builds_our_head(model_cfg) -> bool:
    """Whether ``model_cfg``'s ``bbox_head`` is one of rtmdet_plus's heads."""
    head = model_cfg.model.get('bbox_head', {}).get('type', '')
    scope, _, name = head.rpartition('.')
    if scope:
        return scope == 'rtmdet_plus' and name in MODELS.module_dict
    return model_cfg.get('default_scope') == 'rtmdet_plus' and name in MODELS.module_dict


def sdk_module_postprocess(original: Callable) -> Callable:
    """``export_info.get_postprocess`` (``original``) naming the SDK module of the component,
    with our RTMDet-Ins mask threshold as a logit."""

    @functools.wraps(original)
    def get_postprocess(deploy_cfg, model_cfg, *args, **kwargs) -> dict:
        info = original(deploy_cfg, model_cfg, *args, **kwargs)
        info['module'] = SDK_MODULE_OF_COMPONENT.get(info.get('component'), info['module'])
        if info.get('component') == 'ResizeInstanceMask' and builds_our_head(model_cfg):
            # our RTMDet-Ins graphs give mask logits: threshold them at the logit
            params = info['params']
            params['mask_thr_binary'] = mask_logit_threshold(params.get('mask_thr_binary', 0.5))
        return info

    return get_postprocess


def waiting_pipeline(original: Callable) -> Callable:
    """``export_info.get_pipeline`` (``original``) whose tasks wait for the network's outputs
    before ``ResizeInstanceMask`` (:func:`wait_before_mask_postprocess`)."""

    @functools.wraps(original)
    def get_pipeline(*args, **kwargs) -> dict:
        info = original(*args, **kwargs)
        info['pipeline']['tasks'] = wait_before_mask_postprocess(info['pipeline']['tasks'])
        return info

    return get_pipeline


def wait_before_mask_postprocess(tasks: list) -> list:
    """``pipeline.json``'s tasks with the waiting task (see the module docstring) before the
    ``ResizeInstanceMask`` post-processing, which then reads the waited outputs; tasks that
    have it already, or no such post-processing, are returned as they are."""
    if any(task.get('name') == WAIT_TASK_NAME for task in tasks):
        return tasks
    net_outputs = {name for task in tasks if task.get('module') == 'Net' for name in task['output']}
    result = []
    for task in tasks:
        if task.get('component') == 'ResizeInstanceMask':
            waited = [name for name in task['input'] if name in net_outputs]
            if len(waited) != 1:
                raise ValueError(f'expected one network output among the inputs of {task}')
            result.append(
                dict(
                    type='Task',
                    module='Transform',
                    name=WAIT_TASK_NAME,
                    input=waited,
                    output=[WAITED_OUTPUT],
                    transforms=[],
                )
            )
            task = dict(
                task,
                input=[WAITED_OUTPUT if name in net_outputs else name for name in task['input']],
            )
        result.append(task)
    return result


def waits_for_net_outputs(pipeline: dict) -> bool:
    """Whether a ``pipeline.json``'s content is safe from the SDK's race above: no
    ``ResizeInstanceMask``, or the waiting task before it."""
    tasks = pipeline.get('pipeline', {}).get('tasks', [])
    return not any(task.get('component') == 'ResizeInstanceMask' for task in tasks) or any(
        task.get('name') == WAIT_TASK_NAME for task in tasks
    )
