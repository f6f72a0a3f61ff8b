"""The training benchmark runs end to end and prints one comparison row per setting."""

import os
import subprocess
import sys

from tests import REPO


def test_benchmark_train_prints_ratios(tmp_path):
    out_json = tmp_path / 'rows.json'
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, 'tools/analysis_tools/benchmark_train.py'),
            '--sizes',
            'tiny',
            '--batch',
            '2',
            '--input',
            '128',
            '--objects',
            '5',
            '--steps',
            '1',
            '--json',
            str(out_json),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith('| tiny |')]
    assert len(rows) == 1 and rows[0].count('x |') == 3
    import json

    row = json.loads(out_json.read_text())[0]
    ref, ours = row['mmdet'], row['ours']
    for side in (ref, ours):
        assert side['step'] > side['assign'] > 0
        # a training step's heap peak holds at least the gradients: the parameters' bytes
        assert side['memory'] > side['param_mib'] > 1, side
    cells = [cell.strip() for cell in rows[0].strip('|').split('|')]
    # the printed figures and ratios are those of the measured medians (mmdet / ours)
    assert cells[4:6] == [f"{ref['step']:.3f}", f"{ours['step']:.3f}"]
    assert cells[6] == f"{ref['step'] / ours['step']:.2f}x"
    assert cells[9] == f"{ref['assign'] / max(ours['assign'], 1e-9):.1f}x"
    assert cells[12] == f"{ref['memory'] / max(ours['memory'], 1.0):.2f}x"


def test_benchmark_train_knobs_prints_amp_and_channels_last_ratios():
    """`--knobs` times ours plain, with bfloat16 autocast and with channels-last (one row)."""
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, 'tools/analysis_tools/benchmark_train.py'),
            '--knobs',
            '--sizes',
            'tiny',
            '--batch',
            '2',
            '--input',
            '128',
            '--objects',
            '5',
            '--steps',
            '1',
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith('| tiny |')]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip('|').split('|')]
    plain, amp, channels_last = float(cells[4]), float(cells[5]), float(cells[7])
    assert min(plain, amp, channels_last) > 0
    for printed, faster in ((cells[6], amp), (cells[8], channels_last)):
        # times are printed to 3 decimals, ratios to 2: the ratio lies within their rounding
        low, high = (plain - 5e-4) / (faster + 5e-4) - 5e-3, (plain + 5e-4) / (faster - 5e-4) + 5e-3
        assert printed.endswith('x') and low <= float(printed[:-1]) <= high
