"""openmim packaging: ``mim train rtmdet_plus CONFIG`` and the wheel's ``rtmdet_plus/.mim`` folder.

setup.py lays out ``rtmdet_plus/.mim/{configs,tools,model-index.yml}``: symbolic links for a
development install (what the Makefile does), copies for a wheel. mim finds a config by file
name inside that folder and runs ``.mim/tools/train.py``.
"""
import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.test_tools import REPO, write_tiny_coco

CONFIG_NAME = 'rtmdet_tiny_8xb32-300e_coco.py'


def installed_location() -> Path:
    """Where the installed ``rtmdet_plus`` distribution points (skips if not installed)."""
    try:
        distribution = importlib.metadata.distribution('rtmdet_plus')
    except importlib.metadata.PackageNotFoundError:
        pytest.skip('rtmdet_plus is not installed: run `make env` (pip install -e . in develop '
                    'mode) first')
    return Path(distribution.locate_file(''))


def mim_env(pythonpath: str = '') -> dict:
    """The environment for ``mim``: only the installed package (and ``pythonpath``)."""
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    if pythonpath:
        env['PYTHONPATH'] = pythonpath
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def data_options(data_root: Path) -> list:
    """--cfg-options pointing the full RTMDet-tiny recipe at the tiny dataset, one epoch."""
    options = ['model.backbone.init_cfg=None', 'model.bbox_head.num_classes=2',
               'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
               f'val_evaluator.ann_file={data_root}/ann.json']
    for loader in ('train_dataloader', 'val_dataloader'):
        options += [f'{loader}.dataset.data_root={data_root}/',
                    f'{loader}.dataset.ann_file=ann.json',
                    f'{loader}.dataset.data_prefix.img=images/',
                    f'{loader}.dataset.metainfo.classes=(square,bar)',
                    f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return options


def run_mim_train(tmp_path: Path, env: dict) -> tuple:
    data_root = write_tiny_coco(tmp_path / 'data', num_images=4)
    work_dir = tmp_path / 'work'
    proc = subprocess.run(
        [sys.executable, '-m', 'mim', 'train', 'rtmdet_plus', CONFIG_NAME, '--work-dir',
         str(work_dir), '--cfg-options'] + data_options(data_root),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout, work_dir


def test_mim_train_with_develop_install(tmp_path):
    location = installed_location()
    mim_tools = location / 'rtmdet_plus' / '.mim' / 'tools'
    if not (mim_tools / 'train.py').exists():
        pytest.skip(f'{mim_tools} is missing: the package was not installed in develop mode')
    log, work_dir = run_mim_train(tmp_path, mim_env())
    assert f'find the config file in codebase rtmdet_plus' in log
    assert str(mim_tools / 'train.py') in log  # mim ran the packaged training script
    assert 'Training finished successfully' in log
    assert (work_dir / 'epoch_1.pth').is_file()


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the repository (building lays out .mim in the tree)."""
    root = tmp_path_factory.mktemp('wheel')
    source = root / 'src'
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        '.venv', '.git', 'work_dirs', 'data', 'tests', 'build', 'dist', '*.egg-info',
        '__pycache__', '*.pth', '.pytest_cache'))
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', str(source),
         '-w', str(root / 'dist')], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:]
    wheels = list((root / 'dist').glob('rtmdet_plus-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_mim_folder(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f'rtmdet_plus/.mim/configs/rtmdet/{CONFIG_NAME}' in names
    assert 'rtmdet_plus/.mim/tools/train.py' in names
    assert 'rtmdet_plus/.mim/model-index.yml' in names
    # every config (with the _base_ files it inherits) and every top-level tool is shipped
    for path in (REPO / 'configs').rglob('*'):
        if path.suffix in ('.py', '.yml'):
            relative = path.relative_to(REPO).as_posix()
            assert f'rtmdet_plus/.mim/{relative}' in names, f'{relative} missing from the wheel'
    for path in (REPO / 'tools').glob('*'):
        if path.suffix in ('.py', '.sh'):
            assert f'rtmdet_plus/.mim/tools/{path.name}' in names
    assert not any('__pycache__' in name for name in names)


def test_mim_train_with_wheel_install(wheel, tmp_path):
    target = tmp_path / 'site'
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index', '--target',
         str(target), str(wheel)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (target / 'rtmdet_plus' / '.mim' / 'tools' / 'train.py').is_file()
    log, work_dir = run_mim_train(tmp_path, mim_env(pythonpath=str(target)))
    assert str(target / 'rtmdet_plus' / '.mim' / 'tools' / 'train.py') in log
    assert 'Training finished successfully' in log
    assert (work_dir / 'epoch_1.pth').is_file()
