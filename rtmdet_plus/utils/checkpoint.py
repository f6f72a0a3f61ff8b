"""Safe checkpoint loading: ``torch.load(weights_only=True)`` with an explicit allow-list.

Checkpoints written by mmengine's Runner (and the official mmdet / mmpretrain ones) carry
metadata beside the tensors: the message hub's ``HistoryBuffer`` objects, numpy arrays,
scalars and dtypes. torch >= 2.6 refuses them by default and mmengine 0.10.7 has no answer
but full unpickling, which lets a downloaded file run arbitrary code. Here every load goes
through the weights-only unpickler with exactly those metadata types allowed; anything else
is refused with an :class:`UnsafeCheckpointError` naming the file and the offending global.
There is no fallback to full unpickling.

:func:`register_safe_checkpoint_loaders` (run when ``rtmdet_plus.utils`` is imported) makes
mmengine's ``CheckpointLoader`` use these loaders for local paths and http(s) URLs, so
``load_checkpoint``, the Runner's ``load_from`` / ``resume`` and
``init_cfg=dict(type='Pretrained')`` all load safely.
"""

import importlib
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
import torch.distributed as dist
import torch.hub
from mmengine.dist import get_dist_info, get_local_rank
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import checkpoint as mmengine_checkpoint

SafeGlobal = Union[Callable, Tuple[Callable, str]]
MapLocation = Union[None, str, torch.device, Callable, dict]

# The statistics HistoryBuffer pickles as ``getattr(HistoryBuffer, name)`` (see its __getstate__).
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled global outside the allow-list; it was not loaded."""


class CheckpointDownloadError(RuntimeError):
    """A checkpoint URL could not be downloaded and no cached copy exists."""


def _history_buffer_statistic(owner: Any, name: str) -> Callable:
    """``getattr`` restricted to the statistics methods a pickled ``HistoryBuffer`` refers to."""
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if owner is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(
            f'getattr({owner!r}, {name!r}) is not allowed: a checkpoint may only refer to '
            f'the HistoryBuffer statistics {sorted(allowed)}'
        )
    return getattr(HistoryBuffer, name)


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The pickle globals mmengine / mmdet checkpoints carry besides tensors.

    Each item is a class or function, or ``(callable, 'module.name')`` where the name in
    the file differs from the callable's own (numpy 1.x wrote ``numpy.core.multiarray``,
    numpy 2.x writes ``numpy._core.multiarray``).
    """
    # numpy 2's module; numpy 1.26 keeps it as an alias of numpy.core.multiarray
    multiarray = importlib.import_module('numpy._core.multiarray')
    safe: List[SafeGlobal] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (_history_buffer_statistic, 'builtins.getattr'),
    ]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        safe.append((multiarray._reconstruct, f'{module}._reconstruct'))
        safe.append((multiarray.scalar, f'{module}.scalar'))
    # numpy >= 1.25 gives each dtype its own class (numpy.dtypes.Float64DType, ...); unpickling
    # a dtype restores its state on an instance of that class.
    dtype_classes = getattr(np, 'dtypes', None)
    if dtype_classes is not None:
        safe.extend(
            cls
            for cls in vars(dtype_classes).values()
            if isinstance(cls, type) and issubclass(cls, np.dtype)
        )
    return safe


def _unsafe_globals(file: Any, error: Exception) -> List[str]:
    """Names of the globals that made the weights-only load of ``file`` fail."""
    names: List[str] = []
    if isinstance(file, (str, os.PathLike)):
        try:
            with torch.serialization.safe_globals(checkpoint_safe_globals()):
                names = torch.serialization.get_unsafe_globals_in_checkpoint(file)
        except Exception:  # a legacy (non-zip) file: fall back to the error text
            names = []
    if not names:
        names = re.findall(
            r"GLOBAL (\S+)|but got <class '([^']+)'>|unrecognized function (\S+)", str(error)
        )
        names = [next(part for part in match if part) for match in names]
    return names


def load_checkpoint_file(
    file: Any, map_location: MapLocation = None, source: Optional[str] = None
) -> Any:
    """Load a ``torch.save`` file with the weights-only unpickler and our allow-list.

    Args:
        file: a path or a binary file object.
        map_location: as for :func:`torch.load`.
        source: how to name the file in errors (defaults to ``file``).

    Raises:
        UnsafeCheckpointError: the file refers to a global outside the allow-list, or the
            weights-only unpickler cannot read it.
        RuntimeError: the file is a truncated / corrupt zip archive.
    """
    source = source or str(file)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise _refusal(file, source, error) from None
    except RuntimeError as error:
        if 'PytorchStreamReader' not in str(error):
            raise
        raise RuntimeError(
            f'Cannot read the checkpoint {source}, it looks truncated or '
            f'corrupt: delete it and download or copy it again. ({error})'
        ) from None


def _refusal(file: Any, source: str, error: pickle.UnpicklingError) -> UnsafeCheckpointError:
    """The error for a file the weights-only unpickler refused, naming what it refused."""
    # torch's own text, without its advice to retry with weights_only=False
    detail = str(error).split('WeightsUnpickler error:')[-1]
    detail = detail.split('Check the documentation of torch.load')[0]
    for advice in (torch.serialization.UNSAFE_MESSAGE, 'Weights only load failed.'):
        detail = detail.replace(advice, '')
    detail = ' '.join(detail.split())
    offending = _unsafe_globals(file, error)
    if not offending and 'getattr(' not in detail:
        return UnsafeCheckpointError(
            f'Refused to load the checkpoint {source}: the weights-only unpickler cannot read '
            f'it ({detail}). It may be corrupt or not a torch checkpoint at all (e.g. an HTML '
            'error page saved in place of a download): delete it and fetch it again.'
        )
    names = ', '.join(offending) if offending else 'a restricted getattr'
    return UnsafeCheckpointError(
        f'Refused to load the checkpoint {source}: it refers to the pickle global(s) '
        f'{names}, which are not on rtmdet_plus\'s allow-list of checkpoint metadata '
        '(tensors, OrderedDict, numpy arrays/scalars/dtypes, mmengine HistoryBuffer). '
        'Unpickling an unknown global can run arbitrary code, so the file was not loaded. '
        'If you trust the file: load it once in a trusted session and re-save only its '
        "tensors (e.g. torch.save({'state_dict': ckpt['state_dict']}, path)), or, when "
        'the global is a plain data type you know to be harmless, allow it with '
        '`torch.serialization.add_safe_globals([...])` before loading. '
        f'Reason: {detail}'
    )


def load_from_local(filename: str, map_location: MapLocation = None) -> Any:
    """mmengine loader for local paths (scheme ``''``)."""
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Checkpoint {filename} does not exist: check the path given as load_from, '
            '--resume, the test CHECKPOINT argument or init_cfg.checkpoint.'
        )
    return load_checkpoint_file(path, map_location=map_location)


def checkpoint_cache_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where a URL's checkpoint is cached: ``torch.hub.get_dir()/checkpoints/<file name>``."""
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, osp.basename(urlparse(url).path))


def _download(url: str, cached_file: str, progress: bool) -> Optional[Exception]:
    """Download ``url`` to ``cached_file``; the error, if it failed."""
    os.makedirs(osp.dirname(cached_file), exist_ok=True)
    print_log(f'Downloading {url} to {cached_file}', logger='current')
    try:
        torch.hub.download_url_to_file(url, cached_file, progress=progress)
    except Exception as error:  # offline, HTTP error, disk full, ...
        return error
    return None


def load_from_http(
    url: str,
    map_location: MapLocation = None,
    model_dir: Optional[str] = None,
    progress: bool = os.isatty(0),
) -> Any:
    """mmengine loader for ``http://`` and ``https://``: cached download, then a safe load.

    A file already in the cache is used without network access. In distributed runs local
    rank 0 downloads and the other ranks wait for it.

    Raises:
        CheckpointDownloadError: the download failed; the message names the URL and the
            cache path to put the file at by hand.
    """
    cached_file = checkpoint_cache_path(url, model_dir)
    error = None
    _, world_size = get_dist_info()
    if get_local_rank() == 0 and not osp.isfile(cached_file):
        error = _download(url, cached_file, progress)
    if world_size > 1 and dist.is_available() and dist.is_initialized():
        dist.barrier()
    if not osp.isfile(cached_file):
        reason = f' ({type(error).__name__}: {error})' if error is not None else ''
        raise CheckpointDownloadError(
            f'Could not download the checkpoint {url}{reason}. If this machine is offline, '
            f'download that URL elsewhere and put the file at {cached_file} (the torch hub '
            'checkpoint cache, torch.hub.get_dir()/checkpoints; set TORCH_HOME to move it): '
            'it is then used without downloading. Or point the config at a local file.'
        )
    return load_checkpoint_file(
        cached_file, map_location=map_location, source=f'{url} (cached at {cached_file})'
    )


def register_safe_checkpoint_loaders() -> None:
    """Route mmengine's local and http(s) checkpoint loading through the safe loaders.

    Besides the ``CheckpointLoader`` schemes, mmengine's module-level ``load_from_http`` is
    replaced, as its ``open-mmlab://``, ``torchvision://`` and ``mmcls://`` loaders call it
    directly.
    """
    loader = mmengine_checkpoint.CheckpointLoader
    loader.register_scheme(prefixes='', loader=load_from_local, force=True)
    loader.register_scheme(prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    mmengine_checkpoint.load_from_http = load_from_http
