"""RTMDet-Ins benchmark: mmdet 3.3.0 against rtmdet_plus, inference and training side by side.

For every setting (model size, training batch, input size, objects per image) both models get
the same (perturbed) weights and the same synthetic batch with masks (see
``mmdet_oracle.synthetic_batch``). Each measurement runs in a fresh subprocess so that
its peak memory is its own, and the two alternate ``--repeats`` times (medians compared):

- inference: ``model.predict`` (boxes and masks rescaled to the original image, up to 100
  instances per image: the score threshold is lowered so that random weights give
  detections) on ``--infer-batch`` images;
- training step: forward + loss + backward + AdamW update on the whole batch.

Printed per setting: seconds per call and peak memory, above the memory in use before the
timed calls, with ratios mmdet / ours (> 1 means ours is faster or leaner). Memory on CUDA is max
allocated; on the CPU the peak of the heap in use (glibc's count of bytes handed out, sampled
after every aten op of one more call), since the resident set (benchmark_train.py's measure, kept
in the json as ``rss``) misses memory the allocator kept from the warm-up and hands out again.

    python tools/analysis_tools/benchmark_ins.py                   # tiny and s, the default grid
    python tools/analysis_tools/benchmark_ins.py --sizes tiny --batch 4 --input 320 --objects 10
"""

import argparse
import copy
import itertools
import json
import os
import sys

# the repository root, so that the helpers import as tools.analysis_tools.*
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tools.analysis_tools.benchmarking import median_result, parameter_mib, timed_calls
from tools.analysis_tools.benchmarking import run_worker as _run_worker

CONFIGS = {
    'tiny': 'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
    's': 'rtmdet/rtmdet-ins_s_8xb32-300e_coco.py',
    'm': 'rtmdet/rtmdet-ins_m_8xb32-300e_coco.py',
    'l': 'rtmdet/rtmdet-ins_l_8xb32-300e_coco.py',
}
MODES = ('infer', 'train')
INFER_SCORE_THR = 0.001  # random weights score every prior near 0.01


def measure(
    which: str,
    mode: str,
    size: str,
    batch: int,
    input_size: int,
    objects: int,
    steps: int,
    device: str,
) -> dict:
    """In a worker process: build one model with the shared weights, time ``mode`` calls."""
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
    model = reference if which == 'mmdet' else build_ours(CONFIGS[size])
    del reference
    model.load_state_dict(weights, strict=True)
    model.to(device)
    data = synthetic_batch(batch, input_size, objects, seed=2, with_mask=True)
    inputs = data['inputs'].to(device)
    samples = [sample.to(device) for sample in data['data_samples']]

    if mode == 'infer':
        model.eval()
        model.bbox_head.test_cfg['score_thr'] = INFER_SCORE_THR
        found = []

        def call():
            with torch.no_grad():
                results = model.predict(inputs, samples, rescale=True)
            found.append(sum(len(result.pred_instances) for result in results))

        result = timed_calls(call, steps, device)
        result['instances'] = found[-1] / batch
        result['param_mib'] = parameter_mib(model)
        return result

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    # mmdet's loss replaces the samples' BitmapMasks by tensors: a fresh copy for every step.
    fresh_samples = [copy.deepcopy(samples) for _ in range(steps + 2)]

    def call():
        losses = model.loss(inputs, fresh_samples.pop())
        total, _ = model.parse_losses(losses)  # sums mmdet's per-level lists
        total.backward()
        optimizer.step()
        optimizer.zero_grad()  # mmengine's order: no gradients during the forward

    return dict(timed_calls(call, steps, device), param_mib=parameter_mib(model))


def run_worker(args: list, device: str) -> dict:
    return _run_worker(__file__, args, device)


def ratio(reference: float, ours: float, floor: float) -> str:
    return f'{reference / max(ours, floor):.2f}x'


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--sizes', nargs='+', default=['tiny', 's'], choices=sorted(CONFIGS))
    parser.add_argument('--batch', nargs='+', type=int, default=[8], help='training batch')
    parser.add_argument('--infer-batch', type=int, default=1, help='images per predict call')
    parser.add_argument('--input', nargs='+', type=int, default=[320, 640])
    parser.add_argument('--objects', nargs='+', type=int, default=[10, 50])
    parser.add_argument('--steps', type=int, default=3, help='timed calls per measurement')
    parser.add_argument(
        '--repeats',
        type=int,
        default=1,
        help='alternating measurements of each model per setting (medians shown)',
    )
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--worker', nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        which, mode, size, batch, input_size, objects, steps = args.worker
        print(
            json.dumps(
                measure(
                    which,
                    mode,
                    size,
                    int(batch),
                    int(input_size),
                    int(objects),
                    int(steps),
                    args.device,
                )
            )
        )
        return

    import torch

    print(
        f'# RTMDet-Ins, mmdet 3.3.0 vs rtmdet_plus; device {args.device}, {os.cpu_count()} '
        f'CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} '
        f'timed calls, median of {args.repeats} run(s); inference on {args.infer_batch} image(s), '
        'training step on the batch'
    )
    header = (
        '| model | batch | input | objects | infer mmdet (s) | infer ours (s) | infer ratio '
        '| infer mem mmdet (MiB) | infer mem ours (MiB) | infer mem ratio '
        '| step mmdet (s) | step ours (s) | step ratio | step mem mmdet (MiB) '
        '| step mem ours (MiB) | step mem ratio |'
    )
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    rows = []
    for size, batch, input_size, objects in itertools.product(
        args.sizes, args.batch, args.input, args.objects
    ):
        row = dict(model=size, batch=batch, input=input_size, objects=objects)
        for mode in MODES:
            mode_batch = args.infer_batch if mode == 'infer' else batch
            setting = [mode, size, str(mode_batch), str(input_size), str(objects), str(args.steps)]
            runs = dict(mmdet=[], ours=[])
            for _ in range(args.repeats):  # alternating, so a busy phase of the machine hits both
                for which, results in runs.items():
                    results.append(run_worker([which, *setting], args.device))
            row[mode] = {which: median_result(results) for which, results in runs.items()}
        rows.append(row)
        cells = []
        for mode in MODES:
            ref, ours = row[mode]['mmdet'], row[mode]['ours']
            cells += [
                f"{ref['seconds']:.3f}",
                f"{ours['seconds']:.3f}",
                ratio(ref['seconds'], ours['seconds'], 1e-9),
                f"{ref['memory']:.0f}",
                f"{ours['memory']:.0f}",
                ratio(ref['memory'], ours['memory'], 1.0),
            ]
        print(
            f'| {size} | {batch} | {input_size} | {objects} | ' + ' | '.join(cells) + ' |',
            flush=True,
        )
    if args.json:
        with open(args.json, 'w') as file:
            json.dump(rows, file, indent=1)


if __name__ == '__main__':
    main()
