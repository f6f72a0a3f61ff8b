"""INT8 post-training quantization of an exported model, the post-processing kept in float.

:func:`quantize_model` rewrites ``end2end.onnx`` as a static QDQ graph with ONNX Runtime's
quantizer: weights int8 per output channel, activations uint8 with ranges calibrated on images of
the model config's own dataloader (``val_dataloader`` unless told), run through the model's test
pipeline and data preprocessor exactly as at inference. Only the network is quantized (nodes in
the ``backbone``, ``neck`` and ``bbox_head`` modules), and in it not the last convolutions that
give the class scores, box distances and mask kernels: decoding, NMS and mask assembly stay in
float. The float graph is kept beside it as ``end2end_fp32.onnx``.

ONNX Runtime runs the QDQ graph with its int8 kernels; OpenVINO converts the same graph (its
QuantizeLinear / DequantizeLinear pairs become FakeQuantize) into an int8 IR. A deploy config asks
for it with a ``quantization`` dict (``configs/deploy/*-int8_static-*.py``)::

    quantization = dict(calib_dataloader='val_dataloader', calib_images=100,
                        float_from=['rtm_cls', 'rtm_reg', 'rtm_obj', 'rtm_kernel', 'rtm_ang'],
                        keep_float=['stem.0', 'cls_convs', 'reg_convs', 'kernel_convs'])
"""

import contextlib
import os
import os.path as osp
from typing import Iterable, Iterator, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from .checks import check_custom_ops, check_file

NETWORK_SCOPES = ('backbone', 'neck', 'bbox_head')
# the head's prediction convolutions (class scores, box distances, objectness, mask kernels,
# angles): they and all after them stay in float
PREDICTION_MODULES = ('rtm_cls', 'rtm_reg', 'rtm_obj', 'rtm_kernel', 'rtm_ang')
DEFAULT_CALIB_IMAGES = 100
FLOAT_SUFFIX = '_fp32'
QDQ_OPSET = 13


def _default_opset(model) -> int:
    return next(entry.version for entry in model.opset_import if entry.domain in ('', 'ai.onnx'))


def quantization_options(deploy_cfg: Config) -> Optional[dict]:
    """The deploy config's ``quantization`` dict with defaults filled in, or None (float)."""
    options = deploy_cfg.get('quantization')
    if options is None:
        return None
    return dict(
        calib_dataloader=options.get('calib_dataloader', 'val_dataloader'),
        calib_images=int(options.get('calib_images', DEFAULT_CALIB_IMAGES)),
        float_from=tuple(options.get('float_from', PREDICTION_MODULES)),
        keep_float=tuple(options.get('keep_float', ())),
        per_channel=bool(options.get('per_channel', True)),
        reduce_range=bool(options.get('reduce_range', False)),
    )


def float_onnx_file(onnx_file: str) -> str:
    """``end2end.onnx`` -> ``end2end_fp32.onnx``: where the float graph of a quantized one is."""
    stem, ext = osp.splitext(onnx_file)
    return stem + FLOAT_SUFFIX + ext


def calibration_images(
    model_cfg: Config, dataloader: str = 'val_dataloader', num_images: int = DEFAULT_CALIB_IMAGES
) -> List[str]:
    """Paths of ``num_images`` images spread evenly over ``model_cfg[dataloader]``'s dataset
    (all of them when it has fewer)."""
    from mmengine.registry import DATASETS, init_default_scope

    if num_images < 1:
        raise ValueError(f'calib_images={num_images}: give at least one calibration image')
    loader = model_cfg.get(dataloader)
    if not isinstance(loader, dict) or 'dataset' not in loader:
        available = sorted(
            key
            for key, value in model_cfg.items()
            if key.endswith('_dataloader') and isinstance(value, dict)
        )
        raise KeyError(
            f'calibration dataloader {dataloader!r} is not in the model config '
            f'(it has {available}); give one of those (--calib-dataloader)'
        )
    init_default_scope(model_cfg.get('default_scope', 'rtmdet_plus'))
    try:
        dataset = DATASETS.build(loader['dataset'])
    except (FileNotFoundError, OSError) as error:
        raise FileNotFoundError(
            f'the calibration set ({dataloader}.dataset) cannot be read: '
            f'{str(error).rstrip(".")}; set {dataloader}.dataset.data_root in the model config '
            'to where the images the model was trained for are'
        ) from error
    if len(dataset) == 0:
        raise ValueError(f'the calibration set ({dataloader}.dataset) is empty')
    picks = np.unique(
        np.linspace(0, len(dataset) - 1, min(num_images, len(dataset))).round().astype(int)
    )
    paths = [dataset.get_data_info(int(index))['img_path'] for index in picks]
    for path in paths:
        check_file(path, f'calibration image ({dataloader})')
    return paths


def calibration_inputs(
    deploy_cfg: Config, model_cfg: Config, images: Sequence[str]
) -> Iterator[np.ndarray]:
    """(1, 3, H, W) float32 network inputs of ``images``, as :class:`BackendDetector` makes
    them (test pipeline, deploy input shape, data preprocessor)."""
    # optional package (mmdeploy), looked up when calibrating
    from mmdeploy.apis import build_task_processor
    from mmdeploy.utils import get_input_shape

    task_processor = build_task_processor(model_cfg, deploy_cfg, 'cpu')
    preprocessor = task_processor.build_data_preprocessor()
    input_shape = get_input_shape(deploy_cfg)
    for path in images:
        _, inputs = task_processor.create_input(path, input_shape, preprocessor)
        yield inputs.detach().cpu().numpy().astype(np.float32)


def nodes_to_quantize(
    model,
    float_from: Sequence[str] = PREDICTION_MODULES,
    keep_float: Sequence[str] = (),
    scopes: Optional[Sequence[str]] = NETWORK_SCOPES,
) -> List[str]:
    """Names of the nodes of ``model`` (an ``onnx.ModelProto``) to quantize: those in the module
    scopes ``scopes`` (a ``/<scope>/`` or ``/<scope>.`` part in the node name; None: every
    node), less the nodes of the modules named in ``float_from`` and every node they feed,
    directly or not (decoding, NMS), and less the nodes of the modules named in
    ``keep_float`` (those alone)."""

    def in_module(name: str, modules: Sequence[str]) -> bool:
        return any(f'/{module}/' in name or f'/{module}.' in name for module in modules)

    consumers = {}
    for node in model.graph.node:
        for tensor in node.input:
            consumers.setdefault(tensor, []).append(node)
    downstream = set()
    stack = [node for node in model.graph.node if in_module(node.name, float_from)]
    while stack:
        node = stack.pop()
        if node.name in downstream:
            continue
        downstream.add(node.name)
        stack.extend(consumer for tensor in node.output for consumer in consumers.get(tensor, ()))
    return [
        node.name
        for node in model.graph.node
        if node.name not in downstream
        and not in_module(node.name, keep_float)
        and (scopes is None or in_module(node.name, scopes))
    ]


def fold_initializer_identities(model) -> int:
    """Drop the ``Identity`` nodes that only pass an initializer on (the TorchScript exporter
    writes one per convolution bias), pointing their consumers at the initializer itself, so
    that the quantizer sees biases as constants. Edits ``model`` (an ``onnx.ModelProto``) in
    place; returns how many were dropped."""
    graph = model.graph
    initializers = {tensor.name for tensor in graph.initializer}
    graph_outputs = {output.name for output in graph.output}
    renamed = {
        node.output[0]: node.input[0]
        for node in graph.node
        if node.op_type == 'Identity'
        and node.input[0] in initializers
        and node.output[0] not in graph_outputs
    }
    kept = [
        node
        for node in graph.node
        if not (node.op_type == 'Identity' and node.output[0] in renamed)
    ]
    for node in kept:
        for index, name in enumerate(node.input):
            if name in renamed:
                node.input[index] = renamed[name]
    del graph.node[:]
    graph.node.extend(kept)
    return len(renamed)


@contextlib.contextmanager
def _calibration_with_custom_ops(library: str):
    """While quantizing, ONNX Runtime's calibration sessions load MMDeploy's op library
    (RTMDet-R's ``mmdeploy::NMSRotated``): ``quantize_static`` builds its sessions from
    ``onnxruntime.SessionOptions()`` and takes no options of its own."""
    import onnxruntime  # optional package (pip install onnxruntime)

    if not library:
        yield
        return
    plain = onnxruntime.SessionOptions

    def with_library():
        options = plain()
        options.register_custom_ops_library(library)
        return options

    onnxruntime.SessionOptions = with_library
    try:
        yield
    finally:
        onnxruntime.SessionOptions = plain


def quantize_onnx(
    onnx_file: str,
    out_file: str,
    inputs: Iterable[np.ndarray],
    float_from: Sequence[str] = PREDICTION_MODULES,
    keep_float: Sequence[str] = (),
    per_channel: bool = True,
    reduce_range: bool = False,
    scopes: Optional[Sequence[str]] = NETWORK_SCOPES,
) -> str:
    """Static QDQ quantization of ``onnx_file`` into ``out_file`` with ranges from ``inputs``
    (min-max over all of them), of the nodes :func:`nodes_to_quantize` picks. Returns
    ``out_file``."""
    # optional packages (onnx, onnxruntime.quantization), looked up when quantizing
    import onnx
    import onnx.version_converter

    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            QuantFormat,
            QuantType,
            quantize_static,
        )
    except ImportError as error:
        raise ImportError(
            f'INT8 quantization needs onnxruntime.quantization ({error}); '
            'pip install onnxruntime ml_dtypes (see requirements/runtime.txt)'
        ) from error
    check_file(onnx_file, 'ONNX file to quantize', 'export the float model first')
    model = onnx.load(onnx_file)
    if _default_opset(model) < QDQ_OPSET:  # per-channel (axis) DequantizeLinear needs opset 13
        model = onnx.version_converter.convert_version(model, QDQ_OPSET)
    fold_initializer_identities(model)
    input_name = model.graph.input[0].name
    arrays = iter(inputs)

    class Reader(CalibrationDataReader):  # read once, as quantize_static does
        def get_next(self) -> Optional[dict]:
            array = next(arrays, None)
            return None if array is None else {input_name: array}

    with _calibration_with_custom_ops(check_custom_ops(onnx_file)):
        quantize_static(
            model,
            out_file,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            reduce_range=reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=nodes_to_quantize(model, float_from, keep_float, scopes),
        )
    return out_file


def calibration_set(
    deploy_cfg: Config,
    model_cfg: Config,
    calib_dataloader: Optional[str] = None,
    calib_images: Optional[int] = None,
) -> Optional[List[str]]:
    """The calibration images an INT8 deploy config asks for (``calib_dataloader`` /
    ``calib_images`` override its ``quantization`` dict), checked to exist; None for a float
    config."""
    options = quantization_options(deploy_cfg)
    if options is None:
        return None
    return calibration_images(
        model_cfg,
        calib_dataloader or options['calib_dataloader'],
        options['calib_images'] if calib_images is None else calib_images,
    )


def quantize_model(
    onnx_file: str, deploy_cfg: Config, model_cfg: Config, images: Sequence[str]
) -> str:
    """Quantize the exported ``onnx_file`` in place as the deploy config's ``quantization``
    says, calibrated on ``images``: the float graph moves to ``end2end_fp32.onnx``, the QDQ
    graph takes its name. Returns ``onnx_file``."""
    options = quantization_options(deploy_cfg)
    if options is None:
        raise ValueError('the deploy config has no `quantization` dict: use an *-int8_* config')
    float_file = float_onnx_file(onnx_file)
    os.replace(onnx_file, float_file)
    quantize_onnx(
        float_file,
        onnx_file,
        calibration_inputs(deploy_cfg, model_cfg, images),
        options['float_from'],
        options['keep_float'],
        options['per_channel'],
        options['reduce_range'],
    )
    return onnx_file
