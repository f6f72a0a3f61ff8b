"""RTMDet-Ins-tiny exported with the ONNX Runtime configs (static and dynamic) on a CPU-only
torch: ONNX Runtime gives the PyTorch model's boxes, scores and masks (mask IoU >= 0.98), and so
does the MMDeploy SDK's Detector on the dumped static folder."""

import os.path as osp

import mmcv
import onnx
import pytest

from rtmdet_plus.apis import inference_detector, init_detector  # noqa: E402
from rtmdet_plus.deploy import BackendDetector, export_model, sdk_predict  # noqa: E402
from tests import REPO
from tools.analysis_tools.detection_agreement import clipped_like_sdk, detection_disagreements  # noqa: E402
from tools.analysis_tools.toy_models import toy_model_files, write_test_image  # noqa: E402

DEPLOY_DIR = REPO / 'configs' / 'deploy'
STATIC_CFG = str(DEPLOY_DIR / 'instance-seg_rtmdet-ins_onnxruntime_static-640x640.py')
DYNAMIC_CFG = str(DEPLOY_DIR / 'instance-seg_rtmdet-ins_onnxruntime_dynamic.py')
MODEL_CFG = str(REPO / 'configs' / 'rtmdet' / 'rtmdet-ins_tiny_8xb32-300e_coco.py')


@pytest.fixture(scope='module')
def toy_model(tmp_path_factory):
    """RTMDet-Ins-tiny at 320x320 (stretched, no padding), image-dependent weights."""
    work_dir = str(tmp_path_factory.mktemp('deploy_ins'))
    model_cfg, checkpoint = toy_model_files(MODEL_CFG, work_dir, size=320, keep_ratio=False)
    image = write_test_image(osp.join(work_dir, 'generated.png'))
    return dict(work_dir=work_dir, model_cfg=model_cfg, checkpoint=checkpoint, generated=image)


@pytest.fixture(scope='module', params=['static', 'dynamic'])
def exported(request, toy_model):
    deploy_cfg = STATIC_CFG if request.param == 'static' else DYNAMIC_CFG
    work_dir = osp.join(toy_model['work_dir'], request.param)
    files = export_model(
        deploy_cfg,
        toy_model['model_cfg'],
        toy_model['checkpoint'],
        toy_model['generated'],
        work_dir,
        dump_info=request.param == 'static',
    )
    return dict(
        toy_model, deploy_cfg=deploy_cfg, files=files, kind=request.param, export_dir=work_dir
    )


@pytest.fixture(params=['generated', 'det.jpg', 'tiger.jpeg'])
def image(request, toy_model, shared_data):
    if request.param == 'generated':
        return toy_model['generated']
    return str(shared_data(f'coco_sample/{request.param}'))


def test_graph_outputs(exported):
    graph = onnx.load(exported['files'][0]).graph
    assert [o.name for o in graph.output] == ['dets', 'labels', 'masks']
    dims = [d.dim_value or d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    if exported['kind'] == 'static':
        assert dims == [1, 3, 320, 320]
    else:
        assert all(isinstance(dim, str) for dim in (dims[0], dims[2], dims[3]))
    assert 'NonMaxSuppression' in {node.op_type for node in graph.node}


def test_onnxruntime_matches_pytorch(exported, image):
    model = init_detector(exported['model_cfg'], exported['checkpoint'], device='cpu')
    reference = inference_detector(model, image).pred_instances
    assert reference.masks.any(dim=(1, 2)).float().mean() > 0.5  # the masks are not empty
    detector = BackendDetector(exported['deploy_cfg'], exported['model_cfg'], exported['files'])
    result = detector(image)
    assert result.masks.shape[1:] == reference.masks.shape[1:]
    stats, problems = detection_disagreements(reference, result, top_k=60, min_mask_iou=0.98)
    assert not problems, f'{problems} {stats}'


def test_sdk_detector_matches_pytorch(exported, image):
    """The SDK's ResizeInstanceMask, thresholding our mask logits at logit(mask_thr_binary),
    called three times on one ``mmdeploy_runtime.Detector`` (its first call read unfinished
    outputs before the exported pipeline waited for them: :mod:`rtmdet_plus.deploy.sdk`)."""
    if exported['kind'] != 'static':
        pytest.skip('the SDK folder is dumped for the static export only')
    model = init_detector(exported['model_cfg'], exported['checkpoint'], device='cpu')
    reference = inference_detector(model, image).pred_instances
    from mmdeploy_runtime import Detector

    from rtmdet_plus.deploy.results import sdk_instances

    detector = Detector(model_path=exported['export_dir'], device_name='cpu', device_id=0)
    reference = clipped_like_sdk(reference, mmcv.imread(image).shape)
    for _ in range(3):
        result = sdk_instances(detector(mmcv.imread(image)))
        assert result.masks.shape[1:] == reference.masks.shape[1:]
        stats, problems = detection_disagreements(reference, result, top_k=60, min_mask_iou=0.98)
        assert not problems, f'{problems} {stats}'
    assert len(sdk_predict(exported['export_dir'], image)) == len(result)
