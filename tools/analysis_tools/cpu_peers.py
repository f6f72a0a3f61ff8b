"""RTMDet against Ultralytics YOLO11 on the CPU, side by side in one run (``benchmark_inference.py
--peers``): graph latency at batch 1, 640x640, in ONNX Runtime and OpenVINO, FP32 and INT8, with a
fixed thread count, medians of interleaved rounds, ratios to YOLO11n's FP32 network in ONNX Runtime.

Rows:
- ``yolo11n`` / ``yolo11s``: the peers' ONNX graphs (``--peers-dir``, default ``../shared/peers``;
  network only: YOLO11's graph ends before NMS); skipped, with the reason, when absent;
- ``rtmdet-<size> network``: backbone, neck and head convolutions (what YOLO11's graph holds);
- ``rtmdet-<size> e2e``: our export with ``detection_onnxruntime_static.py`` (decoding and NMS in
  the graph): what a user ships. Our weights are perturbed (``toy_models``), the peers' random.

OpenVINO runs the IR of the same ONNX file as deployed (``convert_to_ir``, ``OpenVINOWrapper``:
float32, the CPU plugin in its default latency mode with ``INFERENCE_NUM_THREADS``).

INT8: every graph, YOLO11's too, quantized the same way (``rtmdet_plus.deploy.quantization``:
ONNX Runtime static QDQ, int8 weights per channel, uint8 activations) with ranges from the same
calibration images (``toy_models.calibration_images``, 640x640), each through its model's own
input scaling, as the INT8 deploy configs say: the first convolution, the head and all after it
(RTMDet: decoding and NMS; YOLO11: DFL and box decoding) stay in float.
OpenVINO INT8 runs the IR of that QDQ graph.
"""

import os
import os.path as osp
from typing import Callable, Dict, List, Optional

import numpy as np

# published COCO val box AP (RTMDet README, Ultralytics' YOLO11 table)
PUBLISHED_AP = {'yolo11n': 39.5, 'yolo11s': 47.0, 'rtmdet-tiny': 41.1, 'rtmdet-s': 44.6}
PEERS = ('yolo11n', 'yolo11s')
# YOLO11's prediction convolutions (box distribution, class scores per level) and its DFL
YOLO_PREDICTIONS = tuple(f'cv{branch}.{level}.2' for branch in (2, 3) for level in range(3)) + (
    'dfl',
)
# kept in float as the INT8 deploy configs do for RTMDet: the first convolution and the head
RTMDET_KEEP_FLOAT = ('stem.0', 'cls_convs', 'reg_convs')
YOLO_KEEP_FLOAT = ('model.0', 'model.23')
# RTMDet's data preprocessor (BGR in, no channel swap)
RTMDET_MEAN = np.array([103.53, 116.28, 123.675], np.float32).reshape(1, 3, 1, 1)
RTMDET_STD = np.array([57.375, 57.12, 58.395], np.float32).reshape(1, 3, 1, 1)


def ort_runner(path: str, threads: int) -> Callable[[np.ndarray], list]:
    """ONNX Runtime of ``path`` on ``threads`` CPU threads; returns ``run(input)``."""
    from tools.analysis_tools.benchmarking import ort_session

    session = ort_session(path, threads)
    name = session.get_inputs()[0].name
    return lambda array: session.run(None, {name: array})


def openvino_runner(path: str, threads: int, xml: str) -> Callable[[np.ndarray], list]:
    """OpenVINO of the ONNX file ``path`` on ``threads`` threads, as deployed: the IR written by
    ``convert_to_ir`` to ``xml``, run by ``OpenVINOWrapper`` (float32); returns ``run(input)``."""
    import torch

    from rtmdet_plus.deploy.openvino import OpenVINOWrapper, convert_to_ir

    convert_to_ir(path, xml)
    wrapper = OpenVINOWrapper(xml, num_threads=threads)
    name = wrapper.compiled.inputs[0].get_any_name()
    return lambda array: wrapper({name: torch.from_numpy(array)})


def peer_graphs(peers_dir: str) -> Dict[str, str]:
    """The YOLO11 ONNX files present in ``peers_dir`` (name -> path); prints what is missing."""
    found = {}
    for name in PEERS:
        path = osp.join(peers_dir, f'{name}.onnx')
        if osp.isfile(path):
            found[name] = path
        else:
            print(
                f'skipped {name}: {path} not found (the YOLO11 ONNX graphs sit in the project\'s '
                'shared/peers; give --peers-dir)'
            )
    return found


def rtmdet_graphs(size: str, config: str, work_dir: str, deploy_cfg: str) -> Dict[str, str]:
    """``rtmdet-<size> network`` and ``rtmdet-<size> e2e`` ONNX files of ``config`` at 640."""
    from rtmdet_plus.apis import init_detector
    from rtmdet_plus.deploy import export_model
    from tools.analysis_tools.benchmarking import network_onnx
    from tools.analysis_tools.toy_models import toy_model_files, write_test_image

    folder = osp.join(work_dir, f'rtmdet_{size}')
    os.makedirs(folder, exist_ok=True)
    cfg, checkpoint = toy_model_files(config, folder, size=640, cls_bias=-6.0)
    image = write_test_image(osp.join(folder, 'image.png'), size=(480, 640))
    e2e = export_model(deploy_cfg, cfg, checkpoint, image, folder, dump_info=False)[0]
    model = init_detector(cfg, checkpoint, device='cpu')
    network = network_onnx(model, 640, osp.join(folder, 'network.onnx'))
    return {f'rtmdet-{size} network': network, f'rtmdet-{size} e2e': e2e}


def int8_graphs(graphs: Dict[str, str], work_dir: str, count: int = 16) -> Dict[str, str]:
    """``row`` -> the INT8 QDQ graph of ``graphs[row]``, calibrated on the same ``count``
    generated 640x640 images for every row (RTMDet: mean/std of BGR; YOLO11: RGB / 255)."""
    from rtmdet_plus.deploy.quantization import quantize_onnx
    from tools.analysis_tools.toy_models import calibration_images

    bgr = calibration_images(640, count, seed=3).numpy()[:, None]  # (count, 1, 3, H, W)
    folder = osp.join(work_dir, 'int8')
    os.makedirs(folder, exist_ok=True)
    quantized = {}
    for row, path in graphs.items():
        out = osp.join(folder, row.replace(' ', '_') + '.onnx')
        if row.startswith('yolo'):
            inputs = (image[:, ::-1] / 255.0 for image in bgr)
            quantize_onnx(
                path,
                out,
                (x.astype(np.float32) for x in inputs),
                float_from=YOLO_PREDICTIONS,
                keep_float=YOLO_KEEP_FLOAT,
                scopes=None,
            )
        else:
            inputs = ((image - RTMDET_MEAN) / RTMDET_STD for image in bgr)
            quantize_onnx(
                path, out, (x.astype(np.float32) for x in inputs), keep_float=RTMDET_KEEP_FLOAT
            )
        quantized[row] = out
    return quantized


def peer_calls(
    graphs: Dict[str, str], threads: int, work_dir: str, int8: Optional[Dict[str, str]] = None
) -> Dict[str, Callable[[], list]]:
    """``'<row>/<runtime>'`` (runtime ``ort``, ``openvino``, and with ``int8`` ``ort-int8``,
    ``openvino-int8``) -> a call on a fixed random 1x3x640x640 input (the OpenVINO IRs are
    written under ``work_dir/openvino``)."""
    array = np.random.default_rng(0).uniform(-2, 2, (1, 3, 640, 640)).astype(np.float32)
    os.makedirs(osp.join(work_dir, 'openvino'), exist_ok=True)
    calls = {}
    for suffix, files in (('', graphs), ('-int8', int8 or {})):
        for row, path in files.items():
            xml = osp.join(work_dir, 'openvino', row.replace(' ', '_') + suffix + '.xml')
            calls[f'{row}/ort{suffix}'] = (lambda r: lambda: r(array))(ort_runner(path, threads))
            calls[f'{row}/openvino{suffix}'] = (lambda r: lambda: r(array))(
                openvino_runner(path, threads, xml)
            )
    return calls


RUNTIMES = {
    'ort': 'ONNX Runtime FP32',
    'openvino': 'OpenVINO FP32',
    'ort-int8': 'ONNX Runtime INT8',
    'openvino-int8': 'OpenVINO INT8',
}


def peer_table(
    medians: Dict[str, float],
    rows: List[str],
    threads: int,
    repeat: int,
    base: Optional[str] = 'yolo11n',
) -> str:
    """Markdown table of ``medians`` (seconds; keys ``<row>/<runtime>``), ratios to ``base``'s
    FP32 network in ONNX Runtime; a runtime column appears when some row has it."""
    reference = medians.get(f'{base}/ort')
    runtimes = [key for key in RUNTIMES if any(f'{row}/{key}' in medians for row in rows)]
    lines = [
        f'640x640, batch 1, {threads} threads, medians of {repeat} interleaved rounds; '
        f'ratios to {base} FP32 network in ONNX Runtime'
        if reference
        else f'640x640, batch 1, {threads} threads, medians of {repeat} rounds (no YOLO11 graphs: '
        'no ratios)',
        '',
        '| model | COCO AP (published) | '
        + ' | '.join(f'{RUNTIMES[key]} (ms)' for key in runtimes)
        + ' |',
        '|---|---|' + '---|' * len(runtimes),
    ]

    def cell(key):
        if key not in medians:
            return '-'
        ms = medians[key] * 1e3
        return f'{ms:.1f} ({medians[key] / reference:.2f})' if reference else f'{ms:.1f}'

    for row in rows:
        ap = PUBLISHED_AP.get(row.split(' ')[0], '')
        lines.append(
            f'| {row} | {ap} | ' + ' | '.join(cell(f'{row}/{key}') for key in runtimes) + ' |'
        )
    return '\n'.join(lines)
