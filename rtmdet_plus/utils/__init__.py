"""Utilities for the tools: safe checkpoint loading (hooked into mmengine on import), CPU
mixed precision, CPU distributed runs and the tools' shared config handling."""

from .amp import CPUAmpOptimWrapper, enable_amp
from .checkpoint import (
    CheckpointDownloadError,
    UnsafeCheckpointError,
    checkpoint_cache_path,
    checkpoint_safe_globals,
    load_checkpoint_file,
    register_safe_checkpoint_loaders,
)
from .dist import CPUDistributedDataParallel, init_cpu_process_group, prepare_cpu_distributed
from .tool_config import load_tool_config

register_safe_checkpoint_loaders()

__all__ = [
    'CPUAmpOptimWrapper',
    'enable_amp',
    'CheckpointDownloadError',
    'UnsafeCheckpointError',
    'checkpoint_cache_path',
    'checkpoint_safe_globals',
    'load_checkpoint_file',
    'register_safe_checkpoint_loaders',
    'CPUDistributedDataParallel',
    'init_cpu_process_group',
    'prepare_cpu_distributed',
    'load_tool_config',
]
