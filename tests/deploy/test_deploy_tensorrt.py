"""TensorRT deploy configs on a CPU: the static ONNX graphs they produce have the fixed input
shape and MMDeploy's TensorRT NMS plugin nodes. Engine build and inference (TensorRT 10 API)
need a CUDA GPU and the tensorrt package, and are skipped without them."""

import importlib.util

import onnx
import pytest
import torch
from mmengine.config import Config  # noqa: E402

from rtmdet_plus.deploy import export_model  # noqa: E402
from tests import REPO
from tools.analysis_tools.toy_models import toy_model_files, write_test_image  # noqa: E402

DEPLOY = REPO / 'configs' / 'deploy'
CASES = {
    # deploy config: (model config, input (H, W), plugin, outputs, fp16)
    'detection_tensorrt_static-640x640.py': (
        'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        (640, 640),
        'TRTBatchedNMS',
        ['dets', 'labels'],
        False,
    ),
    'detection_tensorrt-fp16_static-640x640.py': (
        'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        (640, 640),
        'TRTBatchedNMS',
        ['dets', 'labels'],
        True,
    ),
    'instance-seg_rtmdet-ins_tensorrt_static-640x640.py': (
        'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
        (640, 640),
        'TRTBatchedNMS',
        ['dets', 'labels', 'masks'],
        False,
    ),
    'rotated-detection_tensorrt-fp16_static-1024x1024.py': (
        'rotated_rtmdet/rotated_rtmdet_tiny-3x-dota.py',
        (1024, 1024),
        'TRTBatchedRotatedNMS',
        ['dets', 'labels'],
        True,
    ),
}


@pytest.mark.parametrize('deploy_name', sorted(CASES))
def test_static_onnx_for_tensorrt(deploy_name, tmp_path):
    model_name, (height, width), plugin, outputs, fp16 = CASES[deploy_name]
    deploy_cfg = Config.fromfile(str(DEPLOY / deploy_name))
    assert deploy_cfg.backend_config.common_config.fp16_mode is fp16
    shapes = deploy_cfg.backend_config.model_inputs[0].input_shapes.input
    assert shapes.min_shape == shapes.opt_shape == shapes.max_shape == [1, 3, height, width]
    model_cfg, checkpoint = toy_model_files(
        str(REPO / 'configs' / model_name), str(tmp_path), size=None
    )
    image = write_test_image(str(tmp_path / 'image.png'), size=(height * 3 // 4, width))
    onnx_file = export_model(
        str(DEPLOY / deploy_name),
        model_cfg,
        checkpoint,
        image,
        str(tmp_path),
        device='cpu',
        dump_info=False,
        build_backend=False,
    )[0].replace('.engine', '.onnx')
    graph = onnx.load(onnx_file).graph
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, height, width]
    ops = [(node.domain, node.op_type) for node in graph.node]
    assert ops.count(('mmdeploy', plugin)) == 1
    assert not any(op in ('NonMaxSuppression', 'NMSRotated') for _, op in ops)
    assert [o.name for o in graph.output] == outputs


def tensorrt_ready():
    return importlib.util.find_spec('tensorrt') is not None and torch.cuda.is_available()


@pytest.mark.skipif(
    not tensorrt_ready(),
    reason='TensorRT engines need a CUDA GPU and the tensorrt package '
    '(none here: TensorRT is unvalidated on this machine)',
)
@pytest.mark.parametrize(
    'deploy_name',
    ['detection_tensorrt_static-640x640.py', 'detection_tensorrt-fp16_static-640x640.py'],
)
def test_engine_matches_pytorch(deploy_name, tmp_path):
    from rtmdet_plus.apis import inference_detector, init_detector
    from rtmdet_plus.deploy import BackendDetector
    from tools.analysis_tools.detection_agreement import detection_disagreements

    model_name = CASES[deploy_name][0]
    model_cfg, checkpoint = toy_model_files(
        str(REPO / 'configs' / model_name), str(tmp_path), size=None, keep_ratio=False
    )
    image = write_test_image(str(tmp_path / 'image.png'), size=(640, 640))
    files = export_model(
        str(DEPLOY / deploy_name),
        model_cfg,
        checkpoint,
        image,
        str(tmp_path),
        device='cuda:0',
        dump_info=True,
    )
    detector = BackendDetector(str(DEPLOY / deploy_name), model_cfg, files, device='cuda:0')
    reference = inference_detector(
        init_detector(model_cfg, checkpoint, device='cpu'), image
    ).pred_instances
    fp16 = CASES[deploy_name][4]
    stats, problems = detection_disagreements(
        reference,
        detector(image).cpu(),
        top_k=60,
        min_iou=0.95 if fp16 else 0.99,
        max_score_diff=1e-2 if fp16 else 1e-3,
    )
    assert not problems, f'{problems} {stats}'
