"""Bad input to the deployment path gets clear errors; the pieces that make MMDeploy 1.3.1 work
on this stack (legacy exporter, model scope, SDK module names) hold."""

import onnx
import pytest
import torch
from mmengine.config import Config  # noqa: E402
from onnx import TensorProto, helper

from rtmdet_plus.apis import inference_detector, init_detector  # noqa: E402
from rtmdet_plus.deploy import BackendDetector, export_model  # noqa: E402
from rtmdet_plus.deploy.checks import check_custom_ops  # noqa: E402
from tests import REPO
from tools.analysis_tools.detection_agreement import detection_disagreements  # noqa: E402
from tools.analysis_tools.toy_models import write_test_image  # noqa: E402

DEPLOY = REPO / 'configs' / 'deploy'
DET_DEPLOY = str(DEPLOY / 'detection_onnxruntime_static.py')
DET_MODEL = str(REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_8xb32-300e_coco.py')
INS_MODEL = str(REPO / 'configs' / 'rtmdet' / 'rtmdet-ins_tiny_8xb32-300e_coco.py')


@pytest.fixture(scope='module')
def exported(export_toy_model):
    return export_toy_model(DET_MODEL, DET_DEPLOY, size=320)


@pytest.mark.parametrize('size', [(90, 500), (700, 260)])
def test_static_model_resizes_other_image_sizes(exported, tmp_path, size):
    """A 320x320 export takes images of any size: resized as the test pipeline says, with
    detections on the original image equal to PyTorch's."""
    image = write_test_image(str(tmp_path / 'other.png'), size=size, seed=3)
    detector = BackendDetector(DET_DEPLOY, exported['model_cfg'], exported['files'])
    result = detector(image)
    boxes = result.bboxes
    assert len(boxes) and boxes[:, 2].max() <= size[1] and boxes[:, 3].max() <= size[0]
    model = init_detector(exported['model_cfg'], exported['checkpoint'], device='cpu')
    stats, problems = detection_disagreements(
        inference_detector(model, image).pred_instances, result, top_k=60
    )
    assert not problems, f'{problems} {stats}'


def test_raw_tensor_of_wrong_shape_names_expected_shape(exported):
    detector = BackendDetector(DET_DEPLOY, exported['model_cfg'], exported['files'])
    with pytest.raises(ValueError, match=r'\(2, 3, 256, 320\).*\(1, 3, 320, 320\)'):
        detector.run_tensor(torch.zeros(2, 3, 256, 320))
    dets, labels = detector.run_tensor(torch.zeros(1, 3, 320, 320))[:2]
    assert dets.shape[-1] == 5 and labels.shape == dets.shape[:2]


def test_missing_checkpoint(exported, tmp_path):
    missing = str(tmp_path / 'no_such.pth')
    with pytest.raises(FileNotFoundError, match='checkpoint not found.*no_such.pth'):
        export_model(DET_DEPLOY, exported['model_cfg'], missing, exported['image'], str(tmp_path))


def test_missing_exported_model(exported, tmp_path):
    with pytest.raises(FileNotFoundError, match='exported model not found.*end2end.onnx'):
        BackendDetector(DET_DEPLOY, exported['model_cfg'], [str(tmp_path / 'end2end.onnx')])


@pytest.mark.parametrize(
    'deploy_name, model_cfg, wanted',
    [
        ('instance-seg_rtmdet-ins_onnxruntime_static-640x640.py', DET_MODEL, 'detection'),
        ('rotated-detection_onnxruntime_static-1024x1024.py', DET_MODEL, 'detection'),
        ('detection_onnxruntime_static.py', INS_MODEL, 'instance-seg'),
    ],
)
def test_deploy_config_for_wrong_task(exported, tmp_path, deploy_name, model_cfg, wanted):
    with pytest.raises(
        ValueError, match=f'{deploy_name}.*is a {wanted} model.*use a {wanted} deploy config'
    ):
        export_model(
            str(DEPLOY / deploy_name),
            model_cfg,
            exported['checkpoint'],
            exported['image'],
            str(tmp_path),
        )


def test_missing_custom_op_library(tmp_path, monkeypatch):
    """A graph with mmdeploy::NMSRotated and no MMDeploy op library: the error names the op and
    where the library should be."""
    node = helper.make_node(
        'NMSRotated',
        ['boxes', 'scores'],
        ['keep'],
        domain='mmdeploy',
        iou_threshold=0.1,
        score_threshold=0.05,
    )
    graph = helper.make_graph(
        [node],
        'nms',
        [
            helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [1, 4, 5]),
            helper.make_tensor_value_info('scores', TensorProto.FLOAT, [1, 2, 4]),
        ],
        [helper.make_tensor_value_info('keep', TensorProto.INT64, [None, 3])],
    )
    path = str(tmp_path / 'nms.onnx')
    onnx.save(helper.make_model(graph), path)
    assert check_custom_ops(path).endswith('libmmdeploy_onnxruntime_ops.so')
    import mmdeploy.backend.onnxruntime.init_plugins as plugins

    monkeypatch.setattr(plugins, 'get_ops_path', lambda: '')
    with pytest.raises(RuntimeError, match='NMSRotated.*libmmdeploy_onnxruntime_ops.so'):
        check_custom_ops(path)


def test_legacy_exporter_is_the_default():
    """torch.onnx.export defaults to the TorchScript exporter (no onnxscript needed), as
    MMDeploy's rewriters require; an explicit dynamo= still goes through."""
    import io

    from rtmdet_plus.deploy.torch_compat import exporter_has_dynamo_flag

    if not exporter_has_dynamo_flag():
        pytest.skip('this torch has no dynamo exporter')
    out = io.BytesIO()
    torch.onnx.export(torch.nn.Conv2d(1, 1, 1), (torch.zeros(1, 1, 2, 2),), out)
    assert onnx.load_from_string(out.getvalue()).graph.node[0].op_type == 'Conv'


def test_every_task_processor_builds_our_classes():
    """The second MMDeploy task processor of a process still builds rtmdet_plus's heads (not
    mmdet's classes of the same name)."""
    from mmdeploy.apis import build_task_processor

    deploy_cfg = Config.fromfile(
        str(DEPLOY / 'instance-seg_rtmdet-ins_onnxruntime_static-640x640.py')
    )
    model_cfg = Config.fromfile(INS_MODEL)
    model_cfg.model.backbone.init_cfg = None
    for _ in range(2):
        model = build_task_processor(model_cfg, deploy_cfg, 'cpu').build_pytorch_model()
        assert type(model.bbox_head).__module__.startswith('rtmdet_plus.')


def ins_pipeline_tasks() -> list:
    """``pipeline.json``'s tasks as MMDeploy writes them for RTMDet-Ins."""
    return [
        dict(
            type='Task',
            module='Transform',
            name='Preprocess',
            input=['img'],
            output=['prep_output'],
            transforms=[],
        ),
        dict(
            type='Task',
            module='Net',
            name='rtmdet-ins',
            input=['prep_output'],
            output=['infer_output'],
            is_batched=False,
        ),
        dict(
            type='Task',
            module='mmdet',
            name='postprocess',
            component='ResizeInstanceMask',
            input=['prep_output', 'infer_output'],
            output=['post_output'],
            params={},
        ),
    ]


def test_mask_postprocess_reads_waited_outputs():
    """The waiting task sits between the network and ResizeInstanceMask, which reads its
    output instead of the network's; other pipelines are left as they are; applied twice,
    nothing changes."""
    from rtmdet_plus.deploy.sdk import (
        WAIT_TASK_NAME,
        wait_before_mask_postprocess,
        waits_for_net_outputs,
    )

    tasks = ins_pipeline_tasks()
    waited = wait_before_mask_postprocess(tasks)
    assert [task['name'] for task in waited] == [
        'Preprocess',
        'rtmdet-ins',
        WAIT_TASK_NAME,
        'postprocess',
    ]
    wait, post = waited[2], waited[3]
    assert (wait['module'], wait['input'], wait['transforms']) == (
        'Transform',
        ['infer_output'],
        [],
    )
    assert post['input'] == ['prep_output', wait['output'][0]]
    assert wait_before_mask_postprocess(waited) == waited
    assert waits_for_net_outputs(dict(pipeline=dict(tasks=waited)))
    assert not waits_for_net_outputs(dict(pipeline=dict(tasks=tasks)))
    detection = tasks[:2] + [dict(tasks[2], component='ResizeBBox')]
    assert wait_before_mask_postprocess(detection) == detection
    assert waits_for_net_outputs(dict(pipeline=dict(tasks=detection)))


def test_sdk_refuses_a_racing_ins_folder(tmp_path):
    """An RTMDet-Ins folder exported without the waiting task: an error naming pipeline.json
    and what to do, not corrupt masks."""
    import json

    from rtmdet_plus.deploy import sdk_predict

    (tmp_path / 'deploy.json').write_text('{}')
    (tmp_path / 'pipeline.json').write_text(
        json.dumps(
            dict(pipeline=dict(input=['img'], output=['post_output'], tasks=ins_pipeline_tasks()))
        )
    )
    with pytest.raises(ValueError, match=r'pipeline\.json.*export the folder again'):
        sdk_predict(str(tmp_path), write_test_image(str(tmp_path / 'image.png')))


def test_sdk_refuses_numpy_2(monkeypatch, tmp_path):
    """Under numpy 2 the SDK binding gives every box one label: sdk_predict stops with what to
    install instead."""
    import numpy as np

    from rtmdet_plus.deploy.checks import check_sdk_numpy, sdk_numpy_problem

    assert sdk_numpy_problem() == ''  # the environment's numpy 1.26
    monkeypatch.setattr(np, '__version__', '2.4.6')
    assert "numpy<2" in sdk_numpy_problem()
    with pytest.raises(RuntimeError, match=r"numpy 2\.4\.6 .*pip install 'numpy<2'"):
        check_sdk_numpy()
