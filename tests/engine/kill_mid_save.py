"""Test helper imported by a training subprocess (custom_imports): the file backend
``kill_mid_save``, which writes half of the checkpoint named by $KILL_SAVING to its temporary
file and then SIGKILLs its own process, as a job killed in the middle of a save."""

import os
import signal

from mmengine.fileio import register_backend

from rtmdet_plus.engine.checkpoints import TMP_MARK, AtomicLocalBackend


class KillMidSaveBackend(AtomicLocalBackend):
    def _write_atomic(self, data: bytes, filepath) -> None:
        filepath = str(filepath)
        if filepath.endswith(os.environ.get('KILL_SAVING', '\0')):
            folder, name = os.path.split(os.path.abspath(filepath))
            with open(os.path.join(folder, f'.{name}{TMP_MARK}{os.getpid()}'), 'wb') as file:
                file.write(data[: len(data) // 2])
                file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        super()._write_atomic(data, filepath)


register_backend('kill_mid_save', KillMidSaveBackend, force=True)
