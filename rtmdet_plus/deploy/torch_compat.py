"""MMDeploy 1.3.1 on torch >= 2.9: export with the TorchScript-based ONNX exporter.

torch 2.9 made ``torch.onnx.export`` default to ``dynamo=True``, the torch.export-based exporter
that needs ``onnxscript`` and never runs MMDeploy's function rewriters or symbolic functions.
MMDeploy calls ``torch.onnx.export`` without the flag, so we wrap it to default to
``dynamo=False``. The wrapper is installed when :mod:`rtmdet_plus.deploy` is imported; our deploy
configs import it through ``custom_imports`` and ``codebase_config.module``, so it is in effect in
MMDeploy's export subprocess too (which loads the deploy config again).
"""
import functools
import inspect

import torch
import torch.onnx

_MARK = '_rtmdet_plus_legacy_exporter'


def exporter_has_dynamo_flag() -> bool:
    """Whether this torch's ``torch.onnx.export`` takes a ``dynamo`` argument."""
    export = getattr(torch.onnx.export, '__wrapped__', torch.onnx.export)
    return 'dynamo' in inspect.signature(export).parameters


def use_legacy_onnx_exporter() -> None:
    """Make ``torch.onnx.export`` default to ``dynamo=False`` (idempotent; a no-op on a torch
    whose exporter has no ``dynamo`` argument). An explicit ``dynamo=`` is passed through."""
    if getattr(torch.onnx.export, _MARK, False) or not exporter_has_dynamo_flag():
        return
    original = torch.onnx.export

    @functools.wraps(original)
    def export(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        return original(*args, **kwargs)

    setattr(export, _MARK, True)
    torch.onnx.export = export
