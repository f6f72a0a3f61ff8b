"""RTMDet-l with ConvNeXt-B and Swin-B (P6 too) through tools/deploy.py with the ONNX Runtime
static config: ONNX Runtime gives the PyTorch model's 60 best detections (IoU >= 0.99, scores
within 1e-3). Slow (each graph carries about 100M parameters): ``make test-slow``."""

import subprocess
import sys

import pytest

from rtmdet_plus.apis import inference_detector, init_detector  # noqa: E402
from rtmdet_plus.deploy import BackendDetector  # noqa: E402
from tests import REPO
from tests.helpers import tool_env
from tools.analysis_tools.detection_agreement import detection_disagreements  # noqa: E402
from tools.analysis_tools.toy_models import toy_model_files, write_test_image  # noqa: E402

DEPLOY_CFG = str(REPO / 'configs' / 'deploy' / 'detection_onnxruntime_static.py')
CONFIGS = {
    'convnext_b': 'rtmdet_l_convnext_b_4xb32-100e_coco.py',
    'swin_b': 'rtmdet_l_swin_b_4xb32-100e_coco.py',
    'swin_b_p6': 'rtmdet_l_swin_b_p6_4xb16-100e_coco.py',
}


@pytest.mark.slow
@pytest.mark.parametrize('name', list(CONFIGS))
def test_deploy_tool_export_matches_pytorch(name, tmp_path, capsys):
    model_cfg, checkpoint = toy_model_files(
        str(REPO / 'configs' / 'rtmdet' / CONFIGS[name]), str(tmp_path), size=320
    )
    image = write_test_image(str(tmp_path / 'generated.png'))
    work_dir = tmp_path / 'out'
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'deploy.py'),
            DEPLOY_CFG,
            model_cfg,
            checkpoint,
            image,
            '--work-dir',
            str(work_dir),
            '--device',
            'cpu',
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=str(tmp_path),
        env=tool_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    model = init_detector(model_cfg, checkpoint, device='cpu')
    reference = inference_detector(model, image).pred_instances
    detector = BackendDetector(DEPLOY_CFG, model_cfg, [str(work_dir / 'end2end.onnx')])
    stats, problems = detection_disagreements(reference, detector(image), top_k=60)
    with capsys.disabled():
        print(f'\n{name}: ONNX Runtime vs PyTorch {stats}')
    assert not problems, f'{name}: {problems} {stats}'
