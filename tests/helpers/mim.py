"""openmim tests' helpers: where the installed ``rtmdet_plus`` is, and ``mim``'s environment."""

import importlib.metadata
import os
from pathlib import Path

import pytest


def installed_location() -> Path:
    """Where the installed ``rtmdet_plus`` distribution points (skips if not installed)."""
    try:
        distribution = importlib.metadata.distribution('rtmdet_plus')
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            'rtmdet_plus is not installed: run `make env` (pip install -e . in develop mode) first'
        )
    return Path(distribution.locate_file(''))


def mim_env(pythonpath: str = '') -> dict:
    """The environment for ``mim``: only the installed package (and ``pythonpath``)."""
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    if pythonpath:
        env['PYTHONPATH'] = pythonpath
    env.setdefault('OMP_NUM_THREADS', '1')
    return env
