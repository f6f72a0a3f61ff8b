"""OpenVINO as a deployment backend on the current OpenVINO: tools/deploy.py with our OpenVINO
deploy configs writes end2end.xml / .bin (ov.convert_model of the ONNX export) and draws the
backend's predictions; ``BackendDetector`` and ``mmdeploy.apis.inference_model`` over the IR give
the PyTorch model's detections (the 60 best each way: same labels, box IoU >= 0.99, scores within
1e-3, masks IoU >= 0.98) on a generated image and the real samples; bad input is named."""

import builtins
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.openvino

from rtmdet_plus.deploy import BackendDetector  # noqa: E402
from tests import REPO  # noqa: E402
from tests.helpers import tool_env
from tests.helpers.deploy import (  # noqa: E402
    TOP_K,
    assert_agree,
    nms_iou_thr,
    pytorch_detections,
    task_images,
    worst,
)
from tools.analysis_tools.toy_models import toy_model_files, write_test_image  # noqa: E402

CONFIGS = REPO / 'configs'
TASKS = {
    'detection': ('detection_openvino_static-640x640.py', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py'),
    'instance-seg': (
        'instance-seg_rtmdet-ins_openvino_static-640x640.py',
        'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
    ),
    # mmdeploy::NMSRotated converted to OpenVINO's NMSRotated
    'rotated': (
        'rotated-detection_openvino_static-1024x1024.py',
        'rotated_rtmdet/rotated_rtmdet_tiny-3x-dota.py',
    ),
}


@pytest.fixture(scope='module', params=sorted(TASKS))
def toy_model(request, tmp_path_factory):
    """(deploy config, model config, checkpoint, image, -, task) of a 320x320 toy model, in
    test_deploy_tools' layout (the rotated one as there: aspect ratio kept, every candidate)."""
    deploy_cfg, model_cfg = TASKS[request.param]
    work_dir = tmp_path_factory.mktemp(f'openvino_{request.param}')
    rotated = request.param == 'rotated'
    model_cfg, checkpoint = toy_model_files(
        str(CONFIGS / model_cfg),
        str(work_dir),
        size=320,
        keep_ratio=rotated,
        **(dict(nms_pre=100000) if rotated else {}),
    )
    image = write_test_image(str(work_dir / 'generated.png'))
    return (str(CONFIGS / 'deploy' / deploy_cfg), model_cfg, checkpoint, image, None, request.param)


@pytest.fixture(scope='module')
def exported(toy_model, tmp_path_factory) -> Path:
    """The folder our tools/deploy.py writes with the OpenVINO config (the ONNX export in
    MMDeploy's subprocess, as MMDeploy's tool does)."""
    deploy_cfg, model_cfg, checkpoint, image = toy_model[:4]
    work_dir = tmp_path_factory.mktemp('openvino_export') / 'out'
    env = tool_env()
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'deploy.py'),
            deploy_cfg,
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
        timeout=600,
        cwd=str(work_dir.parent),
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


def test_deploy_tool_writes_the_ir_and_draws_its_predictions(toy_model, exported):
    for name in ('end2end.onnx', 'end2end.xml', 'end2end.bin'):
        assert (exported / name).is_file(), name
    original = mmcv.imread(toy_model[3])
    for backend in ('openvino', 'pytorch'):
        drawing = mmcv.imread(str(exported / f'output_{backend}.jpg'))
        assert drawing.shape == original.shape
        assert np.abs(drawing.astype(float) - original).mean() > 1.0  # boxes were drawn


def test_backend_detector_matches_pytorch(toy_model, exported, report_figure):
    detector = BackendDetector(toy_model[0], toy_model[1], [str(exported / 'end2end.xml')])
    assert detector.expected_input_shape == (1, 3, 320, 320)
    images = task_images(toy_model)
    stats = []
    for image, reference in zip(images, pytorch_detections(toy_model, images)):
        instances = detector(image)
        if toy_model[5] == 'instance-seg':
            assert reference.masks.any(dim=(1, 2)).float().mean() > 0.5  # masks not empty
            assert instances.masks.shape[1:] == reference.masks.shape[1:]
        stats.append(
            assert_agree(
                reference, instances, f'OpenVINO, {Path(image).name}', nms_iou_thr(toy_model[1])
            )
        )
        assert len(torch.unique(reference.labels)) > 1
    report_figure(
        f'OpenVINO BackendDetector vs PyTorch, {toy_model[5]}: {len(images)} images, '
        f'{TOP_K} best each way matched; {worst(stats)}'
    )


def test_mmdeploy_inference_model_runs_the_ir(toy_model, exported, report_figure):
    from mmdeploy.apis import inference_model

    images = task_images(toy_model)
    stats = []
    for image, reference in zip(images, pytorch_detections(toy_model, images)):
        outputs = inference_model(
            toy_model[1], toy_model[0], [str(exported / 'end2end.xml')], image, 'cpu'
        )
        stats.append(
            assert_agree(
                reference,
                outputs[0].pred_instances,
                f'inference_model (OpenVINO), {Path(image).name}',
                nms_iou_thr(toy_model[1]),
            )
        )
    report_figure(
        f'inference_model (OpenVINO) vs PyTorch, {toy_model[5]}: {len(images)} '
        f'images; {worst(stats)}'
    )


def test_bad_input_is_named(toy_model, exported, tmp_path, monkeypatch):
    from rtmdet_plus.deploy.openvino import OpenVINOWrapper, convert_to_ir

    detector = BackendDetector(toy_model[0], toy_model[1], [str(exported / 'end2end.xml')])
    with pytest.raises(ValueError, match='320'):  # the IR's input is static
        detector.run_tensor(torch.zeros(1, 3, 640, 640))
    with pytest.raises(FileNotFoundError, match='end2end.bin'):
        (tmp_path / 'end2end.xml').write_text('<net/>')
        OpenVINOWrapper(str(tmp_path / 'end2end.xml'))
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        convert_to_ir(str(tmp_path / 'missing.onnx'), str(tmp_path / 'out.xml'))

    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name == 'openvino' or name.startswith('openvino.'):
            raise ImportError(f'No module named {name!r}')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_openvino)
    with pytest.raises(ImportError, match='pip install openvino'):
        OpenVINOWrapper(str(exported / 'end2end.xml'))
