"""Registration of ``RotatedBoxes`` and ``QuadriBoxes`` with mmdet's box-type machinery.

mmdet keeps one global table of box-type names, shared with mmrotate. Ours take the names
'rbox' and 'qbox' when they are free, so ``get_box_type('rbox')``, ``convert_box_type`` and
``boxes.convert_to('rbox')`` reach them. When mmrotate is installed and importable, its
structures are imported first and keep 'rbox'/'qbox' (same format and conventions), and ours are
registered as 'rtmdet_plus.rbox'/'rtmdet_plus.qbox', so neither package's import fails on the
other's names. ``RBOX_NAME``/``QBOX_NAME`` say which names ours received.
"""

import importlib
import importlib.util
from typing import Callable, Type

from mmdet.structures.bbox import HorizontalBoxes, register_box, register_box_converter
from mmdet.structures.bbox.box_type import _box_type_to_name, box_converters, box_types

from .box_converters import hbox2qbox, hbox2rbox, qbox2hbox, qbox2rbox, rbox2hbox, rbox2qbox
from .quadri_boxes import QuadriBoxes
from .rotated_boxes import RotatedBoxes

PREFIX = 'rtmdet_plus.'


def _import_mmrotate_structures() -> None:
    """Let an installed, importable mmrotate register its own box types first."""
    if importlib.util.find_spec('mmrotate') is None:
        return
    try:
        importlib.import_module('mmrotate.structures.bbox')
    except Exception:  # mmrotate 1.x refuses mmdet >= 3.1 at import: it cannot claim names
        pass


def _register(name: str, box_cls: Type) -> str:
    """Register ``box_cls`` as ``name``, or as the prefixed name if another type holds it."""
    if box_cls in _box_type_to_name:  # this module ran before (e.g. a reload)
        return _box_type_to_name[box_cls]
    if name in box_types:
        name = PREFIX + name
    register_box(name, box_cls)
    return name


def _register_converter(src: str, dst: str, converter: Callable) -> None:
    if f'{src}2{dst}' not in box_converters:
        register_box_converter(src, dst, converter)


_import_mmrotate_structures()
RBOX_NAME = _register('rbox', RotatedBoxes)
QBOX_NAME = _register('qbox', QuadriBoxes)
HBOX_NAME = _box_type_to_name[HorizontalBoxes]

_CONVERTERS = (
    (HBOX_NAME, RBOX_NAME, hbox2rbox),
    (RBOX_NAME, HBOX_NAME, rbox2hbox),
    (HBOX_NAME, QBOX_NAME, hbox2qbox),
    (QBOX_NAME, HBOX_NAME, qbox2hbox),
    (RBOX_NAME, QBOX_NAME, rbox2qbox),
    (QBOX_NAME, RBOX_NAME, qbox2rbox),
)
for _src, _dst, _converter in _CONVERTERS:
    _register_converter(_src, _dst, _converter)
