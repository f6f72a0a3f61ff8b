"""Mixed-precision training that also works on the CPU (``tools/train.py --amp``).

mmengine's ``AmpOptimWrapper`` refuses to start without a GPU/NPU/MLU/MUSA device. On the CPU,
:class:`CPUAmpOptimWrapper` runs the forward pass and the losses under
``torch.autocast('cpu', dtype=torch.bfloat16)``. bfloat16 has float32's exponent range, so no
loss scaling is needed; parameters, gradients and optimizer state stay float32.
"""

from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from rtmdet_plus.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` enables CPU autocast in bfloat16.

    Args:
        dtype: the autocast dtype; only ``'bfloat16'`` (float16 on the CPU would need a
            loss scaler and is slower than float32 on most CPUs).
        **kwargs: passed to ``OptimWrapper`` (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        cast_dtype = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
        if cast_dtype is not torch.bfloat16:
            raise ValueError(
                f'CPUAmpOptimWrapper supports dtype="bfloat16" only, got {dtype!r}: set '
                "optim_wrapper.dtype='bfloat16' or train without --amp."
            )
        self.cast_dtype = cast_dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` plus bfloat16 CPU autocast."""
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield


def enable_amp(cfg: Config) -> str:
    """Switch ``cfg.optim_wrapper`` to mixed precision for the device this process will use.

    With CUDA: mmengine's ``AmpOptimWrapper`` with dynamic loss scaling (float16), as mmdet's
    ``--amp`` does. Without: :class:`CPUAmpOptimWrapper` (bfloat16). Returns the wrapper type.
    """
    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper is None:
        raise ValueError('--amp needs an optim_wrapper in the config, and it has none.')
    if optim_wrapper.get('type', 'OptimWrapper') not in (
        'OptimWrapper',
        'AmpOptimWrapper',
        'CPUAmpOptimWrapper',
    ):
        raise ValueError(
            f"--amp replaces optim_wrapper.type, but the config's is "
            f"{optim_wrapper['type']!r}: set mixed precision in the config instead."
        )
    if torch.cuda.is_available():
        optim_wrapper.type = 'AmpOptimWrapper'
        optim_wrapper.loss_scale = 'dynamic'
    else:
        optim_wrapper.type = 'CPUAmpOptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.dtype = 'bfloat16'
    return optim_wrapper.type
