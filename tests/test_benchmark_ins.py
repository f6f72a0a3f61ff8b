"""The RTMDet-Ins benchmark runs end to end: one row of inference and training-step ratios."""
import json
import os
import subprocess
import sys

from rtmdet_plus.testing import REPO


def test_benchmark_ins_prints_inference_and_training_ratios(tmp_path):
    out_json = tmp_path / 'rows.json'
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools/analysis_tools/benchmark_ins.py'),
         '--sizes', 'tiny', '--batch', '2', '--input', '128', '--objects', '4', '--steps', '1',
         '--json', str(out_json)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith('| tiny | 2 | 128 | 4 |')]
    assert len(rows) == 1 and rows[0].count('x |') == 4, result.stdout
    row = json.loads(out_json.read_text())[0]
    for mode in ('infer', 'train'):
        for side in ('mmdet', 'ours'):
            result = row[mode][side]
            # On the CPU: the heap peak (always some memory for a forward pass) and the RSS growth.
            assert result['seconds'] > 0 and result['memory'] > 0 and result['rss'] >= 0
    # Inference went through the mask branch: both models kept detections (with masks).
    assert row['infer']['mmdet']['instances'] > 0 and row['infer']['ours']['instances'] > 0
