"""The rotated training-step benchmark runs end to end: one table row and one JSON record per
input size, with positive step and assignment times and a memory peak above the gradients'
bytes."""

import json
import os
import subprocess
import sys

from tests import REPO


def test_benchmark_rotated_train_prints_one_row_per_input(tmp_path):
    out_json = tmp_path / 'rows.json'
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, 'tools/analysis_tools/benchmark_rotated_train.py'),
            '--input',
            '96',
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
    rows = [line for line in result.stdout.splitlines() if line.startswith('| tiny | 2 |')]
    assert [row.split('|')[3].strip() for row in rows] == ['96', '128']
    records = json.loads(out_json.read_text())
    assert [record['input'] for record in records] == [96, 128]
    for record, row in zip(records, rows):
        assert record['step'] > record['assign'] > 0
        # a training step's heap peak holds at least the gradients: the parameters' bytes
        assert record['memory'] > record['param_mib'] > 1, record
        assert row.split('|')[4].strip() == '5' == str(record['objects'])
        assert row.split('|')[5].strip() == f"{record['step']:.3f}"  # the table prints the record
