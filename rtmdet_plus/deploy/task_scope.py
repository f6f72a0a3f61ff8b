"""MMDeploy's task processors build models and pipelines in the model config's scope.

A task processor (``mmdeploy.codebase.base.BaseTask``) imports its codebase, which for mmdet
calls ``register_all_modules(True)`` and so makes a fresh ``mmdet`` default scope current; the
processor then reuses its own scope instance without making it current again. The first
processor of a process still builds in ``rtmdet_plus`` (its scope instance is created last);
every later one would build mmdet's classes of the same names (``RTMDetInsSepBNHead``, ...)
from our configs. :func:`scoped_task_init` (installed by :mod:`rtmdet_plus.deploy.patches`)
makes each new processor put a scope instance named after the model config's ``default_scope``
on top.
"""

import functools
import itertools
from typing import Callable

from mmengine.registry import DefaultScope

_counter = itertools.count()


def scoped_task_init(original: Callable) -> Callable:
    """``BaseTask.__init__`` (``original``) after which the model config's ``default_scope`` is
    the current scope."""

    @functools.wraps(original)
    def __init__(self, model_cfg, deploy_cfg, device, *args, **kwargs):
        original(self, model_cfg, deploy_cfg, device, *args, **kwargs)
        scope = model_cfg.get('default_scope')
        current = DefaultScope.get_current_instance()
        if scope and (current is None or current.scope_name != scope):
            self.scope = DefaultScope.get_instance(
                f'{scope}-deploy-{next(_counter)}', scope_name=scope
            )

    return __init__
