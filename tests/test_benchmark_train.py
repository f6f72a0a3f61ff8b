"""The training benchmark runs end to end and prints one comparison row per setting."""
import os
import subprocess
import sys

from rtmdet_plus.testing import REPO


def test_benchmark_train_prints_ratios(tmp_path):
    out_json = tmp_path / 'rows.json'
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools/analysis_tools/benchmark_train.py'),
         '--sizes', 'tiny', '--batch', '2', '--input', '128', '--objects', '5', '--steps', '1',
         '--json', str(out_json)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith('| tiny |')]
    assert len(rows) == 1 and rows[0].count('x |') == 3
    import json
    row = json.loads(out_json.read_text())[0]
    for side in ('mmdet', 'ours'):
        assert row[side]['step'] > 0 and row[side]['assign'] > 0


def test_benchmark_train_knobs_prints_amp_and_channels_last_ratios():
    """`--knobs` times ours plain, with bfloat16 autocast and with channels-last (one row)."""
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools/analysis_tools/benchmark_train.py'), '--knobs',
         '--sizes', 'tiny', '--batch', '2', '--input', '128', '--objects', '5', '--steps', '1'],
        capture_output=True, text=True, cwd=REPO, timeout=600)
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
