"""Stop (or skip the step) when the training loss or a gradient is NaN or infinite.

mmengine applies every optimizer step it is given: after one non-finite loss the weights are
NaN, and the run goes on writing useless checkpoints. :class:`NonFiniteLossHook` checks each
step before the optimizer applies it:

- ``action='stop'`` (the default in our configs): raise ``FloatingPointError`` naming the
  iteration, the loss terms that are not finite (or the parameters whose gradients are not),
  and the image files of the batch. Nothing is saved after it, so the newest checkpoint in the
  work dir is the last good one.
- ``action='skip'``: leave the weights and the optimizer state as they were, log a warning, and
  count the skipped steps (``train/skipped_steps`` in the log, and a total at each epoch's end).

With an ``AmpOptimWrapper`` the gradients are not checked: its loss scaler already skips the
steps whose scaled gradients overflow.
"""

import math
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from rtmdet_plus.registry import HOOKS

ACTIONS = ('stop', 'skip')


def non_finite_terms(log_vars: dict) -> List[str]:
    """``name=value`` of the loss terms in ``log_vars`` that are NaN or infinite (the total,
    ``loss``, only when no term is)."""
    bad = []
    for name, value in log_vars.items():
        number = float(value.detach()) if torch.is_tensor(value) else float(value)
        if not math.isfinite(number):
            bad.append(f'{name}={number}')
    terms = [term for term in bad if not term.startswith('loss=')]
    return terms or bad


def non_finite_grads(model: torch.nn.Module) -> List[str]:
    """Names of the parameters whose gradient holds a NaN or an infinity."""
    return [
        name
        for name, param in model.named_parameters()
        if param.grad is not None and not torch.isfinite(param.grad).all()
    ]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every training step's loss terms and gradients before the optimizer step.

    Args:
        action: 'stop' (raise ``FloatingPointError``) or 'skip' (drop the step, count it).
        check_grads: also check the gradients (one pass over the parameters per step).
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'stop', check_grads: bool = True):
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook(action={action!r}): use one of {ACTIONS}')
        self.action = action
        self.check_grads = check_grads
        self.skipped = 0
        self.skipped_in_epoch = 0
        self._log_vars: dict = {}
        self._files: List[str] = []
        self._runner = None

    # -- wiring ------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        wrapper = runner.optim_wrapper
        if not isinstance(wrapper, OptimWrapper):
            runner.logger.warning(
                'NonFiniteLossHook checks a single OptimWrapper; '
                f'{type(wrapper).__name__} is not checked'
            )
            return
        self._runner, self._model = runner, model
        parse_losses = model.parse_losses

        def parse_and_keep(losses):
            loss, log_vars = parse_losses(losses)
            self._log_vars = log_vars
            return loss, log_vars

        model.parse_losses = parse_and_keep
        wrapper.update_params = self._checked_update(wrapper)

    def _checked_update(self, wrapper: OptimWrapper):
        check_grads = self.check_grads and not isinstance(wrapper, AmpOptimWrapper)

        def update_params(
            loss: torch.Tensor,
            step_kwargs: Optional[dict] = None,
            zero_kwargs: Optional[dict] = None,
        ) -> None:
            if not torch.isfinite(loss.detach()).all():
                terms = non_finite_terms(self._log_vars) or [f'loss={float(loss.detach())}']
                self._non_finite(wrapper, f'non-finite loss ({", ".join(terms)})')
                return
            wrapper.backward(wrapper.scale_loss(loss))
            if not wrapper.should_update():
                return
            if check_grads:
                bad = non_finite_grads(self._model)
                if bad:
                    self._non_finite(
                        wrapper,
                        f'non-finite gradients in {len(bad)} parameter(s) '
                        f'(e.g. {", ".join(bad[:3])})',
                    )
                    return
            wrapper.step(**(step_kwargs or {}))
            wrapper.zero_grad(**(zero_kwargs or {}))

        return update_params

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        self._files = [
            sample.metainfo.get('img_path', '?')
            for sample in samples
            if hasattr(sample, 'metainfo')
        ]

    # -- what happens on a bad step ----------------------------------------------------------
    def _non_finite(self, wrapper: OptimWrapper, what: str) -> None:
        wrapper.zero_grad()
        runner = self._runner
        where = (
            f'at iteration {runner.iter + 1} (epoch {runner.epoch + 1}); images of the '
            f'batch: {", ".join(self._files) or "unknown"}'
        )
        if self.action == 'skip':
            self.skipped += 1
            self.skipped_in_epoch += 1
            runner.message_hub.update_scalar('train/skipped_steps', self.skipped)
            runner.logger.warning(f'{what} {where}: step skipped ({self.skipped} so far)')
            return
        last = runner.message_hub.get_info('last_ckpt')
        raise FloatingPointError(
            f'{what} {where}. Training stopped before the optimizer step, so the weights are not '
            'corrupted, and nothing more is saved; the last checkpoint is '
            f'{last or "none yet"}. Resume from it with a lower learning rate, check these '
            'images, or set NonFiniteLossHook(action="skip") to drop such steps.'
        )

    def after_train_epoch(self, runner) -> None:
        if self.skipped_in_epoch:
            runner.logger.warning(
                f'epoch {runner.epoch + 1}: {self.skipped_in_epoch} step(s) with a '
                f'non-finite loss or gradient skipped ({self.skipped} in all)'
            )
        self.skipped_in_epoch = 0
