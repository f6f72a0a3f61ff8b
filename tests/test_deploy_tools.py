"""tools/deploy.py (MMDeploy's command line) and MMDeploy's own tools/deploy.py with our configs:
the ONNX export in MMDeploy's subprocess, SDK files, pictures from the backend and PyTorch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest

pytest.importorskip('mmdeploy')

from rtmdet_plus.deploy.toy_models import toy_model_files, write_test_image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEPLOY_CFG = REPO / 'configs' / 'deploy' / 'detection_onnxruntime_static.py'
MODEL_CFG = REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_8xb32-300e_coco.py'


@pytest.fixture(scope='module')
def toy_model(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('deploy_tool')
    model_cfg, checkpoint = toy_model_files(str(MODEL_CFG), str(work_dir), size=320)
    image = write_test_image(str(work_dir / 'generated.png'))
    return model_cfg, checkpoint, image


def run_deploy(script, toy_model, work_dir: Path):
    model_cfg, checkpoint, image = toy_model
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, str(script), str(DEPLOY_CFG), model_cfg, checkpoint, image,
         '--work-dir', str(work_dir), '--device', 'cpu', '--dump-info'],
        capture_output=True, text=True, timeout=600, cwd=str(work_dir.parent), env=env)


def check_outputs(work_dir: Path, image: str):
    for name in ('end2end.onnx', 'deploy.json', 'pipeline.json', 'detail.json'):
        assert (work_dir / name).is_file(), name
    pipeline = json.loads((work_dir / 'pipeline.json').read_text())
    assert [task['module'] for task in pipeline['pipeline']['tasks']] == ['Transform', 'Net', 'mmdet']
    original = mmcv.imread(image)
    for backend in ('onnxruntime', 'pytorch'):
        drawing = mmcv.imread(str(work_dir / f'output_{backend}.jpg'))
        assert drawing.shape == original.shape
        # boxes were drawn: the picture differs from the image by more than JPEG noise
        assert np.abs(drawing.astype(float) - original).mean() > 1.0


def test_our_deploy_tool(toy_model, tmp_path):
    work_dir = tmp_path / 'out'
    result = run_deploy(REPO / 'tools' / 'deploy.py', toy_model, work_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'in subprocess' in result.stderr + result.stdout  # the export ran in MMDeploy's subprocess
    check_outputs(work_dir, toy_model[2])


def test_mmdeploy_deploy_tool(toy_model, tmp_path):
    """MMDeploy's own tools/deploy.py (source repository, not in the wheel): set
    MMDEPLOY_REPO to an mmdeploy 1.3.1 checkout to run it."""
    repo = os.environ.get('MMDEPLOY_REPO')
    script = Path(repo) / 'tools' / 'deploy.py' if repo else None
    if script is None or not script.is_file():
        pytest.skip('MMDeploy source checkout not given (MMDEPLOY_REPO=/path/to/mmdeploy)')
    work_dir = tmp_path / 'out'
    result = run_deploy(script, toy_model, work_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    check_outputs(work_dir, toy_model[2])


def test_export_and_run_sdk_draws_the_sdk_detections(toy_model, tmp_path):
    """What ``make demo`` calls after training: export with the ONNX Runtime config, SDK
    inference on one image, picture saved."""
    from rtmdet_plus.deploy import export_and_run_sdk
    model_cfg, checkpoint, image = toy_model
    out_file = tmp_path / 'sdk.jpg'
    result = export_and_run_sdk(model_cfg, checkpoint, image, str(tmp_path / 'export'),
                                out_file=str(out_file), score_thr=0.3)
    assert (tmp_path / 'export' / 'end2end.onnx').is_file()
    assert len(result) > 0 and (result.scores >= 0.3).any()
    drawing, original = mmcv.imread(str(out_file)), mmcv.imread(image)
    assert drawing.shape == original.shape
    assert np.abs(drawing.astype(float) - original).mean() > 1.0
