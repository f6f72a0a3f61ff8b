"""Shared fixtures: a small generated shapes dataset (COCO format) for the whole session."""
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
