"""LAMB (You et al., "Large Batch Optimization for Deep Learning"), as mmpretrain's ``Lamb``
(timm's variant): Adam moments on globally norm-clipped gradients, decoupled weight decay, and
per tensor a trust ratio ||w|| / ||update|| when weight decay is on."""

import math

import torch
from torch.optim import Optimizer

from rtmdet_plus.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class Lamb(Optimizer):
    """Args as mmpretrain's: ``lr``, ``betas``, ``eps`` (added to the bias-corrected root of the
    second moment), ``weight_decay``, ``bias_correction``, ``grad_averaging`` (first moment
    takes ``(1 - beta1) * g``, else ``g``), ``max_grad_norm`` (the gradients of all groups are
    divided by ``max(1, ||g|| / max_grad_norm)``), ``trust_clip`` (cap the ratio at 1),
    ``always_adapt`` (trust ratio without weight decay too)."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        bias_correction: bool = True,
        betas=(0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.01,
        grad_averaging: bool = True,
        max_grad_norm: float = 1.0,
        trust_clip: bool = False,
        always_adapt: bool = False,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(
                f'Lamb needs lr, eps and weight_decay >= 0, got {lr}, {eps}, {weight_decay}'
            )
        super().__init__(
            params,
            dict(
                lr=lr,
                bias_correction=bias_correction,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                grad_averaging=grad_averaging,
                max_grad_norm=max_grad_norm,
                trust_clip=trust_clip,
                always_adapt=always_adapt,
            ),
        )

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grads = [
            p.grad for group in self.param_groups for p in group['params'] if p.grad is not None
        ]
        if not grads:
            return loss
        grad_norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        max_norm = self.defaults['max_grad_norm']
        clip = torch.clamp(grad_norm / max_norm, min=1.0) if max_norm else 1.0
        for group in self.param_groups:
            beta1, beta2 = group['betas']
            group['step'] = group.get('step', 0) + 1
            if group['bias_correction']:
                correction1 = 1 - beta1 ** group['step']
                correction2 = 1 - beta2 ** group['step']
            else:
                correction1 = correction2 = 1.0
            first_weight = 1 - beta1 if group['grad_averaging'] else 1.0
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad / clip
                state = self.state[p]
                if not state:
                    state['exp_avg'] = torch.zeros_like(p)
                    state['exp_avg_sq'] = torch.zeros_like(p)
                exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                exp_avg.mul_(beta1).add_(grad, alpha=first_weight)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                update = (exp_avg / correction1) / (
                    exp_avg_sq.sqrt() / math.sqrt(correction2) + group['eps']
                )
                if group['weight_decay']:
                    update = update + group['weight_decay'] * p
                if group['weight_decay'] or group['always_adapt']:
                    w_norm, u_norm = p.norm(), update.norm()
                    ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else torch.ones(())
                    if group['trust_clip']:
                        ratio = torch.clamp(ratio, max=1.0)
                    update = update * ratio
                p.add_(update, alpha=-group['lr'])
        return loss
