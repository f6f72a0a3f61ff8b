"""tools/analysis_tools/compare_with_mmdet.py --task ins prints, for RTMDet-Ins tiny, one table row
whose differences from mmdet 3.3.0 (raw outputs, predictions, masks, losses) are all below 1e-4."""

import os
import subprocess
import sys

from tests import REPO

SCRIPT = os.path.join(REPO, 'tools/analysis_tools/compare_with_mmdet.py')


def run_tool(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )


def test_ins_tiny_row_is_within_tolerance():
    result = run_tool('--task', 'ins', '--sizes', 'tiny', '--input', '128')
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith('|')]
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    rows = [line for line in lines if line.startswith('| tiny |')]
    assert len(rows) == 1, result.stdout
    cells = dict(zip(header, (cell.strip() for cell in rows[0].strip('|').split('|'))))
    diffs = (
        'cls',
        'reg',
        'kernels',
        'mask feats',
        'boxes',
        'scores',
        'mask pixels differing',
        'loss_cls',
        'loss_bbox',
        'loss_mask',
    )
    assert set(diffs) < set(cells), header
    for name in diffs:
        assert 0 <= float(cells[name]) < 1e-4, (name, cells[name])
    assert int(cells['detections compared']) > 0  # predictions (and their masks) were compared


def test_size_not_of_the_task_is_refused():
    result = run_tool('--task', 'ins', '--sizes', 'x_p6')
    assert result.returncode != 0
    assert '--sizes x_p6' in result.stderr and "'tiny'" in result.stderr
