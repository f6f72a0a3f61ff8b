"""ChannelsLastHook converts the model without changing its outputs."""

from types import SimpleNamespace

import torch
from mmengine.registry import init_default_scope

from rtmdet_plus.registry import HOOKS
from tools.analysis_tools.mmdet_oracle import build_ours


def test_channels_last_hook_keeps_outputs():
    model = build_ours('rtmdet/rtmdet_tiny_8xb32-300e_coco.py').eval()
    inputs = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        before = model._forward(inputs)
    init_default_scope('rtmdet_plus')
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    hook.before_train(SimpleNamespace(model=model))
    weight = model.backbone.stem[0].conv.weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    with torch.no_grad():
        after = model._forward(inputs)
    for a, b in zip(before[0] + before[1], after[0] + after[1]):
        assert torch.allclose(a, b, atol=1e-4)
