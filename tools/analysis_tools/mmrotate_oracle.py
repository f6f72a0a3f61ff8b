"""mmrotate 1.x's RTMDet-R as a reference for the tests and benchmarks (not part of the package).

mmrotate 1.0.0rc1 does not import on our stack: its package ``__init__`` refuses mmdet 3.3, and
its model package imports every model (e2cnn among them). ``make env`` installs its wheel,
without dependencies, into ``<venv>/oracles`` (not on ``sys.path``, so nothing else sees it), and
:func:`load_mmrotate` imports only what RTMDet-R uses, from that copy:

- ``mmrotate`` and its model packages as empty packages over the wheel's folders (their
  ``__init__`` files are not run), then the registry, the structures, the coders, the IoU
  calculator, the rotated IoU loss and the RTMDet-R heads;
- mmrotate's ``RotatedBoxes``/``QuadriBoxes`` register with mmdet's box-type registry only
  while they are imported: ours keep the names 'rbox'/'qbox' afterwards, and mmrotate's classes
  map to those names (``convert_to`` on them uses our converters);
- the rotated IoU loss calls mmcv's ``diff_iou_rotated_2d``, which has no CPU kernel: it is given
  our differentiable polygon-clipping IoU (``rtmdet_plus.structures.rotated_box_iou``, itself
  tested against mmcv's ``box_iou_rotated``).
"""

import importlib
import importlib.machinery
import os
import sys
import types
from typing import Optional

from mmengine.registry import Registry

ORACLES = os.path.join(sys.prefix, 'oracles')
STUB_PACKAGES = (
    'mmrotate',
    'mmrotate.models',
    'mmrotate.models.dense_heads',
    'mmrotate.models.losses',
    'mmrotate.models.task_modules',
    'mmrotate.models.task_modules.assigners',
    'mmrotate.models.task_modules.coders',
)
MODULES = (
    'mmrotate.registry',
    'mmrotate.structures',
    'mmrotate.models.task_modules.coders.angle_coder',
    'mmrotate.models.task_modules.coders.distance_angle_point_coder',
    'mmrotate.models.task_modules.assigners.rotate_iou2d_calculator',
    'mmrotate.models.losses.rotated_iou_loss',
    'mmrotate.models.dense_heads.rotated_rtmdet_head',
)


def mmrotate_folder() -> Optional[str]:
    """The oracle copy's ``mmrotate`` folder, or None when ``make env`` has not installed it."""
    folder = os.path.join(ORACLES, 'mmrotate')
    head = os.path.join(folder, 'models', 'dense_heads', 'rotated_rtmdet_head.py')
    return folder if os.path.isfile(head) else None


def mmrotate_config(name: str) -> str:
    """Path of one of mmrotate's shipped configs, e.g.
    'rotated_rtmdet/rotated_rtmdet_tiny-3x-dota.py'."""
    return os.path.join(ORACLES, 'mmrotate', '.mim', 'configs', name)


def diff_iou_rotated_2d_on_cpu(boxes1, boxes2):
    """mmcv's ``diff_iou_rotated_2d`` signature, (1, N, 5) and (1, N, 5) -> (1, N), through our
    differentiable rotated IoU."""
    from rtmdet_plus.structures import rotated_box_iou

    return rotated_box_iou(boxes1[0], boxes2[0])[None]


def load_mmrotate() -> types.ModuleType:
    """Import RTMDet-R's modules of mmrotate 1.0.0rc1 (see the module docstring); returns
    ``mmrotate.registry`` (its ``MODELS`` builds mmrotate's configs in scope 'mmrotate')."""
    if 'mmrotate.models.dense_heads.rotated_rtmdet_head' in sys.modules:
        return sys.modules['mmrotate.registry']
    folder = mmrotate_folder()
    if folder is None:
        raise ImportError(
            f'mmrotate 1.0.0rc1 is not installed under {ORACLES}: run '
            f'`pip install --no-deps --target {ORACLES} mmrotate==1.0.0rc1`'
        )
    if 'mmrotate' in sys.modules and not getattr(sys.modules['mmrotate'], '_oracle', False):
        raise ImportError('another mmrotate is imported already')
    from mmdet.structures.bbox import box_type

    import rtmdet_plus.structures  # noqa: F401 (ours register their box types first)

    for name in STUB_PACKAGES:
        package = types.ModuleType(name)
        package.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        package.__path__ = [os.path.join(folder, *name.split('.')[1:])]
        package._oracle = True
        sys.modules[name] = package

    registries = (box_type.box_types, box_type._box_type_to_name, box_type.box_converters)
    saved = [dict(registry) for registry in registries]
    ours = {
        name: cls
        for name, cls in box_type.box_types.items()
        if name.split('.')[-1] in ('rbox', 'qbox')
    }
    try:
        for name, cls in ours.items():
            del box_type.box_types[name]
            del box_type._box_type_to_name[cls]
        for key in [k for k in box_type.box_converters if 'rbox' in k or 'qbox' in k]:
            del box_type.box_converters[key]
        for name in MODULES:
            importlib.import_module(name)
    except BaseException:
        for name in [n for n in sys.modules if n == 'mmrotate' or n.startswith('mmrotate.')]:
            del sys.modules[name]
        raise
    finally:
        for registry, before in zip(registries, saved):
            registry.clear()
            registry.update(before)
    # mmrotate's box classes take our names in the reverse table only, so that their
    # convert_to() reaches our converters; names still resolve to our classes
    structures = sys.modules['mmrotate.structures']
    for name, cls in ours.items():
        theirs = structures.RotatedBoxes if name.endswith('rbox') else structures.QuadriBoxes
        box_type._box_type_to_name[theirs] = name
    registry = sys.modules['mmrotate.registry']
    # building in scope 'mmrotate' would otherwise import mmrotate.utils (and every model)
    for node in vars(registry).values():
        if isinstance(node, Registry):
            node._imported = True
    sys.modules[
        'mmrotate.models.losses.rotated_iou_loss'
    ].diff_iou_rotated_2d = diff_iou_rotated_2d_on_cpu
    return registry
