"""Training-step time of RTMDet-R (rotated) models, at several input sizes side by side.

Each setting runs in a fresh subprocess (so peak memory is its own) on a synthetic batch of
random images with rotated boxes (``--objects`` per image, 15 DOTA classes). A step is forward +
loss + backward + AdamW update of the model built from the config (SyncBN as BN, no pretrained
weights). Printed per setting: time per step, the assigner's share of it, and the step's peak
memory (CPU: the heap in use, as tools/analysis_tools/benchmark_train.py measures it; CUDA:
max allocated).

    python tools/analysis_tools/benchmark_rotated_train.py            # tiny, batch 2, 1024 and 256
    python tools/analysis_tools/benchmark_rotated_train.py --sizes tiny s --input 1024 --steps 3
    python tools/analysis_tools/benchmark_rotated_train.py --input 1024 --objects 100 500 1000
"""

import argparse
import itertools
import json
import os
import sys

# the repository root, so that the helpers import as tools.analysis_tools.*
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tools.analysis_tools.benchmarking import AssignerTimer, parameter_mib, timed_calls
from tools.analysis_tools.benchmarking import run_worker as _run_worker

CONFIGS = {
    size: f'rotated_rtmdet/rotated_rtmdet_{size}-3x-dota.py' for size in ('tiny', 's', 'm', 'l')
}


def rotated_batch(batch: int, size: int, objects: int, seed: int = 2):
    """Synthetic inputs and samples whose ground truth is ``RotatedBoxes`` in le90 (the
    horizontal synthetic boxes given random angles in [-pi/2, pi/2))."""
    import math

    import torch

    from rtmdet_plus.structures.bbox import RotatedBoxes, hbox2rbox
    from tools.analysis_tools.mmdet_oracle import synthetic_batch

    data = synthetic_batch(batch, size, objects, num_classes=15, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    for sample in data['data_samples']:
        boxes = hbox2rbox(sample.gt_instances.bboxes)
        boxes[:, 4] = (torch.rand(len(boxes), generator=generator) - 0.5) * math.pi
        sample.gt_instances.bboxes = RotatedBoxes(boxes)
    return data


def measure(size: str, batch: int, input_size: int, objects: int, steps: int, device: str) -> dict:
    """In a worker process: build the model, time ``steps`` training steps after one warm-up
    (:func:`benchmarking.timed_calls`)."""
    import torch

    from tools.analysis_tools.mmdet_oracle import build_ours

    torch.manual_seed(0)
    model = build_ours(CONFIGS[size])
    model.init_weights()
    model.to(device).train()
    data = rotated_batch(batch, input_size, objects)
    inputs = data['inputs'].to(device)
    samples = [s.to(device) for s in data['data_samples']]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    head = model.bbox_head
    assign_timer = AssignerTimer(head, device)

    def step():
        losses = model.loss(inputs, samples)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        optimizer.step()
        optimizer.zero_grad()  # mmengine's order: no gradients during the forward

    result = timed_calls(
        step, steps, device, on_start=assign_timer.start, on_stop=assign_timer.stop
    )
    return dict(
        step=result['seconds'],
        assign=assign_timer.seconds / steps,
        memory=result['memory'],
        threads=torch.get_num_threads(),
        param_mib=parameter_mib(model),
    )


def run_worker(args: list, device: str) -> dict:
    return _run_worker(__file__, args, device)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--sizes', nargs='+', default=['tiny'], choices=sorted(CONFIGS))
    parser.add_argument('--batch', nargs='+', type=int, default=[2])
    parser.add_argument(
        '--input',
        nargs='+',
        type=int,
        default=[1024, 256],
        help='square input sides (the DOTA configs train at 1024)',
    )
    parser.add_argument(
        '--objects',
        nargs='+',
        type=int,
        default=[20],
        help='rotated boxes per image (several: one row each, e.g. 100 500 1000)',
    )
    parser.add_argument('--steps', type=int, default=2, help='timed steps per setting')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--worker', nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        size, batch, input_size, objects, steps = args.worker
        print(
            json.dumps(
                measure(size, int(batch), int(input_size), int(objects), int(steps), args.device)
            )
        )
        return

    import torch

    print(
        f'# RTMDet-R training step (forward, loss, backward, AdamW); device {args.device}, '
        f'{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} '
        f'threads, {args.steps} timed steps'
    )
    header = (
        '| model | batch | input | objects | step (s) | per image (s) | assign (s) '
        '| peak mem (MiB) |'
    )
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    rows = []
    for size in args.sizes:
        for batch in args.batch:
            for input_size, objects in itertools.product(args.input, args.objects):
                result = run_worker(
                    [size, str(batch), str(input_size), str(objects), str(args.steps)], args.device
                )
                rows.append(
                    dict(model=size, batch=batch, input=input_size, objects=objects, **result)
                )
                print(
                    f"| {size} | {batch} | {input_size} | {objects} | {result['step']:.3f} "
                    f"| {result['step'] / batch:.3f} | {result['assign']:.3f} "
                    f"| {result['memory']:.0f} |",
                    flush=True,
                )
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
