"""tools/analysis_tools/benchmark_inference.py runs every row side by side and prints the table
(latencies, ratios against MMDeploy's export of mmdet's model, post-processing share)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('mmdeploy')

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_inference_table(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'analysis_tools' / 'benchmark_inference.py'),
         '--input', '256', '--repeat', '1', '--work-dir', str(tmp_path)],
        capture_output=True, text=True, timeout=900, cwd=str(REPO))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {}
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        if len(cells) == 6 and cells[0] in ('pytorch', 'ours-ort', 'sdk', 'mmdet-ort'):
            rows[cells[0]] = cells
    assert set(rows) == {'pytorch', 'ours-ort', 'sdk', 'mmdet-ort'}, result.stdout
    for name, (_, latency, ratio, graph, network, share) in rows.items():
        assert float(latency) > 0 and float(ratio) > 0
        if name.endswith('-ort'):
            assert float(graph) > 0 and float(network) > 0
            assert re.fullmatch(r'-?\d+(\.\d+)?%', share)
    # ratios are latencies over mmdet-ort's (printed to 0.1 ms: the ratio lies within that)
    base = float(rows['mmdet-ort'][1])
    for name, cells in rows.items():
        latency, ratio = float(cells[1]), float(cells[2])
        low, high = (latency - 0.05) / (base + 0.05), (latency + 0.05) / (base - 0.05)
        assert low - 0.005 <= ratio <= high + 0.005, (name, cells, base)
    assert (tmp_path / 'ours' / 'end2end.onnx').is_file()
    assert (tmp_path / 'mmdet' / 'end2end.onnx').is_file()
