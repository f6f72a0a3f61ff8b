"""Inference benchmark: end-to-end latency (image in, detections out) side by side in one run.

Rows, all with the same weights and the same image:

- ``pytorch``: our model in eager PyTorch (``inference_detector``: pipeline, network, decoding,
  NMS);
- ``ours-ort``: our model exported with ``--deploy-cfg`` and run by ONNX Runtime behind the same
  pipeline (:class:`rtmdet_plus.deploy.BackendDetector`);
- ``sdk``: that export run by the MMDeploy SDK (its own C++ pipeline);
- ``mmdet-ort``: mmdet 3.3.0's model of the same config, exported by MMDeploy's own rewriters
  with the same deploy config and run like ``ours-ort``.

For the two ONNX Runtime rows the graph alone is also timed (``graph``), and a graph of the
network without decoding and NMS (``network``); ``post share`` = (graph - network) / network is
what post-processing adds. Rounds alternate over the rows (``--repeat`` rounds after a warm-up),
medians are reported, ratios are against ``mmdet-ort`` (< 1 means faster than mmdeploy's export
of mmdet's model).

Without ``--checkpoint`` the weights are :func:`toy_models.toy_detector_weights`
(image-dependent boxes; ``--cls-bias`` sets how many (prior, class) pairs pass the score
threshold, i.e. how much work NMS has: a trained COCO model lets only a small share through).

    python tools/analysis_tools/benchmark_inference.py [--model tiny] [--input 640]
        [--image IMG] [--repeat 20] [--checkpoint CKPT] [--work-dir DIR]

``--peers`` prints instead the CPU table against Ultralytics YOLO11 (``cpu_peers.py``: YOLO11n/s
from ``--peers-dir``, RTMDet tiny and s network-only and end-to-end, ONNX Runtime and OpenVINO,
FP32 and INT8 (all quantized the same way, ``--no-int8`` leaves INT8 out), ``--threads``, ratios
to YOLO11n FP32 in ONNX Runtime):

    python tools/analysis_tools/benchmark_inference.py --peers [--threads 2] [--repeat 15]
"""

import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

CONFIGS = {
    'tiny': 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    's': 'rtmdet/rtmdet_s_8xb32-300e_coco.py',
    'm': 'rtmdet/rtmdet_m_8xb32-300e_coco.py',
    'l': 'rtmdet/rtmdet_l_8xb32-300e_coco.py',
}
DEFAULT_DEPLOY = osp.join(REPO, 'configs', 'deploy', 'detection_onnxruntime_static.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', default='tiny', choices=sorted(CONFIGS))
    parser.add_argument('--input', type=int, default=640, help='test pipeline size (square)')
    parser.add_argument('--image', default=None, help='default: a generated 480x640 picture')
    parser.add_argument('--checkpoint', default=None, help='default: perturbed weights')
    parser.add_argument(
        '--cls-bias',
        type=float,
        default=-6.0,
        help='class-logit bias of the perturbed weights: how many (prior, class) '
        'pairs pass the 0.001 score threshold, so how much work NMS has',
    )
    parser.add_argument('--deploy-cfg', default=DEFAULT_DEPLOY)
    parser.add_argument('--repeat', type=int, default=20, help='timed rounds')
    parser.add_argument('--work-dir', default=None, help='default: a temporary folder')
    parser.add_argument(
        '--peers',
        action='store_true',
        help='the CPU table against YOLO11 (ONNX Runtime and OpenVINO) instead',
    )
    parser.add_argument(
        '--peers-dir',
        default=osp.join(osp.dirname(REPO), 'shared', 'peers'),
        help='folder of yolo11n.onnx / yolo11s.onnx (rows skipped when absent)',
    )
    parser.add_argument('--threads', type=int, default=2, help='CPU threads for --peers')
    parser.add_argument(
        '--sizes',
        nargs='+',
        default=['tiny', 's'],
        choices=sorted(CONFIGS),
        help='RTMDet sizes for --peers',
    )
    parser.add_argument('--no-int8', action='store_true', help='--peers: FP32 columns only')
    parser.add_argument(
        '--calib-images',
        type=int,
        default=16,
        help='--peers: generated calibration images for the INT8 graphs',
    )
    return parser.parse_args(argv)


def prepare(args, work_dir: str):
    """Model configs, checkpoint, exports and the callables to time, per row."""
    import mmcv
    import torch

    from rtmdet_plus.apis import inference_detector, init_detector
    from rtmdet_plus.deploy import BackendDetector, export_model
    from tools.analysis_tools.benchmarking import network_onnx, ort_session
    from tools.analysis_tools.mmdet_oracle import MMDET_CONFIGS
    from tools.analysis_tools.toy_models import (
        small_input_config,
        toy_model_files,
        write_test_image,
    )

    ours_dir, mmdet_dir = osp.join(work_dir, 'ours'), osp.join(work_dir, 'mmdet')
    os.makedirs(ours_dir, exist_ok=True)
    os.makedirs(mmdet_dir, exist_ok=True)
    ours_cfg, checkpoint = toy_model_files(
        osp.join(REPO, 'configs', CONFIGS[args.model]),
        ours_dir,
        size=args.input,
        cls_bias=args.cls_bias,
    )
    if args.checkpoint:
        checkpoint = args.checkpoint
    mmdet_cfg = osp.join(mmdet_dir, 'model.py')
    small_input_config(osp.join(MMDET_CONFIGS, CONFIGS[args.model]), args.input, out_file=mmdet_cfg)
    image_path = args.image or write_test_image(osp.join(work_dir, 'image.png'), size=(480, 640))
    image = mmcv.imread(image_path)
    rows, graphs = {}, {}
    model = init_detector(ours_cfg, checkpoint, device='cpu')
    rows['pytorch'] = lambda: inference_detector(model, image)
    for name, cfg, folder in (
        ('ours-ort', ours_cfg, ours_dir),
        ('mmdet-ort', mmdet_cfg, mmdet_dir),
    ):
        files = export_model(
            args.deploy_cfg, cfg, checkpoint, image_path, folder, dump_info=name == 'ours-ort'
        )
        detector = BackendDetector(args.deploy_cfg, cfg, files)
        rows[name] = (lambda d: lambda: d(image))(detector)
        _, inputs = detector.preprocess(image)
        feed = {detector.model.wrapper.sess.get_inputs()[0].name: inputs.numpy()}
        end2end, network = (
            ort_session(files[0]),
            ort_session(network_onnx(model, inputs.shape[-1], osp.join(folder, 'network.onnx'))),
        )
        graphs[name] = dict(
            graph=(lambda s, f: lambda: s.run(None, f))(end2end, feed),
            network=(lambda s, f: lambda: s.run(None, f))(network, feed),
        )
    from mmdeploy_runtime import Detector

    sdk = Detector(model_path=ours_dir, device_name='cpu', device_id=0)
    rows['sdk'] = lambda: sdk(image)
    torch.set_grad_enabled(False)
    return rows, graphs


def measure(calls: dict, repeat: int) -> dict:
    """Median seconds per call, rounds alternating over the calls after one warm-up each, with
    a 50 ms pause before each call (ONNX Runtime's thread pools spin for a while after a run:
    on a small CPU the previous session's spinning threads would slow the next call down)."""
    times = {name: [] for name in calls}
    for name, call in calls.items():
        call()
    for _ in range(repeat):
        for name, call in calls.items():
            time.sleep(0.05)  # the previous call's thread pool stops spinning
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report(args, rows: dict, graphs: dict) -> str:
    lines = [
        f'RTMDet-{args.model}, {args.input}x{args.input} input, median of {args.repeat} '
        f'rounds, CPU ({os.cpu_count()} cores)',
        '',
        '| run | end-to-end (ms) | vs mmdet-ort | graph (ms) | network (ms) | post share |',
        '|---|---|---|---|---|---|',
    ]
    base = rows['mmdet-ort']
    for name in ('pytorch', 'ours-ort', 'sdk', 'mmdet-ort'):
        graph = graphs.get(name)
        extra = '| - | - | - |'
        if graph:
            share = (graph['graph'] - graph['network']) / graph['network']
            extra = f"| {graph['graph'] * 1e3:.1f} | {graph['network'] * 1e3:.1f} | {share:.1%} |"
        lines.append(f'| {name} | {rows[name] * 1e3:.1f} | {rows[name] / base:.2f} {extra}')
    return '\n'.join(lines)


def peers_main(args, work_dir: str) -> int:
    """The YOLO11 side-by-side table (``--peers``)."""
    import torch

    from tools.analysis_tools.cpu_peers import (
        int8_graphs,
        peer_calls,
        peer_graphs,
        peer_table,
        rtmdet_graphs,
    )

    torch.set_num_threads(args.threads)
    graphs = peer_graphs(args.peers_dir)
    for size in args.sizes:
        graphs.update(
            rtmdet_graphs(size, osp.join(REPO, 'configs', CONFIGS[size]), work_dir, args.deploy_cfg)
        )
    int8 = None if args.no_int8 else int8_graphs(graphs, work_dir, args.calib_images)
    medians = measure(peer_calls(graphs, args.threads, work_dir, int8), args.repeat)
    print(peer_table(medians, list(graphs), args.threads, args.repeat))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    import rtmdet_plus.deploy  # noqa: F401  (rewriters; applies rtmdet_plus.deploy.patches)

    work_dir = args.work_dir or tempfile.mkdtemp(prefix='benchmark_inference_')
    if args.peers:
        return peers_main(args, work_dir)
    rows, graphs = prepare(args, work_dir)
    calls = dict(rows)
    for name, graph in graphs.items():
        calls.update({f'{name}/{part}': call for part, call in graph.items()})
    medians = measure(calls, args.repeat)
    timed_graphs = {
        name: {part: medians[f'{name}/{part}'] for part in graph} for name, graph in graphs.items()
    }
    print(report(args, {name: medians[name] for name in rows}, timed_graphs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
