"""The RTMDet-Ins benchmark runs end to end: one row of inference and training-step ratios."""

import json
import os
import subprocess
import sys

from tests import REPO


def test_benchmark_ins_prints_inference_and_training_ratios(tmp_path):
    out_json = tmp_path / 'rows.json'
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, 'tools/analysis_tools/benchmark_ins.py'),
            '--sizes',
            'tiny',
            '--batch',
            '2',
            '--input',
            '128',
            '--objects',
            '4',
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
    rows = [
        line for line in result.stdout.splitlines() if line.startswith('| tiny | 2 | 128 | 4 |')
    ]
    assert len(rows) == 1 and rows[0].count('x |') == 4, result.stdout
    row = json.loads(out_json.read_text())[0]
    cells = [cell.strip() for cell in rows[0].strip('|').split('|')]
    for first, mode in ((4, 'infer'), (10, 'train')):
        ref, ours = row[mode]['mmdet'], row[mode]['ours']
        for result in (ref, ours):
            assert result['seconds'] > 0 and result['memory'] > 0
        # the printed ratios are those of the measured medians (mmdet / ours)
        assert cells[first : first + 2] == [f"{ref['seconds']:.3f}", f"{ours['seconds']:.3f}"]
        assert cells[first + 2] == f"{ref['seconds'] / ours['seconds']:.2f}x"
        assert cells[first + 5] == f"{ref['memory'] / max(ours['memory'], 1.0):.2f}x"
    for side in ('mmdet', 'ours'):
        # a training step's heap peak holds at least the gradients: the parameters' bytes
        train = row['train'][side]
        assert train['memory'] > train['param_mib'] > 1, train
    # Inference went through the mask branch: both models kept detections (with masks).
    assert row['infer']['mmdet']['instances'] > 0 and row['infer']['ours']['instances'] > 0
