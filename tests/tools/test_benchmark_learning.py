"""The learning-curve benchmark (tools/analysis_tools/benchmark_learning.py): its statistics, and a
short end-to-end run in which both sides learn (slow)."""

import json
import math
import os
import subprocess
import sys

import pytest

from tests import REPO
from tools.analysis_tools.benchmark_learning import summary


def test_summary_gives_means_deviations_and_the_difference_with_its_standard_error():
    row = summary([0.40, 0.50, 0.60], [0.45, 0.55, 0.65])
    assert row['mean_mmdet'] == pytest.approx(0.5) and row['mean_ours'] == pytest.approx(0.55)
    assert row['sd_mmdet'] == pytest.approx(0.1) and row['sd_ours'] == pytest.approx(0.1)
    assert row['difference'] == pytest.approx(0.05)
    assert row['standard_error'] == pytest.approx(math.sqrt(0.01 / 3 + 0.01 / 3))
    assert row['within_two_se']
    apart = summary([0.40, 0.41, 0.42], [0.50, 0.51, 0.52])
    assert apart['difference'] == pytest.approx(0.1) and apart['within_two_se'] is False
    assert summary([0.4], [0.5])['within_two_se'] is None  # one seed: no standard error


@pytest.mark.slow
def test_benchmark_learning_runs_both_sides_and_both_learn(tmp_path):
    """One seed per side, 200 iterations at 128 pixels: both reach bbox mAP 0.05 and the table
    has a row per evaluation."""
    out = tmp_path / 'curves.json'
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, 'tools/analysis_tools/benchmark_learning.py'),
            '--seeds',
            '1',
            '--iters',
            '200',
            '--val-interval',
            '100',
            '--size',
            '128',
            '--num-train',
            '100',
            '--json',
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [
        line
        for line in result.stdout.splitlines()
        if line.startswith('| 100 |') or line.startswith('| 200 |')
    ]
    assert len(rows) == 2, result.stdout
    data = json.loads(out.read_text())
    for side in ('mmdet', 'ours'):
        (curve,) = data['runs'][side]
        assert sorted(curve) == ['100', '200']
        assert curve['200'] >= 0.05, (side, curve)
