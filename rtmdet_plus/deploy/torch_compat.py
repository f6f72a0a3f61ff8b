"""MMDeploy 1.3.1 on torch >= 2.9: export with the TorchScript-based ONNX exporter.

torch 2.9 made ``torch.onnx.export`` default to ``dynamo=True``, the torch.export-based exporter
that needs ``onnxscript`` and never runs MMDeploy's function rewriters or symbolic functions.
MMDeploy calls ``torch.onnx.export`` without the flag, so :func:`legacy_exporter_default` wraps it
to default to ``dynamo=False``. :func:`rtmdet_plus.deploy.patches.apply_patches` installs the
wrapper when :mod:`rtmdet_plus.deploy` is imported; our deploy configs import it through
``custom_imports`` and ``codebase_config.module``, so it is in effect in MMDeploy's export
subprocess too (which loads the deploy config again).
"""

import functools
import inspect
from typing import Callable

import torch
import torch.onnx


def exporter_has_dynamo_flag() -> bool:
    """Whether this torch's ``torch.onnx.export`` takes a ``dynamo`` argument."""
    export = getattr(torch.onnx.export, '__wrapped__', torch.onnx.export)
    return 'dynamo' in inspect.signature(export).parameters


def legacy_exporter_default(original: Callable) -> Callable:
    """``torch.onnx.export`` (``original``) defaulting to ``dynamo=False``; an explicit
    ``dynamo=`` is passed through."""

    @functools.wraps(original)
    def export(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        return original(*args, **kwargs)

    return export
