"""Training-step benchmark: mmdet 3.3.0's RTMDet against rtmdet_plus, side by side in one run.

For every setting (model size, batch size, input size, objects per image) both models get the
same weights and the same synthetic batch; each is measured in a fresh subprocess so that peak
memory is its own, and the two alternate (mmdet, ours, mmdet, ours, ...) ``--repeats`` times so
that a slower phase of a shared machine hits both alike; the medians are compared. A step is
forward + loss + backward + AdamW update. Printed per setting: time per step, assignment time
(the assigner's calls within a step) and a step's peak memory above the memory in use before it
(CPU: the peak of the heap in use, glibc's count of bytes handed out, sampled after every aten op
of one more step; the resident set's growth is kept in the json as ``rss``; CUDA: max
allocated), with ratios mmdet / ours (> 1 means ours is faster or leaner).

    python tools/analysis_tools/benchmark_train.py                       # the full grid
    python tools/analysis_tools/benchmark_train.py --sizes tiny --batch 8 --input 320 --objects 100
"""

import argparse
import itertools
import json
import os
import sys

# the repository root, so that the helpers import as tools.analysis_tools.*
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tools.analysis_tools.benchmarking import (
    AssignerTimer,
    median_result,
    parameter_mib,
    timed_calls,
)
from tools.analysis_tools.benchmarking import run_worker as _run_worker

CONFIGS = {
    'tiny': 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    's': 'rtmdet/rtmdet_s_8xb32-300e_coco.py',
    'm': 'rtmdet/rtmdet_m_8xb32-300e_coco.py',
    'l': 'rtmdet/rtmdet_l_8xb32-300e_coco.py',
}


def measure(
    which: str, size: str, batch: int, input_size: int, objects: int, steps: int, device: str
) -> dict:
    """Run in a worker process: build one model, time ``steps`` training steps."""
    import torch

    from tools.analysis_tools.mmdet_oracle import (
        build_ours,
        build_reference,
        perturbed_state_dict,
        synthetic_batch,
    )

    torch.manual_seed(0)
    reference = build_reference(CONFIGS[size])
    weights = perturbed_state_dict(reference, seed=1, scale=0.01)
    implementation, *knobs = which.split('+')
    model = reference if implementation == 'mmdet' else build_ours(CONFIGS[size])
    if implementation != 'mmdet':
        del reference
    model.load_state_dict(weights, strict=True)
    model.to(device).train()
    if 'channels_last' in knobs:
        model.to(memory_format=torch.channels_last)
    autocast_dtype = torch.bfloat16 if device == 'cpu' else torch.float16
    data = synthetic_batch(batch, input_size, objects, seed=2)
    inputs = data['inputs'].to(device)
    samples = [s.to(device) for s in data['data_samples']]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    assign_timer = AssignerTimer(model.bbox_head, device)

    def step():
        with torch.autocast(device.split(':')[0], dtype=autocast_dtype, enabled='amp' in knobs):
            losses = model.loss(inputs, samples)
        total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
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
        rss=result.get('rss', result['memory']),
        param_mib=parameter_mib(model),
    )


def run_worker(args: list, device: str) -> dict:
    return _run_worker(__file__, args, device)


def compare_knobs(args) -> None:
    """Ours plain against ours with each speed knob, alternating, medians; ratios plain / knob."""
    variants = ['ours', 'ours+amp', 'ours+channels_last']
    header = (
        '| model | batch | input | objects | step plain (s) | step AMP (s) | AMP ratio '
        '| step channels-last (s) | channels-last ratio | peak mem plain / AMP (MiB) |'
    )
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    for size, batch, input_size, objects in itertools.product(
        args.sizes, args.batch, args.input, args.objects
    ):
        setting = [size, str(batch), str(input_size), str(objects), str(args.steps)]
        runs = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name in variants:
                runs[name].append(run_worker([name, *setting], args.device))
        plain, amp, channels_last = (median_result(runs[name]) for name in variants)
        print(
            f"| {size} | {batch} | {input_size} | {objects} "
            f"| {plain['step']:.3f} | {amp['step']:.3f} "
            f"| {plain['step'] / amp['step']:.2f}x | {channels_last['step']:.3f} "
            f"| {plain['step'] / channels_last['step']:.2f}x "
            f"| {plain['memory']:.0f} / {amp['memory']:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--sizes', nargs='+', default=['tiny', 's'], choices=sorted(CONFIGS))
    parser.add_argument('--batch', nargs='+', type=int, default=[8, 16])
    parser.add_argument('--input', nargs='+', type=int, default=[320, 640])
    parser.add_argument('--objects', nargs='+', type=int, default=[10, 100])
    parser.add_argument('--steps', type=int, default=3, help='timed steps per measurement')
    parser.add_argument(
        '--repeats',
        type=int,
        default=1,
        help='alternating measurements of each model per setting (medians are shown)',
    )
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--knobs',
        action='store_true',
        help='instead of mmdet vs ours: ours plain against ours with AMP '
        '(bfloat16 autocast on CPU, float16 on CUDA) and with channels-last',
    )
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--worker', nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        which, size, batch, input_size, objects, steps = args.worker
        result = measure(
            which, size, int(batch), int(input_size), int(objects), int(steps), args.device
        )
        print(json.dumps(result))
        return

    import torch

    threads = torch.get_num_threads()
    print(
        f'# RTMDet training step, mmdet 3.3.0 vs rtmdet_plus; device {args.device}, '
        f'{os.cpu_count()} CPUs, torch {torch.__version__}, {threads} threads, '
        f'{args.steps} timed steps, '
        f'median of {args.repeats} alternating runs per model'
    )
    if args.knobs:
        return compare_knobs(args)
    header = (
        '| model | batch | input | objects | step mmdet (s) | step ours (s) | step ratio '
        '| assign mmdet (s) | assign ours (s) | assign ratio | peak mem mmdet (MiB) '
        '| peak mem ours (MiB) | memory ratio |'
    )
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    rows = []
    for size, batch, input_size, objects in itertools.product(
        args.sizes, args.batch, args.input, args.objects
    ):
        setting = [size, str(batch), str(input_size), str(objects), str(args.steps)]
        runs = {'mmdet': [], 'ours': []}
        for _ in range(args.repeats):
            for which in runs:
                runs[which].append(run_worker([which, *setting], args.device))
        ref, ours = median_result(runs['mmdet']), median_result(runs['ours'])
        row = dict(model=size, batch=batch, input=input_size, objects=objects, mmdet=ref, ours=ours)
        rows.append(row)
        print(
            f"| {size} | {batch} | {input_size} | {objects} "
            f"| {ref['step']:.3f} | {ours['step']:.3f} "
            f"| {ref['step'] / ours['step']:.2f}x | {ref['assign']:.3f} | {ours['assign']:.3f} "
            f"| {ref['assign'] / max(ours['assign'], 1e-9):.1f}x "
            f"| {ref['memory']:.0f} | {ours['memory']:.0f} "
            f"| {ref['memory'] / max(ours['memory'], 1.0):.2f}x |",
            flush=True,
        )
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
