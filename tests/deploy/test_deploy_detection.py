"""RTMDet-tiny exported with the ONNX Runtime config: ONNX Runtime and the MMDeploy SDK give the
PyTorch model's detections (matched boxes IoU >= 0.99, scores within 1e-3)."""

import os.path as osp

import mmcv
import onnx
import pytest

from rtmdet_plus.apis import inference_detector, init_detector  # noqa: E402
from rtmdet_plus.deploy import BackendDetector, export_model, sdk_predict  # noqa: E402
from tests import REPO
from tools.analysis_tools.detection_agreement import clipped_like_sdk, detection_disagreements  # noqa: E402

DEPLOY_CFG = str(REPO / 'configs' / 'deploy' / 'detection_onnxruntime_static.py')
MODEL_CFG = str(REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_8xb32-300e_coco.py')
TOP_K = 60  # detections compared per image: the best ones, well above the 300-box cut


@pytest.fixture(scope='module')
def exported(export_toy_model):
    """RTMDet-tiny at 320x320 (image stretched to the input, no padding) with weights that give
    image-dependent boxes, exported with ``dump_info``; a generated test image beside it."""
    return export_toy_model(MODEL_CFG, DEPLOY_CFG, size=320)


def image_ids():
    return ['generated', 'det.jpg', 'tiger.jpeg']


@pytest.fixture(params=image_ids())
def image(request, exported, shared_data):
    if request.param == 'generated':
        return exported['image']
    return str(shared_data(f'coco_sample/{request.param}'))


def assert_same_detections(reference, other, what: str):
    stats, problems = detection_disagreements(reference, other, top_k=TOP_K)
    assert not problems, f'{what}: {problems} {stats}'


def test_graph_has_nms_and_static_input(exported):
    graph = onnx.load(exported['files'][0]).graph
    assert 'NonMaxSuppression' in {node.op_type for node in graph.node}
    assert [o.name for o in graph.output] == ['dets', 'labels']
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 320, 320]
    for name in ('deploy.json', 'pipeline.json', 'detail.json'):
        assert osp.isfile(osp.join(exported['work_dir'], name))


def test_onnxruntime_matches_pytorch(exported, image):
    model = init_detector(exported['model_cfg'], exported['checkpoint'], device='cpu')
    reference = inference_detector(model, image).pred_instances
    detector = BackendDetector(DEPLOY_CFG, exported['model_cfg'], exported['files'])
    assert_same_detections(reference, detector(image), 'ONNX Runtime vs PyTorch')


def test_sdk_matches_onnxruntime(exported, image):
    import json

    pipeline = json.load(open(osp.join(exported['work_dir'], 'pipeline.json')))
    assert pipeline['pipeline']['tasks'][-1]['module'] == 'mmdet'
    detector = BackendDetector(DEPLOY_CFG, exported['model_cfg'], exported['files'])
    ort = detector(image)
    sdk = sdk_predict(exported['work_dir'], image)
    ort = clipped_like_sdk(ort, mmcv.imread(image).shape)
    assert_same_detections(ort, sdk, 'SDK vs ONNX Runtime')


DYNAMIC_CFG = str(REPO / 'configs' / 'deploy' / 'detection_onnxruntime_dynamic.py')


def test_dynamic_export_takes_any_batch_and_size(exported, tmp_path):
    """The dynamic config's graph: symbolic batch, height and width; the PyTorch model's
    detections through the pipeline; and a raw batch of two 256x384 inputs gives each image
    what it gives alone."""
    import numpy as np
    import onnxruntime as ort

    files = export_model(
        DYNAMIC_CFG,
        exported['model_cfg'],
        exported['checkpoint'],
        exported['image'],
        str(tmp_path),
        dump_info=False,
    )
    graph = onnx.load(files[0]).graph
    dims = [d.dim_value or d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert all(isinstance(dims[axis], str) for axis in (0, 2, 3)), dims
    model = init_detector(exported['model_cfg'], exported['checkpoint'], device='cpu')
    reference = inference_detector(model, exported['image']).pred_instances
    detector = BackendDetector(DYNAMIC_CFG, exported['model_cfg'], files)
    assert_same_detections(reference, detector(exported['image']), 'dynamic ONNX Runtime')

    session = ort.InferenceSession(files[0], providers=['CPUExecutionProvider'])
    batch = np.random.default_rng(0).standard_normal((2, 3, 256, 384)).astype(np.float32)
    dets, labels = session.run(None, {'input': batch})
    assert dets.shape[0] == labels.shape[0] == 2 and dets.shape[2] == 5
    for index in range(2):
        alone_dets, alone_labels = session.run(None, {'input': batch[index : index + 1]})
        rows = dets[index][dets[index][:, 4] > 0]
        assert len(rows) > 10
        np.testing.assert_allclose(rows, alone_dets[0][alone_dets[0][:, 4] > 0], atol=1e-4)
        np.testing.assert_array_equal(labels[index][: len(rows)], alone_labels[0][: len(rows)])
