"""Snapshot of every config file's merged dict (``tests/configs/data/merged_configs.json``).

Each ``.py`` under ``configs/`` (``_base_`` files and deploy configs included) and under
``projects/*/configs/`` is loaded on its own with ``mmengine.Config.fromfile`` and stored as
``cfg.to_dict()`` in a normalised JSON form (see :func:`normalise`), keyed by its path relative
to the repository root. ``test_merged_configs.py`` loads every file again and compares: a
refactoring of the configs (new ``_base_`` files, inheritance instead of copies) must leave every
merged config as it was.

    python tests/configs/snapshot_configs.py --check   # compare, print the differences
    python tests/configs/snapshot_configs.py --add     # add entries for new files only
    python tests/configs/snapshot_configs.py --write   # (re)write the whole snapshot

``--write`` is for a deliberate change of what a config means (say so in the commit); ``--add``
never touches an existing entry, so a refactoring that adds ``_base_`` files stays checkable.
"""

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).resolve().parent / 'data' / 'merged_configs.json'


def config_files() -> List[str]:
    """Every config file, as a path relative to the repository root (POSIX separators)."""
    files = list((REPO / 'configs').rglob('*.py'))
    files += list(REPO.glob('projects/*/configs/**/*.py'))
    return sorted(
        path.relative_to(REPO).as_posix() for path in files if '__pycache__' not in path.parts
    )


def normalise(value: Any) -> Any:
    """A JSON-ready copy: mappings as dicts with string keys, lists as lists, tuples as
    ``{"__tuple__": [...]}`` (mmcv's transforms tell the two apart), ``None``/bool/int/str and
    finite floats as they are, anything else (a class, a non-finite float) as its repr."""
    if isinstance(value, dict):
        return {str(key): normalise(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return {'__tuple__': [normalise(item) for item in value]}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return repr(value)


def merged_config(rel_path: str) -> Dict[str, Any]:
    """The normalised merged dict of one config file."""
    from mmengine.config import Config

    import rtmdet_plus  # noqa: F401  (registers the package's scope before any config is read)

    return normalise(Config.fromfile(str(REPO / rel_path)).to_dict())


def load_snapshot() -> Dict[str, Any]:
    with open(SNAPSHOT, encoding='utf-8') as f:
        return json.load(f)


def save_snapshot(snapshot: Dict[str, Any]) -> None:
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    with open(SNAPSHOT, 'w', encoding='utf-8') as f:
        json.dump(snapshot, f, indent=1, sort_keys=True, allow_nan=False)
        f.write('\n')


def first_difference(expected: Any, actual: Any, where: str = '') -> Optional[str]:
    """The first place (``a.b[2].c``) where two normalised values differ, with both values, or
    None when they are equal. Types count: 1, 1.0 and True differ."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            here = f'{where}.{key}' if where else key
            if key not in actual:
                return f'{here}: missing (snapshot has {expected[key]!r})'
            if key not in expected:
                return f'{here}: not in the snapshot (now {actual[key]!r})'
            found = first_difference(expected[key], actual[key], here)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (old, new) in enumerate(zip(expected, actual)):
            found = first_difference(old, new, f'{where}[{index}]')
            if found:
                return found
        if len(expected) != len(actual):
            return f'{where}: {len(actual)} items, snapshot has {len(expected)}'
        return None
    if type(expected) is not type(actual) or expected != actual:
        return f'{where or "<root>"}: {actual!r}, snapshot has {expected!r}'
    return None


def iter_differences(snapshot: Dict[str, Any]) -> Iterator[str]:
    files = config_files()
    for rel_path in files:
        if rel_path not in snapshot:
            yield f'{rel_path}: no snapshot entry'
            continue
        found = first_difference(snapshot[rel_path], merged_config(rel_path))
        if found:
            yield f'{rel_path}: {found}'
    for rel_path in sorted(set(snapshot) - set(files)):
        yield f'{rel_path}: in the snapshot, but the file is gone'


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--write', action='store_true', help='write the whole snapshot anew')
    mode.add_argument(
        '--add',
        action='store_true',
        help='add entries for config files the snapshot lacks; keep the others',
    )
    mode.add_argument('--check', action='store_true', help='compare; exit 1 on a difference')
    args = parser.parse_args(argv)
    if args.check:
        differences = list(iter_differences(load_snapshot()))
        print('\n'.join(differences) or f'{len(config_files())} configs as in the snapshot')
        return 1 if differences else 0
    snapshot = load_snapshot() if args.add else {}
    for rel_path in config_files():
        if rel_path not in snapshot:
            snapshot[rel_path] = merged_config(rel_path)
            print('snapshot', rel_path)
    save_snapshot(snapshot)
    print(f'{len(snapshot)} entries in {SNAPSHOT.relative_to(REPO)}')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, str(REPO))
    sys.exit(main())
