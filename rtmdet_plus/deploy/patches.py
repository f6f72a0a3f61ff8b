"""Every change rtmdet_plus makes to MMDeploy 1.3.1 (and to ``torch.onnx.export``), in one table.

:data:`PATCHES` lists them; :func:`apply_patches` applies them all, once per process. Importing
:mod:`rtmdet_plus.deploy` calls it, and our deploy configs import that package through
``custom_imports`` and ``codebase_config.module``, so the patches are in effect in MMDeploy's
export subprocess too. The replacements are plain functions of the topical modules named below
(a "wrapped by" function takes the original and returns its wrapper; a "replaced by" function
becomes the classmethod). Registrations through MMDeploy's own extension points (the heads'
function rewriters in :mod:`rtmdet_plus.deploy.models`, the ``RotatedDetection`` task) are not
patches and are not listed.

PATCHES

1. ``torch.onnx.export``
   for:  torch >= 2.9 (tested with 2.13.0), under MMDeploy 1.3.1; skipped on a torch whose exporter
         takes no ``dynamo`` argument
   how:  wrapped by ``rtmdet_plus.deploy.torch_compat.legacy_exporter_default``
   why:  torch 2.9 made ``dynamo=True`` the default: the torch.export-based exporter needs
         onnxscript and never runs MMDeploy's function rewriters or symbolic functions; MMDeploy
         calls ``torch.onnx.export`` without the flag, so it defaults to ``dynamo=False``
2. ``mmdeploy.codebase.mmdet.deploy.object_detection_model.End2EndModel.postprocessing_results``
   for:  MMDeploy 1.3.1
   how:  wrapped by ``rtmdet_plus.deploy.backend_model.our_postprocessing_results``
   why:  MMDeploy reads RTMDet-Ins masks as probabilities (nearest resize, kept at >= 0.5); our
         graphs give mask logits: models with our heads get the heads' own post-processing
         (``instances_from_outputs``: rescale, clip, small boxes, bilinear mask resize)
3. ``mmdeploy.codebase.base.task.BaseTask.__init__``
   for:  MMDeploy 1.3.1
   how:  wrapped by ``rtmdet_plus.deploy.task_scope.scoped_task_init``
   why:  every task processor after a process's first builds in the ``mmdet`` scope that its
         codebase import made current, so mmdet's classes of our heads' names: the model config's
         ``default_scope`` is made current after ``__init__``
4. ``mmdeploy.backend.sdk.export_info.get_postprocess``
   for:  MMDeploy 1.3.1 and its SDK (mmdeploy-runtime 1.3.1)
   how:  wrapped by ``rtmdet_plus.deploy.sdk.sdk_module_postprocess``
   why:  the SDK files name the codebase (``mmdet``) as the module of every post-processing
         component, but the SDK has ``ResizeRBBox`` (RTMDet-R) in its ``mmrotate`` module; our
         RTMDet-Ins graphs give mask logits, so ``mask_thr_binary`` becomes a logit
5. ``mmdeploy.backend.sdk.export_info.get_pipeline``
   for:  MMDeploy 1.3.1 and its SDK (mmdeploy-runtime 1.3.1)
   how:  wrapped by ``rtmdet_plus.deploy.sdk.waiting_pipeline``
   why:  the SDK's ``ResizeInstanceMask`` reads the network's outputs before the CPU stream has
         copied them (1.3.1 commented its wait out): an empty ``Transform`` task, which waits, goes
         before it in ``pipeline.json``
6. ``mmdeploy.backend.tensorrt.backend_manager.TensorRTManager.build_wrapper``
   for:  MMDeploy 1.3.1 with TensorRT 10
   how:  replaced by ``rtmdet_plus.deploy.tensorrt.manager_build_wrapper``
   why:  MMDeploy's ``TRTWrapper`` runs engines with TensorRT 8 calls that TensorRT 10 removed
         (``binding_is_input``, ``set_binding_shape``, ``execute_async_v2``): ours uses the
         named-tensor API (``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``)
7. ``mmdeploy.backend.tensorrt.backend_manager.TensorRTManager.to_backend``
   for:  MMDeploy 1.3.1 with TensorRT 10
   how:  replaced by ``rtmdet_plus.deploy.tensorrt.manager_to_backend``
   why:  MMDeploy's engine builder (``from_onnx``) is TensorRT 8's (``EXPLICIT_BATCH`` network flag,
         deprecated in TensorRT 10): ours, the one ``export_model`` uses, builds with the TensorRT
         10 API (``create_network(0)``, ``set_memory_pool_limit``, ``build_serialized_network``),
         MMDeploy's plugins (TRTBatchedNMS) loaded first
8. ``mmdeploy.backend.openvino.backend_manager.OpenVINOManager.build_wrapper``
   for:  MMDeploy 1.3.1 with OpenVINO >= 2024.0 (tested with 2026.4)
   how:  replaced by ``rtmdet_plus.deploy.openvino.manager_build_wrapper``
   why:  MMDeploy runs IRs with ``openvino.inference_engine.IECore``, removed in OpenVINO 2024.0:
         ours compiles them with ``ov.Core().compile_model`` (float32, on the CPU)
9. ``mmdeploy.backend.openvino.backend_manager.OpenVINOManager.to_backend``
   for:  MMDeploy 1.3.1 with OpenVINO >= 2024.0 (tested with 2026.4)
   how:  replaced by ``rtmdet_plus.deploy.openvino.manager_to_backend``
   why:  MMDeploy converts with the Model Optimizer ``mo``, removed in OpenVINO 2025.0: ours writes
         the IR with ``ov.convert_model`` (float32 weights, ``mmdeploy::NMSRotated`` as OpenVINO's
         ``NMSRotated``)
"""

import importlib
import inspect
import textwrap
from typing import Any, Callable, Dict, NamedTuple, Tuple

from . import backend_model, openvino, sdk, task_scope, tensorrt, torch_compat

WRAPS = 'wrapped by'  # ``by(original)`` is the replacement
REPLACES = 'replaced by'  # ``classmethod(by)`` is the replacement (the original is not used)


def _always() -> bool:
    return True


class Patch(NamedTuple):
    """One attribute of MMDeploy (or torch) that :func:`apply_patches` replaces.

    Attributes:
        target: ``'module:attribute'`` or ``'module:Class.attribute'``.
        how: :data:`WRAPS` or :data:`REPLACES`.
        by: our function (see ``how``).
        versions: the versions it is written for.
        why: what goes wrong without it, and what ours does instead.
        needed: whether this environment needs it (the patch is skipped otherwise).
    """

    target: str
    how: str
    by: Callable
    versions: str
    why: str
    needed: Callable[[], bool] = _always


MMDEPLOY = 'MMDeploy 1.3.1'
SDK = f'{MMDEPLOY} and its SDK (mmdeploy-runtime 1.3.1)'
TENSORRT = f'{MMDEPLOY} with TensorRT 10'
OPENVINO = f'{MMDEPLOY} with OpenVINO >= 2024.0 (tested with 2026.4)'
TRT_MANAGER = 'mmdeploy.backend.tensorrt.backend_manager:TensorRTManager'
OV_MANAGER = 'mmdeploy.backend.openvino.backend_manager:OpenVINOManager'

PATCHES: Tuple[Patch, ...] = (
    Patch(
        'torch.onnx:export',
        WRAPS,
        torch_compat.legacy_exporter_default,
        f'torch >= 2.9 (tested with 2.13.0), under {MMDEPLOY}; skipped on a torch whose '
        'exporter takes no ``dynamo`` argument',
        'torch 2.9 made ``dynamo=True`` the default: the torch.export-based exporter needs '
        "onnxscript and never runs MMDeploy's function rewriters or symbolic functions; "
        'MMDeploy calls ``torch.onnx.export`` without the flag, so it defaults to '
        '``dynamo=False``',
        needed=torch_compat.exporter_has_dynamo_flag,
    ),
    Patch(
        'mmdeploy.codebase.mmdet.deploy.object_detection_model:End2EndModel.postprocessing_results',
        WRAPS,
        backend_model.our_postprocessing_results,
        MMDEPLOY,
        'MMDeploy reads RTMDet-Ins masks as probabilities (nearest resize, kept at >= 0.5); '
        "our graphs give mask logits: models with our heads get the heads' own "
        'post-processing (``instances_from_outputs``: rescale, clip, small boxes, bilinear '
        'mask resize)',
    ),
    Patch(
        'mmdeploy.codebase.base.task:BaseTask.__init__',
        WRAPS,
        task_scope.scoped_task_init,
        MMDEPLOY,
        "every task processor after a process's first builds in the ``mmdet`` scope that its "
        "codebase import made current, so mmdet's classes of our heads' names: the model "
        "config's ``default_scope`` is made current after ``__init__``",
    ),
    Patch(
        'mmdeploy.backend.sdk.export_info:get_postprocess',
        WRAPS,
        sdk.sdk_module_postprocess,
        SDK,
        'the SDK files name the codebase (``mmdet``) as the module of every post-processing '
        'component, but the SDK has ``ResizeRBBox`` (RTMDet-R) in its ``mmrotate`` module; '
        'our RTMDet-Ins graphs give mask logits, so ``mask_thr_binary`` becomes a logit',
    ),
    Patch(
        'mmdeploy.backend.sdk.export_info:get_pipeline',
        WRAPS,
        sdk.waiting_pipeline,
        SDK,
        "the SDK's ``ResizeInstanceMask`` reads the network's outputs before the CPU stream "
        'has copied them (1.3.1 commented its wait out): an empty ``Transform`` task, which '
        'waits, goes before it in ``pipeline.json``',
    ),
    Patch(
        f'{TRT_MANAGER}.build_wrapper',
        REPLACES,
        tensorrt.manager_build_wrapper,
        TENSORRT,
        "MMDeploy's ``TRTWrapper`` runs engines with TensorRT 8 calls that TensorRT 10 removed "
        '(``binding_is_input``, ``set_binding_shape``, ``execute_async_v2``): ours uses the '
        'named-tensor API (``set_input_shape``, ``set_tensor_address``, '
        '``execute_async_v3``)',
    ),
    Patch(
        f'{TRT_MANAGER}.to_backend',
        REPLACES,
        tensorrt.manager_to_backend,
        TENSORRT,
        "MMDeploy's engine builder (``from_onnx``) is TensorRT 8's (``EXPLICIT_BATCH`` network "
        'flag, deprecated in TensorRT 10): ours, the one ``export_model`` uses, builds with '
        "the TensorRT 10 API (``create_network(0)``, ``set_memory_pool_limit``, "
        "``build_serialized_network``), MMDeploy's plugins (TRTBatchedNMS) loaded first",
    ),
    Patch(
        f'{OV_MANAGER}.build_wrapper',
        REPLACES,
        openvino.manager_build_wrapper,
        OPENVINO,
        'MMDeploy runs IRs with ``openvino.inference_engine.IECore``, removed in OpenVINO '
        '2024.0: ours compiles them with ``ov.Core().compile_model`` (float32, on the CPU)',
    ),
    Patch(
        f'{OV_MANAGER}.to_backend',
        REPLACES,
        openvino.manager_to_backend,
        OPENVINO,
        'MMDeploy converts with the Model Optimizer ``mo``, removed in OpenVINO 2025.0: ours '
        'writes the IR with ``ov.convert_model`` (float32 weights, ``mmdeploy::NMSRotated`` '
        "as OpenVINO's ``NMSRotated``)",
    ),
)

# target -> the attribute apply_patches replaced (as stored on its owner: a classmethod, not a
# bound method)
ORIGINALS: Dict[str, Any] = {}
_applied = False


def resolve(target: str) -> Tuple[Any, str]:
    """``'module:Class.attribute'`` -> (the module or class that holds it, attribute name)."""
    module_name, _, path = target.partition(':')
    owner = importlib.import_module(module_name)
    *owners, attribute = path.split('.')
    for name in owners:
        owner = getattr(owner, name)
    return owner, attribute


def stored(owner: Any, attribute: str) -> Any:
    """``owner``'s ``attribute`` as stored (a class's classmethod object, not a bound method)."""
    return inspect.getattr_static(owner, attribute)


def replacement(patch: Patch, original: Any) -> Any:
    """What ``patch`` puts in place of ``original``."""
    if patch.how == WRAPS:
        return patch.by(original)
    if patch.how == REPLACES:
        return classmethod(patch.by)
    raise ValueError(f'{patch.target}: unknown patch kind {patch.how!r}')


def apply_patches() -> None:
    """Apply every patch of :data:`PATCHES` that this environment needs, once per process
    (later calls do nothing). Every target is looked up before any is replaced, so a missing
    one (another MMDeploy version) raises and changes nothing."""
    global _applied
    if _applied:
        return
    plan = []
    for patch in PATCHES:
        if patch.needed():
            owner, attribute = resolve(patch.target)
            plan.append((patch, owner, attribute, stored(owner, attribute)))
    for patch, owner, attribute, original in plan:
        setattr(owner, attribute, replacement(patch, original))
        ORIGINALS[patch.target] = original
    _applied = True


def render_table(patches: Tuple[Patch, ...] = PATCHES, width: int = 100) -> str:
    """The table of the module docstring, from ``patches``."""
    lines = []
    for number, patch in enumerate(patches, 1):
        by = f'{patch.by.__module__}.{patch.by.__qualname__}'
        lines.append(f'{number}. ``{patch.target.replace(":", ".")}``')
        for label, text in (
            ('for', patch.versions),
            ('how', f'{patch.how} ``{by}``'),
            ('why', patch.why),
        ):
            lines.append(
                textwrap.fill(
                    text,
                    width,
                    initial_indent=f'   {label}:  ',
                    subsequent_indent=' ' * 9,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    return '\n'.join(lines)
