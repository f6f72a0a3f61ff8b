"""tools/analysis_tools/benchmark_inference.py runs every row side by side and prints the table
(latencies, ratios against MMDeploy's export of mmdet's model, post-processing share)."""

import re
import subprocess
import sys

import pytest

from tests import REPO


def test_benchmark_inference_table(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'analysis_tools' / 'benchmark_inference.py'),
            '--input',
            '256',
            '--repeat',
            '1',
            '--work-dir',
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(REPO),
    )
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


def peer_rows(stdout: str) -> dict:
    """Rows of the --peers table: model -> ((ms, ratio) for ONNX Runtime FP32, OpenVINO FP32,
    ONNX Runtime INT8, OpenVINO INT8)."""
    rows = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
        timed = [re.fullmatch(r'([\d.]+) \(([\d.]+)\)', cell) for cell in cells[2:]]
        if len(cells) == 6 and all(timed):
            rows[cells[0]] = tuple((float(m.group(1)), float(m.group(2))) for m in timed)
    return rows


@pytest.mark.openvino
@pytest.mark.int8
def test_benchmark_peers_table(tmp_path):
    """--peers with a stand-in for YOLO11n (any graph of its input shape: here RTMDet-tiny's
    network): every row timed in both runtimes, FP32 and INT8 (each graph quantized), the
    missing YOLO11s named and skipped, ratios equal to the printed latencies' ratios to the
    stand-in's FP32 ONNX Runtime latency."""
    peers = tmp_path / 'peers'
    peers.mkdir()
    first = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'analysis_tools' / 'benchmark_inference.py'),
            '--peers',
            '--sizes',
            'tiny',
            '--repeat',
            '1',
            '--threads',
            '1',
            '--peers-dir',
            str(tmp_path / 'none'),
            '--work-dir',
            str(tmp_path / 'work'),
            '--no-int8',
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(REPO),
    )
    assert first.returncode == 0, first.stderr[-3000:]
    assert 'skipped yolo11n' in first.stdout and 'no ratios' in first.stdout
    assert 'INT8' not in first.stdout
    (peers / 'yolo11n.onnx').write_bytes(
        (tmp_path / 'work' / 'rtmdet_tiny' / 'network.onnx').read_bytes()
    )
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'analysis_tools' / 'benchmark_inference.py'),
            '--peers',
            '--sizes',
            'tiny',
            '--repeat',
            '1',
            '--threads',
            '1',
            '--peers-dir',
            str(peers),
            '--work-dir',
            str(tmp_path / 'work2'),
            '--calib-images',
            '2',
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(REPO),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'skipped yolo11s' in result.stdout
    assert (
        '| ONNX Runtime FP32 (ms) | OpenVINO FP32 (ms) | ONNX Runtime INT8 (ms) | '
        'OpenVINO INT8 (ms) |' in result.stdout
    )
    rows = peer_rows(result.stdout)
    assert set(rows) == {'yolo11n', 'rtmdet-tiny network', 'rtmdet-tiny e2e'}, result.stdout
    base = rows['yolo11n'][0][0]
    assert rows['yolo11n'][0][1] == 1.0
    for name, timings in rows.items():
        for latency, ratio in timings:
            assert latency > 0
            low, high = (latency - 0.05) / (base + 0.05), (latency + 0.05) / (base - 0.05)
            assert low - 0.005 <= ratio <= high + 0.005, (name, rows)
    assert len(list((tmp_path / 'work2' / 'int8').glob('*.onnx'))) == 3
