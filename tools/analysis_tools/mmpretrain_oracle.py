"""mmpretrain 1.2.0 as a reference for the tests (not part of the package).

mmpretrain imports torchvision at import time (dataset transforms, a box utility), and the
registry's torchvision wheels need CUDA torch, so beside our CPU torch ``import mmpretrain``
fails. :func:`import_mmpretrain_models` imports ``mmpretrain.models`` with a stand-in for
torchvision present only during that import: the backbones we compare never call it.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from unittest import mock


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers every ``torchvision`` / ``torchvision.*`` import with a module whose attributes
    are mocks."""

    def find_spec(self, fullname, path, target=None):
        if fullname == 'torchvision' or fullname.startswith('torchvision.'):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda name: mock.MagicMock(name=f'{spec.name}.{name}')
        return module

    def exec_module(self, module):
        pass


def import_mmpretrain_models():
    """``mmpretrain.models`` (its registry filled), imported with torchvision stood in for.

    Raises ImportError when mmpretrain is not installed. The stand-in modules are removed from
    ``sys.modules`` afterwards, so later imports of torchvision behave as before.
    """
    loaded = sys.modules.get('mmpretrain.models')
    if loaded is not None and hasattr(loaded, 'backbones'):
        return loaded
    if importlib.util.find_spec('mmpretrain') is None:
        raise ImportError(
            'mmpretrain is not installed: pip install mmpretrain==1.2.0 (requirements/tests.txt)'
        )
    finder = _StandInFinder()
    saved = {
        name: module
        for name, module in sys.modules.items()
        if name == 'torchvision' or name.startswith('torchvision.')
    }
    for name in saved:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    try:
        models = importlib.import_module('mmpretrain.models')
        _link_submodules('mmpretrain')
        return models
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == 'torchvision' or n.startswith('torchvision.')]:
            del sys.modules[name]
        sys.modules.update(saved)


def _link_submodules(package: str) -> None:
    """Set each loaded ``package.*`` module as the attribute of its parent. mmdet tries
    ``import mmpretrain`` itself (its ReID preprocessor) and, on the ImportError, keeps the
    submodules that did load while their parents are dropped; re-imported parents then lack
    those attributes."""
    for name, module in list(sys.modules.items()):
        if name.startswith(package + '.') and module is not None:
            parent, _, child = name.rpartition('.')
            if parent in sys.modules and not hasattr(sys.modules[parent], child):
                setattr(sys.modules[parent], child, module)
