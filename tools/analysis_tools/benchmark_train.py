"""Training-step benchmark: mmdet 3.3.0's RTMDet against rtmdet_plus, side by side in one run.

For every setting (model size, batch size, input size, objects per image) both models get the
same weights and the same synthetic batch; each is measured in a fresh subprocess so that peak
memory is its own. A step is forward + loss + backward + AdamW update. Printed per setting:
time per step, assignment time (the assigner's calls within a step) and the step's peak memory
(CPU: growth of the resident set over the steps; CUDA: max allocated), with ratios
mmdet / ours (> 1 means ours is faster or leaner).

    python tools/analysis_tools/benchmark_train.py                       # the full grid
    python tools/analysis_tools/benchmark_train.py --sizes tiny --batch 8 --input 320 --objects 100
"""
import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time

CONFIGS = {
    'tiny': 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    's': 'rtmdet/rtmdet_s_8xb32-300e_coco.py',
    'm': 'rtmdet/rtmdet_m_8xb32-300e_coco.py',
    'l': 'rtmdet/rtmdet_l_8xb32-300e_coco.py',
}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def current_rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(which: str, size: str, batch: int, input_size: int, objects: int, steps: int,
            device: str) -> dict:
    """Run in a worker process: build one model, time ``steps`` training steps."""
    import torch
    from rtmdet_plus.testing import build_ours, build_reference, perturbed_state_dict, synthetic_batch

    torch.manual_seed(0)
    reference = build_reference(CONFIGS[size])
    weights = perturbed_state_dict(reference, seed=1, scale=0.01)
    model = reference if which == 'mmdet' else build_ours(CONFIGS[size])
    if which != 'mmdet':
        del reference
    model.load_state_dict(weights, strict=True)
    model.to(device).train()
    data = synthetic_batch(batch, input_size, objects, seed=2)
    inputs = data['inputs'].to(device)
    samples = [s.to(device) for s in data['data_samples']]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    assigner = model.bbox_head.assigner
    method = 'batch_assign' if hasattr(assigner, 'batch_assign') and \
        getattr(model.bbox_head, 'batched_assign', False) else 'assign'
    original = getattr(assigner, method)
    assign_time = [0.0]

    def sync():
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    def timed(*args, **kwargs):
        sync()
        start = time.perf_counter()
        out = original(*args, **kwargs)
        sync()
        assign_time[0] += time.perf_counter() - start
        return out

    setattr(assigner, method, timed)

    def step():
        losses = model.loss(inputs, samples)
        total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

    step()  # warm-up: allocates the optimizer state and caches
    sync()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
        base_memory = torch.cuda.memory_allocated() / 2**20
    else:
        base_memory = current_rss_mib()
    assign_time[0] = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    step_time = (time.perf_counter() - start) / steps
    if device.startswith('cuda'):
        peak = torch.cuda.max_memory_allocated() / 2**20 - base_memory
    else:
        peak = max(peak_rss_mib() - base_memory, 0.0)
    return dict(step=step_time, assign=assign_time[0] / steps, memory=peak)


def run_worker(args: list, device: str) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), '--device', device, '--worker', *args],
                         capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f'benchmark worker {args} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', nargs='+', default=['tiny', 's'], choices=sorted(CONFIGS))
    parser.add_argument('--batch', nargs='+', type=int, default=[8, 16])
    parser.add_argument('--input', nargs='+', type=int, default=[320, 640])
    parser.add_argument('--objects', nargs='+', type=int, default=[10, 100])
    parser.add_argument('--steps', type=int, default=3, help='timed steps per measurement')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--worker', nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        which, size, batch, input_size, objects, steps = args.worker
        result = measure(which, size, int(batch), int(input_size), int(objects), int(steps), args.device)
        print(json.dumps(result))
        return

    import torch
    threads = torch.get_num_threads()
    print(f'# RTMDet training step, mmdet 3.3.0 vs rtmdet_plus; device {args.device}, '
          f'{os.cpu_count()} CPUs, torch {torch.__version__}, {threads} threads, {args.steps} timed steps')
    header = ('| model | batch | input | objects | step mmdet (s) | step ours (s) | step ratio '
              '| assign mmdet (s) | assign ours (s) | assign ratio | peak mem mmdet (MiB) '
              '| peak mem ours (MiB) | memory ratio |')
    print(header)
    print('|' + '---|' * (header.count('|') - 1))
    rows = []
    for size, batch, input_size, objects in itertools.product(args.sizes, args.batch, args.input, args.objects):
        setting = [size, str(batch), str(input_size), str(objects), str(args.steps)]
        ref = run_worker(['mmdet', *setting], args.device)
        ours = run_worker(['ours', *setting], args.device)
        row = dict(model=size, batch=batch, input=input_size, objects=objects, mmdet=ref, ours=ours)
        rows.append(row)
        print(f"| {size} | {batch} | {input_size} | {objects} | {ref['step']:.3f} | {ours['step']:.3f} "
              f"| {ref['step'] / ours['step']:.2f}x | {ref['assign']:.3f} | {ours['assign']:.3f} "
              f"| {ref['assign'] / max(ours['assign'], 1e-9):.1f}x | {ref['memory']:.0f} | {ours['memory']:.0f} "
              f"| {ref['memory'] / max(ours['memory'], 1.0):.2f}x |", flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
