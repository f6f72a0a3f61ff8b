"""Every config file merges to what it merged to before: ``data/merged_configs.json``.

The snapshot was written by ``snapshot_configs.py --write`` before the configs were refactored
(shared ``_base_`` files instead of copies); each file under ``configs/`` and
``projects/*/configs/`` is loaded again with ``mmengine.Config.fromfile`` and compared key by key,
types included. A config file without an entry fails too: add one with
``python tests/configs/snapshot_configs.py --add`` (existing entries are kept as they are).
"""

import pytest

from tests.configs.snapshot_configs import (
    SNAPSHOT,
    config_files,
    first_difference,
    load_snapshot,
    merged_config,
)

CONFIG_FILES = config_files()


@pytest.fixture(scope='module')
def snapshot():
    if not SNAPSHOT.exists():
        pytest.fail(
            f'{SNAPSHOT} is missing (the repository .gitignore has `data/`: it needs `git add -f`)'
        )
    return load_snapshot()


def test_configs_found():
    assert any(path.startswith('configs/rtmdet/') for path in CONFIG_FILES)
    assert any(path.startswith('projects/') for path in CONFIG_FILES)


@pytest.mark.parametrize('rel_path', CONFIG_FILES)
def test_merged_config_unchanged(snapshot, rel_path):
    assert rel_path in snapshot, (
        f'{rel_path} has no entry in {SNAPSHOT.name}: '
        'python tests/configs/snapshot_configs.py --add'
    )
    found = first_difference(snapshot[rel_path], merged_config(rel_path))
    assert found is None, f'{rel_path}: first difference at {found}'


def test_no_stale_entries(snapshot):
    """A config file that was removed or renamed leaves its entry behind: say so."""
    gone = sorted(set(snapshot) - set(CONFIG_FILES))
    assert not gone, f'snapshot entries without a config file: {gone}'


def test_first_difference_reports_the_path():
    old = {'model': {'backbone': {'depths': [2, 2, 18]}, 'type': 'RTMDet'}, 'max_epochs': 300}
    assert first_difference(old, old) is None
    new = {'model': {'backbone': {'depths': [2, 2, 6]}, 'type': 'RTMDet'}, 'max_epochs': 300}
    assert first_difference(old, new).startswith('model.backbone.depths[2]: 6')
    assert first_difference(old, {**old, 'max_epochs': 300.0}).startswith('max_epochs: 300.0')
    assert first_difference(old, {'model': old['model']}).startswith('max_epochs: missing')
    assert first_difference(old, {**old, 'base_lr': 0.004}).startswith('base_lr: not in')
