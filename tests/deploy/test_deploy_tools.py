"""tools/deploy.py (MMDeploy's command line) and MMDeploy's own tools/deploy.py with our configs:
the ONNX export in MMDeploy's subprocess, SDK files, pictures from the backend and PyTorch; then
the two Python APIs of MMDeploy's tutorial over those folders, as a user calls them: the SDK
binding (``mmdeploy_runtime.Detector`` / ``RotatedDetector``, in a fresh process, three calls in
a row) and ``mmdeploy.apis.inference_model``, each giving the PyTorch model's detections."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch

from rtmdet_plus.deploy.results import sdk_instances  # noqa: E402
from tests import REPO
from tests.helpers import tool_env
from tests.helpers.deploy import (
    TOP_K,
    assert_agree,
    nms_iou_thr,
    pytorch_detections,
    task_images,
    worst,
)
from tools.analysis_tools.detection_agreement import clipped_like_sdk  # noqa: E402
from tools.analysis_tools.toy_models import toy_model_files, write_test_image  # noqa: E402

CONFIGS = REPO / 'configs'
# task -> (deploy config, model config, the SDK modules of its tasks); its real sample images
# are tests.helpers.deploy.SAMPLE_IMAGES
TASKS = {
    'detection': (
        'detection_onnxruntime_static.py',
        'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        ['Transform', 'Net', 'mmdet'],
    ),
    # the SDK's RTMDet-Ins post-processing waits for the network's outputs in a task of its own
    'instance-seg': (
        'instance-seg_rtmdet-ins_onnxruntime_static-640x640.py',
        'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
        ['Transform', 'Net', 'Transform', 'mmdet'],
    ),
    'rotated': (
        'rotated-detection_onnxruntime_static-1024x1024.py',
        'rotated_rtmdet/rotated_rtmdet_tiny-3x-dota.py',
        ['Transform', 'Net', 'mmrotate'],
    ),
}


@pytest.fixture(scope='module', params=sorted(TASKS))
def toy_model(request, tmp_path_factory):
    """(deploy config, model config, checkpoint, image, SDK modules, task) of a 320x320 toy
    model (the image stretched to the input); the rotated one keeps the aspect ratio (a
    rotated box stretched unevenly is no rotated box) and every candidate before NMS (the
    graph's pre-NMS top-k keeps every prior at this size, the head takes nms_pre per level)."""
    deploy_cfg, model_cfg, modules = TASKS[request.param]
    work_dir = tmp_path_factory.mktemp(f'deploy_tool_{request.param}')
    rotated = request.param == 'rotated'
    test_cfg = dict(nms_pre=100000) if rotated else {}
    model_cfg, checkpoint = toy_model_files(
        str(CONFIGS / model_cfg), str(work_dir), size=320, keep_ratio=rotated, **test_cfg
    )
    image = write_test_image(str(work_dir / 'generated.png'))
    return (
        str(CONFIGS / 'deploy' / deploy_cfg),
        model_cfg,
        checkpoint,
        image,
        modules,
        request.param,
    )


def run_deploy(script, toy_model, work_dir: Path):
    deploy_cfg, model_cfg, checkpoint, image = toy_model[:4]
    env = tool_env()
    return subprocess.run(
        [
            sys.executable,
            str(script),
            deploy_cfg,
            model_cfg,
            checkpoint,
            image,
            '--work-dir',
            str(work_dir),
            '--device',
            'cpu',
            '--dump-info',
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(work_dir.parent),
        env=env,
    )


def check_outputs(work_dir: Path, toy_model):
    image, modules = toy_model[3], toy_model[4]
    for name in ('end2end.onnx', 'deploy.json', 'pipeline.json', 'detail.json'):
        assert (work_dir / name).is_file(), name
    pipeline = json.loads((work_dir / 'pipeline.json').read_text())
    assert [task['module'] for task in pipeline['pipeline']['tasks']] == modules
    original = mmcv.imread(image)
    for backend in ('onnxruntime', 'pytorch'):
        drawing = mmcv.imread(str(work_dir / f'output_{backend}.jpg'))
        assert drawing.shape == original.shape
        # boxes were drawn: the picture differs from the image by more than JPEG noise
        assert np.abs(drawing.astype(float) - original).mean() > 1.0


@pytest.fixture(scope='module')
def ours(toy_model, tmp_path_factory):
    """The folder our tools/deploy.py writes, and its completed process."""
    work_dir = tmp_path_factory.mktemp('ours') / 'out'
    return work_dir, run_deploy(REPO / 'tools' / 'deploy.py', toy_model, work_dir)


@pytest.fixture(scope='module')
def mmdeploys(toy_model, tmp_path_factory):
    """The folder MMDeploy's own tools/deploy.py writes (source repository, not in the wheel):
    set MMDEPLOY_REPO to an mmdeploy 1.3.1 checkout to run it."""
    repo = os.environ.get('MMDEPLOY_REPO')
    script = Path(repo) / 'tools' / 'deploy.py' if repo else None
    if script is None or not script.is_file():
        pytest.skip('MMDeploy source checkout not given (MMDEPLOY_REPO=/path/to/mmdeploy)')
    work_dir = tmp_path_factory.mktemp('mmdeploys') / 'out'
    return work_dir, run_deploy(script, toy_model, work_dir)


def test_our_deploy_tool(toy_model, ours):
    work_dir, result = ours
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        'in subprocess' in result.stderr + result.stdout
    )  # the export ran in MMDeploy's subprocess
    check_outputs(work_dir, toy_model)


def test_mmdeploy_deploy_tool(toy_model, mmdeploys):
    work_dir, result = mmdeploys
    assert result.returncode == 0, result.stderr[-3000:]
    check_outputs(work_dir, toy_model)


@pytest.fixture(params=['ours', 'mmdeploys'])
def exported(request) -> Path:
    """A folder exported by our tools/deploy.py or by MMDeploy's."""
    work_dir, result = request.getfixturevalue(request.param)
    if result.returncode != 0:
        pytest.fail(f'{request.param} tools/deploy.py failed: {result.stderr[-2000:]}')
    return work_dir


def test_sdk_python_binding_matches_pytorch(toy_model, exported, tmp_path, report_figure):
    """The tutorial's ``Detector(model_path=work_dir, device_name='cpu', device_id=0)`` and
    ``bboxes, labels, masks = detector(img)`` in a fresh process, three calls a image."""
    images = task_images(toy_model)
    rotated = toy_model[5] == 'rotated'
    out = tmp_path / 'sdk.npz'
    command = [
        sys.executable,
        str(REPO / 'tests' / 'deploy' / 'sdk_binding_calls.py'),
        str(exported),
        str(out),
        *images,
    ] + (['--rotated'] if rotated else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    arrays = np.load(out)
    stats = []
    for index, (image, reference) in enumerate(zip(images, pytorch_detections(toy_model, images))):
        if not rotated:  # the SDK clips x2, y2 at width - 1, height - 1
            reference = clipped_like_sdk(reference, mmcv.imread(image).shape)
        if toy_model[5] == 'instance-seg':
            assert reference.masks.any(dim=(1, 2)).float().mean() > 0.5  # masks not empty
        for call in range(3):
            key = f'{index}_{call}'
            masks = []
            if f'{key}_masks' in arrays:
                shape = tuple(arrays[f'{key}_mask_shape'])
                bits = np.unpackbits(arrays[f'{key}_masks'], axis=1)[:, : shape[0] * shape[1]]
                masks = list(bits.reshape(-1, *shape))
            sdk = sdk_instances(
                (arrays[f'{key}_dets'], arrays[f'{key}_labels'], masks), rotated=rotated
            )
            if toy_model[5] == 'instance-seg':
                assert 'masks' in sdk and sdk.masks.shape[1:] == reference.masks.shape[1:]
            stats.append(
                assert_agree(
                    reference,
                    sdk,
                    f'SDK binding, {Path(image).name}, call {call}',
                    nms_iou_thr(toy_model[1]),
                )
            )
        assert len(torch.unique(reference.labels)) > 1  # a label per box is checked, not one
    report_figure(
        f'SDK binding vs PyTorch, {toy_model[5]} ({exported.parent.name}): '
        f'{len(images)} images x 3 calls, {TOP_K} best each way matched; {worst(stats)}'
    )


def test_mmdeploy_inference_model_matches_pytorch(toy_model, ours, report_figure):
    """The tutorial's ``inference_model(model_cfg, deploy_cfg, backend_files, img, device)``
    over the exported end2end.onnx."""
    from mmdeploy.apis import inference_model

    work_dir, result = ours
    assert result.returncode == 0, result.stderr[-3000:]
    images = task_images(toy_model)
    stats = []
    for image, reference in zip(images, pytorch_detections(toy_model, images)):
        outputs = inference_model(
            toy_model[1], toy_model[0], [str(work_dir / 'end2end.onnx')], image, 'cpu'
        )
        instances = outputs[0].pred_instances
        if toy_model[5] == 'instance-seg':
            assert instances.masks.shape[1:] == reference.masks.shape[1:]
        stats.append(
            assert_agree(
                reference,
                instances,
                f'inference_model, {Path(image).name}',
                nms_iou_thr(toy_model[1]),
            )
        )
    report_figure(
        f'inference_model vs PyTorch, {toy_model[5]}: {len(images)} images, '
        f'{TOP_K} best each way matched; {worst(stats)}'
    )


def test_export_and_run_sdk_draws_the_sdk_detections(toy_model, tmp_path):
    """What ``make demo`` calls after training: export with the ONNX Runtime config, SDK
    inference on one image, picture saved."""
    from rtmdet_plus.deploy import export_and_run_sdk

    if toy_model[5] != 'detection':
        pytest.skip('make demo exports its detector with the detection config')
    _, model_cfg, checkpoint, image = toy_model[:4]
    out_file = tmp_path / 'sdk.jpg'
    result = export_and_run_sdk(
        model_cfg,
        checkpoint,
        image,
        str(tmp_path / 'export'),
        out_file=str(out_file),
        score_thr=0.3,
    )
    assert (tmp_path / 'export' / 'end2end.onnx').is_file()
    assert len(result) > 0 and (result.scores >= 0.3).any()
    drawing, original = mmcv.imread(str(out_file)), mmcv.imread(image)
    assert drawing.shape == original.shape
    assert np.abs(drawing.astype(float) - original).mean() > 1.0
