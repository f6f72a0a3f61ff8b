"""The test suite's one conftest: markers, the shared fixtures and the order of the long files.

Markers (``setup.cfg`` registers them):
- ``slow``: long checks, left out of ``make test``; ``make test-slow`` runs them;
- ``deploy``: needs the deploy extra (``mmdeploy``, ``onnxruntime``); every test under
  ``tests/deploy`` has it, and the folder is skipped, with the missing package named, without it;
- ``openvino``: needs ``openvino``; ``int8``: needs ``onnxruntime.quantization`` (and the deploy
  extra);
- ``oracle``: compares with a reference implementation outside our stack (mmrotate 1.x's source,
  mmpretrain); such tests skip with the reason when their oracle cannot be loaded.

Fixtures: ``shapes_dataset`` (a small generated COCO dataset) and ``dataset_copy`` (a copy to
damage), ``shared_data`` (the real samples
in ``../shared/data``, or a skip), ``export_toy_model`` (one export per model, deploy config and
size in a run, shared by all files and workers), ``one_thread``, ``rtmdet_plus_scope``,
``restore_default_scope`` and ``report_figure``.
"""

import copy
import fcntl
import importlib.util
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope

from rtmdet_plus.datasets.shapes import generate_shapes_dataset
from tests import REPO
from tests.helpers import SHARED_DATA, SMALL_SHAPES

# marker -> the optional packages its tests need
REQUIREMENTS = {
    'deploy': ('mmdeploy', 'onnx', 'onnxruntime'),
    'openvino': ('openvino',),
    'int8': ('mmdeploy', 'onnxruntime.quantization'),
}
# folder under tests/ -> the marker every test in it gets
FOLDER_MARKERS = {'deploy': 'deploy'}
# The trainings (minutes each, on one thread) run first, so that pytest-xdist's file-by-file
# scheduler starts them on different workers and the short files fill in around them.
LONG_FILES = (
    'test_learning.py',
    'test_learning_ins.py',
    'test_rotated_learning.py',
    'test_teacher_forced.py',
)


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a dotted name whose parent is missing
        return False


def missing_packages(marker: str) -> list:
    return [name for name in REQUIREMENTS.get(marker, ()) if not installed(name)]


def folder_marker(path: Path):
    relative = Path(path).resolve().relative_to(REPO / 'tests')
    return FOLDER_MARKERS.get(relative.parts[0]) if len(relative.parts) > 1 else None


def pytest_ignore_collect(collection_path, config):
    """A folder whose marker's packages are missing is not even imported (its modules import
    them at the top); ``pytest_report_header`` says so."""
    marker = (
        folder_marker(collection_path) if collection_path.is_relative_to(REPO / 'tests') else None
    )
    return bool(marker and missing_packages(marker)) or None


def pytest_report_header(config):
    lines = []
    for marker in REQUIREMENTS:
        missing = missing_packages(marker)
        if missing:
            lines.append(
                f'tests marked {marker!r} are skipped: {", ".join(missing)} not installed '
                f"(pip install 'rtmdet_plus[{marker}]')"
            )
    return lines


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = folder_marker(item.path) if item.path.is_relative_to(REPO / 'tests') else None
        if marker:
            item.add_marker(marker)
        for mark in item.iter_markers():
            missing = missing_packages(mark.name)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f'needs {", ".join(missing)}'))
    rank = {name: index for index, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))  # stable


@pytest.fixture(scope='session')
def shapes_dataset(tmp_path_factory) -> Path:
    """Root of a generated dataset: annotations/instances_{train,val}.json, train/, val/.

    Made with ``tests.helpers.SMALL_SHAPES``; read-only for tests (copy it to change files).
    """
    root = tmp_path_factory.mktemp('shapes')
    generate_shapes_dataset(str(root), SMALL_SHAPES)
    return root


@pytest.fixture
def dataset_copy(shapes_dataset, tmp_path) -> Path:
    """A private copy of ``shapes_dataset``, free to damage."""
    return Path(shutil.copytree(shapes_dataset, tmp_path / 'shapes'))


@pytest.fixture(scope='session')
def shared_data():
    """``shared_data('coco_sample/det.jpg')``: the path of a real sample in ``../shared/data``;
    skips the test, naming the path, where it is absent (a clone without ``../shared``)."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f'real sample not found at {path} (../shared absent)')
        return path

    return find


def run_root(tmp_path_factory) -> Path:
    """A folder shared by all pytest-xdist workers of this run (each worker's base temp sits in
    one run folder)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


@pytest.fixture(scope='session')
def export_toy_model(tmp_path_factory):
    """``export_toy_model(model_cfg, deploy_cfg, size=320, keep_ratio=False, **test_cfg)``: a toy
    model of ``model_cfg`` at ``size`` (``toy_models.toy_model_files``) exported with
    ``deploy_cfg`` (``dump_info``: the SDK files too) beside a generated image. Each distinct call
    exports once per run, under a lock shared by the workers; the folder is read-only for tests.

    Returns a dict: work_dir, model_cfg, checkpoint, files (backend files), image, deploy_cfg.
    """
    from rtmdet_plus.deploy import export_model
    from tools.analysis_tools.toy_models import toy_model_files, write_test_image

    cache = run_root(tmp_path_factory) / 'exports'
    cache.mkdir(exist_ok=True)

    def export(
        model_cfg, deploy_cfg, size: int = 320, keep_ratio: bool = False, **test_cfg
    ) -> dict:
        options = ''.join(f'-{key}{value}' for key, value in sorted(test_cfg.items()))
        model_name = '_'.join(Path(model_cfg).resolve().relative_to(REPO).with_suffix('').parts)
        name = f'{model_name}-{Path(deploy_cfg).stem}-{size}-{int(keep_ratio)}{options}'
        folder = cache / name
        with open(cache / f'{name}.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            record = folder / 'exported.json'
            if not record.is_file():
                folder.mkdir(exist_ok=True)
                model, checkpoint = toy_model_files(
                    str(model_cfg), str(folder), size=size, keep_ratio=keep_ratio, **test_cfg
                )
                image = write_test_image(str(folder / 'generated.png'))
                files = export_model(
                    str(deploy_cfg), model, checkpoint, image, str(folder), dump_info=True
                )
                record.write_text(
                    json.dumps(
                        dict(
                            work_dir=str(folder),
                            model_cfg=model,
                            checkpoint=checkpoint,
                            files=list(files),
                            image=image,
                            deploy_cfg=str(deploy_cfg),
                        )
                    )
                )
        return json.loads(record.read_text())

    return export


@pytest.fixture
def one_thread():
    """One torch thread for the test: a run then repeats exactly on one machine, and on a
    2-core machine shared with other jobs one thread is faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def rtmdet_plus_scope():
    """Unprefixed type names resolve in rtmdet_plus's scope, as in configs with default_scope,
    whatever scope an earlier test left current."""
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        yield


@pytest.fixture
def restore_default_scope():
    """The Runner sets a process-wide default scope; put the previous one back afterwards."""
    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved


class MeasuredFigure(UserWarning):
    """A figure a test measured (a learning test's mAP and minutes), for the warnings summary:
    ``make test`` runs pytest-xdist workers, whose printed output pytest does not show, but whose
    warnings it collects."""


@pytest.fixture
def report_figure(capsys):
    """``report_figure(line)``: print ``line`` (a serial run) and warn it as a
    :class:`MeasuredFigure` (every run's warnings summary)."""

    def report(line: str) -> None:
        with capsys.disabled():
            print(f'\n{line}')
        warnings.warn(MeasuredFigure(line))

    return report
