"""Multi-process training and testing on the CPU (gloo) with mmengine's Runner.

mmengine 0.10.7 cannot start a distributed run on a CPU-only torch: its ``init_dist`` calls
``torch.cuda.set_device``, and the ``DistributedDataParallel`` wrapper it builds gets a CUDA
``device_ids`` and refuses SyncBatchNorm layers, which run on GPUs only (mmdet's ``RTMDet``
turns every BN into SyncBN itself when the world size is above 1). :func:`prepare_cpu_distributed`
does the CPU equivalent before the Runner is built: it joins the gloo process group (the
Runner then skips its own initialisation) and selects :class:`CPUDistributedDataParallel`.
"""

import os
import subprocess
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import Registry

from rtmdet_plus.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for a model on the CPU.

    SyncBatchNorm layers become BatchNorm (each process normalises with its own batch
    statistics) and no ``device_ids`` are passed to DDP.
    """

    def __init__(self, module: nn.Module, detect_anomalous_params: bool = False, **kwargs):
        kwargs.pop('device_ids', None)  # the Runner adds [LOCAL_RANK], meant for GPUs
        kwargs.pop('output_device', None)
        has_sync_bn = any(isinstance(layer, nn.SyncBatchNorm) for layer in module.modules())
        if has_sync_bn:
            module = revert_sync_batchnorm(module)
            print_log(
                'CPU distributed run: SyncBatchNorm layers reverted to BatchNorm; each '
                'process normalises with its own batch statistics.',
                logger='current',
            )
        super().__init__(module=module, detect_anomalous_params=detect_anomalous_params, **kwargs)


def _scoped_type_name(registry: Registry, name: str) -> str:
    """``name`` prefixed with the scopes from the root registry down to ``registry``.

    The Runner looks the wrapper type up with ``Registry.get`` on mmengine's root registry,
    which ignores the default scope and only sees its direct children ('mmdet'), so our
    grandchild's type is reached as ``'mmdet.rtmdet_plus.<name>'``.
    """
    scopes = []
    while registry.parent is not None:
        scopes.append(registry.scope)
        registry = registry.parent
    return '.'.join(list(reversed(scopes)) + [name])


def _set_env_from_slurm() -> None:
    """RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from SLURM's variables."""
    missing = [name for name in ('SLURM_PROCID', 'SLURM_NTASKS') if name not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher slurm needs {missing} in the environment: start the '
            'job with srun (see tools/slurm_train.sh).'
        )
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1'
        )


def init_cpu_process_group(launcher: str, dist_cfg: dict) -> None:
    """Join the gloo process group for ``launcher`` ('pytorch' or 'slurm').

    ``dist_cfg`` is the config's ``env_cfg.dist_cfg``: a GPU-only backend (nccl) is replaced
    by gloo, and ``timeout`` (seconds) is kept.
    """
    if dist.is_initialized():
        return
    if launcher == 'slurm':
        _set_env_from_slurm()
    elif launcher != 'pytorch':
        raise ValueError(
            f'CPU distributed runs support --launcher pytorch or slurm, not {launcher!r}.'
        )
    missing = [
        name
        for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if name not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} needs {missing} in the environment: start '
            'the processes with torchrun (see tools/dist_train.sh).'
        )
    backend = dist_cfg.get('backend', 'gloo')
    if backend != 'gloo':
        print_log(
            f'No GPU: using the gloo backend instead of {backend!r} '
            "(set env_cfg.dist_cfg.backend='gloo' to silence this).",
            logger='current',
        )
    kwargs = {}
    if dist_cfg.get('timeout') is not None:
        kwargs['timeout'] = timedelta(seconds=dist_cfg['timeout'])
    dist.init_process_group(
        backend='gloo',
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **kwargs,
    )


def prepare_cpu_distributed(cfg: Config) -> bool:
    """Make a distributed ``cfg`` runnable without a GPU; a no-op with CUDA or ``launcher='none'``.

    Joins the process group and sets ``model_wrapper_cfg`` to :class:`CPUDistributedDataParallel`
    (keeping the options of a ``MMDistributedDataParallel`` one). Returns whether it acted.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.get('env_cfg') or {}
    init_cpu_process_group(launcher, dict(env_cfg.get('dist_cfg') or {}))
    wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(
        broadcast_buffers=False, find_unused_parameters=cfg.get('find_unused_parameters', False)
    )
    if wrapper_cfg.get('type', 'MMDistributedDataParallel').split('.')[-1] not in (
        'MMDistributedDataParallel',
        'CPUDistributedDataParallel',
    ):
        raise ValueError(
            f"model_wrapper_cfg.type={wrapper_cfg['type']!r} cannot run on the CPU "
            'here: remove model_wrapper_cfg or use CPUDistributedDataParallel.'
        )
    wrapper_cfg['type'] = _scoped_type_name(MODEL_WRAPPERS, 'CPUDistributedDataParallel')
    cfg.model_wrapper_cfg = wrapper_cfg
    return True
