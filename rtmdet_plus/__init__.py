"""rtmdet_plus: the RTMDet family as an mmdet 3.x plugin (scope ``rtmdet_plus``).

Importing the package registers every component, so ``custom_imports=dict(imports=['rtmdet_plus'])``
is all an mmdet project needs.
"""

from . import (  # noqa: F401  (registers components, safe checkpoint loading)
    datasets,
    engine,
    evaluation,
    models,
    registry,  # noqa: F401  (creates the child registries)
    utils,
)
from .version import __version__

__all__ = ['__version__']
