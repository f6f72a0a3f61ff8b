"""LAMB against its published update rule, worked by hand, and against mmpretrain 1.2.0's."""

import copy
import math

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from rtmdet_plus.engine.optimizers import Lamb


def hand_lamb(w, grads, lr, betas, eps, weight_decay, max_grad_norm):
    """Steps of LAMB for one tensor, written from the paper's rule with timm's choices."""
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = g / max(1.0, g.norm().item() / max_grad_norm)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        r = m_hat / (v_hat.sqrt() + eps) + weight_decay * w
        ratio = w.norm() / r.norm() if weight_decay else 1.0
        w = w - lr * ratio * r
    return w


@pytest.mark.parametrize('weight_decay', [0.0, 0.02])
def test_three_steps_equal_the_rule_by_hand(weight_decay):
    torch.manual_seed(0)
    start = torch.randn(5, 3)
    grads = [torch.randn(5, 3) * scale for scale in (0.1, 3.0, 0.5)]  # the second is clipped
    w = torch.nn.Parameter(start.clone())
    optimizer = Lamb([w], lr=0.005, weight_decay=weight_decay)
    for g in grads:
        w.grad = g.clone()
        optimizer.step()
    expected = hand_lamb(start, grads, 0.005, (0.9, 0.999), 1e-6, weight_decay, 1.0)
    torch.testing.assert_close(w.detach(), expected, atol=1e-7, rtol=1e-6)
    assert not torch.equal(w.detach(), start)


def test_equals_mmpretrain_lamb_with_parameter_groups():
    from tools.analysis_tools.mmpretrain_oracle import import_mmpretrain_models

    try:
        import_mmpretrain_models()
        from mmpretrain.engine.optimizers import Lamb as ReferenceLamb
    except ImportError as error:
        pytest.skip(f'mmpretrain 1.2.0 is the oracle here: {error}')
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2)
    )
    copies = [model, copy.deepcopy(model)]
    optimizers = [
        Lamb(copies[0].parameters(), lr=0.005, weight_decay=0.01),
        ReferenceLamb(copies[1].parameters(), lr=0.005, weight_decay=0.01),
    ]
    inputs = torch.randn(16, 4)
    for _ in range(4):
        for net, optimizer in zip(copies, optimizers):
            optimizer.zero_grad()
            net(inputs).square().sum().backward()
            optimizer.step()
    for a, b in zip(copies[0].parameters(), copies[1].parameters()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_built_by_name_with_no_decay_on_biases_and_norms():
    """The recipe's optimiser: ``dict(type='Lamb', lr=0.005, weight_decay=0.01)`` with
    ``paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0.)``."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        wrapper = build_optim_wrapper(
            model,
            dict(
                optimizer=dict(type='Lamb', lr=0.005, weight_decay=0.01),
                paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0),
            ),
        )
    assert isinstance(wrapper.optimizer, Lamb)
    decays = sorted(group['weight_decay'] for group in wrapper.optimizer.param_groups)
    assert decays == [0.0, 0.0, 0.0, 0.01]
    assert math.isclose(wrapper.optimizer.param_groups[0]['lr'], 0.005)
