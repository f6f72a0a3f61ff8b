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
CONFIGS = REPO / 'configs'
# task -> (deploy config, model config, the SDK module of its post-processing)
TASKS = {
    'detection': ('detection_onnxruntime_static.py', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
                  'mmdet'),
    'instance-seg': ('instance-seg_rtmdet-ins_onnxruntime_static-640x640.py',
                     'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py', 'mmdet'),
    'rotated': ('rotated-detection_onnxruntime_static-1024x1024.py',
                'rotated_rtmdet/rotated_rtmdet_tiny-3x-dota.py', 'mmrotate'),
}


@pytest.fixture(scope='module', params=sorted(TASKS))
def toy_model(request, tmp_path_factory):
    """(deploy config, model config, checkpoint, image, SDK module) of a 320x320 toy model."""
    deploy_cfg, model_cfg, module = TASKS[request.param]
    work_dir = tmp_path_factory.mktemp(f'deploy_tool_{request.param}')
    model_cfg, checkpoint = toy_model_files(str(CONFIGS / model_cfg), str(work_dir), size=320)
    image = write_test_image(str(work_dir / 'generated.png'))
    return str(CONFIGS / 'deploy' / deploy_cfg), model_cfg, checkpoint, image, module


def run_deploy(script, toy_model, work_dir: Path):
    deploy_cfg, model_cfg, checkpoint, image, _ = toy_model
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, str(script), deploy_cfg, model_cfg, checkpoint, image,
         '--work-dir', str(work_dir), '--device', 'cpu', '--dump-info'],
        capture_output=True, text=True, timeout=600, cwd=str(work_dir.parent), env=env)


def check_outputs(work_dir: Path, toy_model):
    image, module = toy_model[3], toy_model[4]
    for name in ('end2end.onnx', 'deploy.json', 'pipeline.json', 'detail.json'):
        assert (work_dir / name).is_file(), name
    pipeline = json.loads((work_dir / 'pipeline.json').read_text())
    assert [task['module'] for task in pipeline['pipeline']['tasks']] == ['Transform', 'Net', module]
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
    check_outputs(work_dir, toy_model)


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
    check_outputs(work_dir, toy_model)


def test_export_and_run_sdk_draws_the_sdk_detections(toy_model, tmp_path):
    """What ``make demo`` calls after training: export with the ONNX Runtime config, SDK
    inference on one image, picture saved."""
    from rtmdet_plus.deploy import export_and_run_sdk
    if Path(toy_model[0]).name != TASKS['detection'][0]:
        pytest.skip('make demo exports its detector with the detection config')
    _, model_cfg, checkpoint, image, _ = toy_model
    out_file = tmp_path / 'sdk.jpg'
    result = export_and_run_sdk(model_cfg, checkpoint, image, str(tmp_path / 'export'),
                                out_file=str(out_file), score_thr=0.3)
    assert (tmp_path / 'export' / 'end2end.onnx').is_file()
    assert len(result) > 0 and (result.scores >= 0.3).any()
    drawing, original = mmcv.imread(str(out_file)), mmcv.imread(image)
    assert drawing.shape == original.shape
    assert np.abs(drawing.astype(float) - original).mean() > 1.0
