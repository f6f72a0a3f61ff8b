"""RTMDet-R-tiny exported with the ONNX Runtime config (``mmdeploy::NMSRotated`` from MMDeploy's
op library): ONNX Runtime and the SDK's RotatedDetector give the PyTorch model's rotated
detections (the graph's NMS alone: ``tests/test_deploy_nms.py``)."""

import json
import os.path as osp

import onnx
import pytest

from rtmdet_plus.apis import inference_detector, init_detector  # noqa: E402
from rtmdet_plus.deploy import BackendDetector, sdk_predict  # noqa: E402
from tests import REPO
from tools.analysis_tools.detection_agreement import detection_disagreements  # noqa: E402

DEPLOY_CFG = REPO / 'configs' / 'deploy' / 'rotated-detection_onnxruntime_static-1024x1024.py'
MODEL_CFG = str(REPO / 'configs' / 'rotated_rtmdet' / 'rotated_rtmdet_tiny-3x-dota.py')
SIZE = 320  # the model's 1024 pipeline at a test-sized input


@pytest.fixture(scope='module')
def exported(export_toy_model):
    """RTMDet-R-tiny with its pipeline at 320x320 (keep ratio, pad), every candidate kept before
    NMS (nms_pre large: the graph's pre-NMS top-k keeps every prior at this size), exported
    with ``dump_info`` (the input shape from the model's pipeline)."""
    return export_toy_model(MODEL_CFG, DEPLOY_CFG, size=SIZE, keep_ratio=True, nms_pre=100000)


@pytest.fixture(params=['generated', 'images/P2805__1024__0___0.png'])
def image(request, exported, shared_data):
    if request.param == 'generated':
        return exported['image']
    return str(shared_data(f'dota_sample/{request.param}'))


def test_graph_uses_nms_rotated(exported):
    graph = onnx.load(exported['files'][0]).graph
    ops = {(node.domain, node.op_type) for node in graph.node}
    assert ('mmdeploy', 'NMSRotated') in ops
    assert [o.name for o in graph.output] == ['dets', 'labels']
    pipeline = json.load(open(osp.join(exported['work_dir'], 'pipeline.json')))
    post = pipeline['pipeline']['tasks'][-1]
    assert (post['module'], post['component']) == ('mmrotate', 'ResizeRBBox')
    deploy = json.load(open(osp.join(exported['work_dir'], 'deploy.json')))
    assert deploy['task'] == 'RotatedDetector'


def test_onnxruntime_matches_pytorch(exported, image):
    model = init_detector(exported['model_cfg'], exported['checkpoint'], device='cpu')
    reference = inference_detector(model, image).pred_instances
    detector = BackendDetector(exported['deploy_cfg'], exported['model_cfg'], exported['files'])
    result = detector(image)
    assert result.bboxes.tensor.shape[-1] == 5
    stats, problems = detection_disagreements(
        reference, result, top_k=60, nms_iou_thr=model.cfg.model.test_cfg.nms.iou_threshold
    )
    assert not problems, f'{problems} {stats}'


def test_sdk_rotated_detector_matches_onnxruntime(exported, image):
    detector = BackendDetector(exported['deploy_cfg'], exported['model_cfg'], exported['files'])
    result = detector(image)
    sdk = sdk_predict(exported['work_dir'], image, rotated=True)
    stats, problems = detection_disagreements(result, sdk, top_k=60)
    assert not problems, f'{problems} {stats}'
