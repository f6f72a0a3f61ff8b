"""Hook that puts the model in channels-last memory format for training and testing."""

import torch
from mmengine.hooks import Hook

from rtmdet_plus.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model's 4-D weights to ``torch.channels_last`` before running.

    Convolutions then read NHWC data, which is faster on GPUs with tensor cores (with AMP) and
    on CPUs whose oneDNN kernels prefer it. Inputs are converted by the convolutions themselves.
    Enable with ``custom_hooks=[dict(type='ChannelsLastHook')]``.
    """

    priority = 'VERY_HIGH'

    def _convert(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)
