"""Checkpoints that survive a kill.

- :class:`AtomicLocalBackend` (mmengine file backend ``'atomic_local'``): every file is written
  to a temporary name beside it, flushed to disk, then renamed over the final name, so a kill
  in the middle of a save leaves the previous files whole. Our configs give it to the
  ``CheckpointHook`` (``backend_args=dict(backend='atomic_local')``), which then also writes
  ``last_checkpoint`` through it, after the checkpoint.
- :class:`ResumeFallbackHook`: with ``--resume`` (no file named), when the checkpoint
  ``last_checkpoint`` points to cannot be read (truncated or corrupt, e.g. written by a
  non-atomic saver), resume from the newest readable ``epoch_*.pth`` / ``iter_*.pth`` instead,
  with a warning naming both. Checkpoints are still read by the safe, weights-only loader.
"""

import os
import os.path as osp
import re
import zipfile
from typing import List, Optional

from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import find_latest_checkpoint

from rtmdet_plus.registry import HOOKS

TMP_MARK = '.tmp-'


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic writes (temporary file, fsync, rename)."""

    def _write_atomic(self, data: bytes, filepath) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        tmp = osp.join(folder, f'.{osp.basename(filepath)}{TMP_MARK}{os.getpid()}')
        try:
            with open(tmp, 'wb') as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, filepath)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
        try:  # the rename itself reaches the disk
            descriptor = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        except OSError:
            pass
        finally:
            os.close(descriptor)

    def put(self, obj: bytes, filepath) -> None:
        self._write_atomic(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self._write_atomic(obj.encode(encoding), filepath)


register_backend('atomic_local', AtomicLocalBackend, force=True)


def checkpoint_is_readable(path: str) -> bool:
    """Whether ``path`` is a whole checkpoint: a zip archive (torch.save's format) whose every
    member passes its CRC check, or an older-format file the safe loader reads."""
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.testzip() is None
        except (zipfile.BadZipFile, OSError, EOFError):
            return False
    try:
        from mmengine.runner.checkpoint import _load_checkpoint

        _load_checkpoint(path, map_location='cpu')
        return True
    except Exception:  # noqa: B902  (any failure to read: not usable)
        return False


def _step(path: str) -> int:
    match = re.search(r'(?:epoch|iter)_(\d+)\.pth$', path)
    return int(match.group(1)) if match else -1


def newest_readable_checkpoint(work_dir: str, exclude: Optional[str] = None) -> Optional[str]:
    """The ``epoch_N.pth`` / ``iter_N.pth`` in ``work_dir`` with the largest N (then the
    newest) that :func:`checkpoint_is_readable`, other than ``exclude``."""
    candidates: List[str] = [
        osp.join(work_dir, name)
        for name in os.listdir(work_dir)
        if name.endswith('.pth') and TMP_MARK not in name
    ]
    candidates.sort(key=lambda p: (_step(p), osp.getmtime(p)), reverse=True)
    for path in candidates:
        if exclude is not None and osp.abspath(path) == osp.abspath(exclude):
            continue
        if checkpoint_is_readable(path):
            return path
    return None


@HOOKS.register_module()
class ResumeFallbackHook(Hook):
    """On ``resume=True`` without a file: resume from the newest readable checkpoint when the
    latest one cannot be read; also removes temporary files a killed save left behind."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        work_dir = runner.work_dir
        if osp.isdir(work_dir):
            for name in os.listdir(work_dir):
                if TMP_MARK in name:
                    os.remove(osp.join(work_dir, name))
                    runner.logger.warning(
                        f'removed {name}, left in {work_dir} by a save that did not finish'
                    )
        if not runner._resume or runner._load_from is not None:
            return
        latest = find_latest_checkpoint(work_dir)
        if latest is None or checkpoint_is_readable(latest):
            return
        fallback = newest_readable_checkpoint(work_dir, exclude=latest)
        if fallback is None:
            raise RuntimeError(
                f'cannot resume: the latest checkpoint {latest} is truncated or '
                f'corrupt and {work_dir} holds no readable epoch_*.pth / '
                'iter_*.pth; start again without --resume'
            )
        runner.logger.warning(
            f'the latest checkpoint {latest} is truncated or corrupt: '
            f'resuming from {fallback}, the newest readable one, instead'
        )
        runner._load_from = fallback
