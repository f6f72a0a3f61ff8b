"""rtmdet_plus: the RTMDet family as an mmdet 3.x plugin (scope ``rtmdet_plus``).

Importing the package registers every component, so ``custom_imports=dict(imports=['rtmdet_plus'])``
is all an mmdet project needs.
"""
from .version import __version__
from . import registry  # noqa: F401  (creates the child registries)
from . import datasets, engine, evaluation, models, utils  # noqa: F401  (registers components, safe checkpoint loading)

__all__ = ['__version__']
