"""MMDeploy function rewriters for rtmdet_plus's heads (registered on import)."""

from . import dense_heads  # noqa: F401
