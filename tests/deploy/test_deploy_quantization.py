"""INT8 post-training quantization (rtmdet_plus.deploy.quantization): which nodes become int8
(the network, not the prediction convolutions nor anything they feed), calibration on the model
config's own val images, the QDQ graph in ONNX Runtime and as an OpenVINO IR, and bad
calibration input named before any export. The accuracy kept on a trained model is measured in
tests/test_learning.py (INT8 mAP within 1 point of FP32)."""

import numpy as np
import onnx
import pytest
from mmengine.config import Config
from onnx import helper, numpy_helper

pytestmark = pytest.mark.int8

from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset, use_data_root  # noqa: E402
from rtmdet_plus.deploy import BackendDetector, export_model  # noqa: E402
from rtmdet_plus.deploy.quantization import (  # noqa: E402
    calibration_images,
    fold_initializer_identities,
    nodes_to_quantize,
)
from tests import REPO
from tools.analysis_tools.toy_models import write_checkpoint  # noqa: E402

DEPLOY = REPO / 'configs' / 'deploy'
SHAPES_CONFIG = REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_1xb8-24e_shapes.py'


@pytest.fixture(scope='module')
def shapes_model(tmp_path_factory):
    """(model config file, checkpoint, val image) of RTMDet-tiny on a small generated shapes set
    (perturbed weights, so that boxes come out)."""
    root = tmp_path_factory.mktemp('int8')
    cfg = Config.fromfile(SHAPES_CONFIG)
    shapes = ShapesConfig(**{**cfg.shapes_dataset, 'num_train': 2, 'num_val': 12})
    generate_shapes_dataset(str(root / 'shapes'), shapes)
    use_data_root(cfg, f'{root / "shapes"}/')
    config_file = str(root / 'model.py')
    cfg.dump(config_file)
    write_checkpoint(Config.fromfile(config_file), str(root / 'model.pth'), cls_bias=-2.0)
    image = sorted((root / 'shapes' / 'val').glob('*.jpg'))[0]
    return config_file, str(root / 'model.pth'), str(image)


@pytest.fixture(scope='module')
def int8_export(shapes_model, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('int8_ort')
    files = export_model(
        str(DEPLOY / 'detection_onnxruntime-int8_static-640x640.py'),
        shapes_model[0],
        shapes_model[1],
        shapes_model[2],
        str(work_dir),
        dump_info=False,
        calib_images=6,
    )
    return work_dir, files


def test_quantized_nodes_are_the_network_less_the_predictions_and_what_follows(int8_export):
    work_dir, _ = int8_export
    model = onnx.load(str(work_dir / 'end2end_fp32.onnx'))
    fold_initializer_identities(model)
    chosen = set(nodes_to_quantize(model, keep_float=['stem.0', 'cls_convs', 'reg_convs']))
    convs = [node.name for node in model.graph.node if node.op_type == 'Conv']
    predictions = [name for name in convs if '/rtm_cls.' in name or '/rtm_reg.' in name]
    assert len(predictions) == 6 and not chosen & set(predictions)
    kept = [
        name
        for name in convs
        if any(part in name for part in ('/stem.0/', '/cls_convs.', '/reg_convs.'))
    ]
    assert len(kept) == 13 and not chosen & set(kept)  # keep_float: first conv, head towers
    assert set(convs) - set(predictions) - set(kept) <= chosen  # every other convolution
    assert all(name.startswith(('/backbone/', '/neck/', '/bbox_head/')) for name in chosen)
    after = {node.op_type for node in model.graph.node if node.name not in chosen}
    assert {'NonMaxSuppression', 'TopK'} <= after


def test_int8_graph_has_int8_weights_and_float_predictions(int8_export):
    work_dir, files = int8_export
    assert files == [str(work_dir / 'end2end.onnx')]
    graph = onnx.load(files[0]).graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    int8_weights = {
        node.output[0]
        for node in graph.node
        if node.op_type == 'DequantizeLinear'
        and node.input[0] in initializers
        and initializers[node.input[0]].data_type == onnx.TensorProto.INT8
    }
    conv_weights = {node.name: node.input[1] for node in graph.node if node.op_type == 'Conv'}
    floats = ('/rtm_', '/stem.0/', '/cls_convs.', '/reg_convs.')
    network = [name for name in conv_weights if not any(part in name for part in floats)]
    assert all(conv_weights[name] in int8_weights for name in network)
    predictions = [name for name in conv_weights if any(part in name for part in floats)]
    assert predictions and not any(conv_weights[name] in int8_weights for name in predictions)
    assert all(
        initializers[conv_weights[name]].data_type == onnx.TensorProto.FLOAT for name in predictions
    )


def test_int8_graph_gives_detections_in_the_float_format(shapes_model, int8_export):
    """The INT8 and FP32 graphs behind BackendDetector give the same fields on the original
    image (how close they are is measured on a trained model in test_learning.py: perturbed
    weights magnify int8 rounding)."""
    work_dir, files = int8_export
    deploy = str(DEPLOY / 'detection_onnxruntime-int8_static-640x640.py')
    int8 = BackendDetector(deploy, shapes_model[0], files)(shapes_model[2])
    fp32 = BackendDetector(deploy, shapes_model[0], [str(work_dir / 'end2end_fp32.onnx')])(
        shapes_model[2]
    )
    assert len(int8) > 0 and set(int8.keys()) == set(fp32.keys())
    for key in fp32.keys():
        assert int8[key].dtype == fp32[key].dtype and int8[key].shape[1:] == fp32[key].shape[1:]
    assert not np.array_equal(int8.scores.numpy()[:5], fp32.scores.numpy()[:5])  # it is int8


@pytest.mark.openvino
def test_openvino_int8_ir_runs_the_qdq_graph_in_int8(shapes_model, tmp_path):
    import openvino

    deploy = str(DEPLOY / 'detection_openvino-int8_static-640x640.py')
    files = export_model(
        deploy,
        shapes_model[0],
        shapes_model[1],
        shapes_model[2],
        str(tmp_path),
        dump_info=False,
        calib_images=4,
    )
    assert files == [str(tmp_path / 'end2end.xml')]
    ops = [op.get_type_name() for op in openvino.Core().read_model(files[0]).get_ops()]
    # each QuantizeLinear/DequantizeLinear pair became a FakeQuantize, which the CPU plugin
    # runs as int8
    assert ops.count('FakeQuantize') > ops.count('Convolution') > 0
    result = BackendDetector(deploy, shapes_model[0], files)(shapes_model[2])
    assert len(result) > 0 and result.bboxes.shape[1] == 4


def test_fold_initializer_identities_keeps_the_graph_equal():
    weight = numpy_helper.from_array(np.ones((2, 1, 1, 1), np.float32), 'w')
    bias = numpy_helper.from_array(np.array([1.0, -1.0], np.float32), 'b')
    graph = helper.make_graph(
        [
            helper.make_node('Identity', ['b'], ['b_passed'], name='pass_bias'),
            helper.make_node('Conv', ['x', 'w', 'b_passed'], ['y'], name='conv'),
        ],
        'g',
        [helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1, 2, 2, 2])],
        [weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    assert fold_initializer_identities(model) == 1
    assert [node.op_type for node in model.graph.node] == ['Conv']
    assert list(model.graph.node[0].input) == ['x', 'w', 'b']
    onnx.checker.check_model(model)


def test_bad_calibration_input_is_named_before_the_export(shapes_model, tmp_path):
    cfg = Config.fromfile(shapes_model[0])
    with pytest.raises(KeyError, match="'calib_loader'.*val_dataloader"):
        calibration_images(cfg, 'calib_loader')
    with pytest.raises(ValueError, match='calib_images=0'):
        calibration_images(cfg, num_images=0)
    assert len(calibration_images(cfg, num_images=5)) == 5
    assert len(calibration_images(cfg, num_images=500)) == 12  # all there are

    missing = tmp_path / 'nowhere'
    use_data_root(cfg, f'{missing}/')
    moved = str(tmp_path / 'moved.py')
    cfg.dump(moved)
    with pytest.raises(FileNotFoundError, match=r'calibration set.*nowhere.*instances_val\.json'):
        export_model(
            str(DEPLOY / 'detection_onnxruntime-int8_static-640x640.py'),
            moved,
            shapes_model[1],
            shapes_model[2],
            str(tmp_path / 'out'),
            dump_info=False,
        )
    assert not (tmp_path / 'out').exists()  # nothing exported
