"""Shared fixtures: a small generated shapes dataset (COCO format) for the whole session, and
``report_figure`` for the figures a test measures."""
import warnings
from pathlib import Path

import pytest

from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset

# Small and quick (about a second): 12 train and 6 val images of 128x128.
SMALL_SHAPES = ShapesConfig(img_size=128, num_train=12, num_val=6, seed=7)


@pytest.fixture(scope='session')
def shapes_dataset(tmp_path_factory) -> Path:
    """Root of a generated dataset: annotations/instances_{train,val}.json, train/, val/.

    Made with ``SMALL_SHAPES``; read-only for tests (copy it to change files).
    """
    root = tmp_path_factory.mktemp('shapes')
    generate_shapes_dataset(str(root), SMALL_SHAPES)
    return root


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


# The trainings (minutes each, on one thread) run first, so that pytest-xdist's file-by-file
# scheduler starts them on different workers and the short files fill in around them.
LONG_FILES = ('test_learning.py', 'test_learning_ins.py', 'test_rotated_learning.py',
              'test_teacher_forced.py')


def pytest_collection_modifyitems(config, items):
    rank = {name: index for index, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))  # stable
