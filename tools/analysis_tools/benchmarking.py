"""Measuring helpers shared by the benchmark scripts in tools/analysis_tools/: time per call and
peak memory of one model in a worker process, and medians over alternating runs."""

import ctypes
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Optional

# the checkout (or, installed, the package's .mim folder) these tools run in
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def current_rss_mib() -> float:
    """Resident set of this process now, in MiB."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (VmHWM); False where not allowed."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """VmHWM of this process in MiB (since the last reset), else the lifetime maximum."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            'arena',
            'ordblks',
            'smblks',
            'hblks',
            'hblkhd',
            'usmblks',
            'fsmblks',
            'uordblks',
            'fordblks',
            'keepcost',
        )
    ]


@functools.lru_cache(maxsize=None)
def _mallinfo2():
    try:
        mallinfo2 = ctypes.CDLL('libc.so.6').mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    return mallinfo2


def heap_in_use_mib() -> Optional[float]:
    """Bytes glibc's malloc has handed out and not taken back (arena + mmapped), in MiB; None
    without glibc's ``mallinfo2``."""
    mallinfo2 = _mallinfo2()
    if mallinfo2 is None:
        return None
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


def peak_heap_mib(
    call: Callable[[], object], min_output_bytes: int = 1 << 16, every: int = 1000
) -> Optional[float]:
    """Peak of the heap in use during ``call()`` (backward included), above the heap in use
    before it; None without glibc. Unlike the resident set, this sees memory that the
    allocator had kept from earlier calls and hands out again.

    The heap is read after every aten op whose outputs hold at least ``min_output_bytes``, and
    after every ``every``-th op: reading it costs ~0.1 ms, and compiled ops that loop over
    elements through ATen (mmcv's CPU ``box_iou_rotated`` dispatches two tiny ops per box
    pair) would otherwise take hours under the sampler. What the skipped small outputs add
    between two readings (under 64 KiB each) is the error.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    base = heap_in_use_mib()
    if base is None:
        return None

    class HeapPeak(TorchDispatchMode):
        peak = base
        ops = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            HeapPeak.ops += 1
            output_bytes = sum(
                t.numel() * t.element_size()
                for t in tree_leaves(out)
                if isinstance(t, torch.Tensor)
            )
            if output_bytes >= min_output_bytes or HeapPeak.ops % every == 0:
                HeapPeak.peak = max(HeapPeak.peak, heap_in_use_mib())
            return out

    with HeapPeak():
        call()
    return HeapPeak.peak - base


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        import torch

        torch.cuda.synchronize()


class AssignerTimer:
    """Seconds spent in a head's assigner (``batch_assign`` when the head uses the batched
    path, else ``assign``) between :meth:`start` and :meth:`stop`; pass them as ``timed_calls``'
    ``on_start`` / ``on_stop``."""

    def __init__(self, head, device: str) -> None:
        batched = getattr(head, 'batched_assign', False) and hasattr(head.assigner, 'batch_assign')
        method = 'batch_assign' if batched else 'assign'
        original = getattr(head.assigner, method)
        self.seconds = 0.0
        self.counting = False

        def timed(*args, **kwargs):
            if not self.counting:
                return original(*args, **kwargs)
            _sync(device)
            start = time.perf_counter()
            out = original(*args, **kwargs)
            _sync(device)
            self.seconds += time.perf_counter() - start
            return out

        setattr(head.assigner, method, timed)

    def start(self) -> None:
        self.seconds, self.counting = 0.0, True

    def stop(self) -> None:
        self.counting = False


def timed_calls(
    call: Callable[[], object],
    steps: int,
    device: str,
    on_start: Optional[Callable[[], None]] = None,
    on_stop: Optional[Callable[[], None]] = None,
) -> dict:
    """One warm-up ``call()``, ``steps`` timed ones, and on the CPU one more for the heap peak.

    ``on_start`` / ``on_stop`` run right before and after the timed calls (e.g. to count what
    happens inside them only). Returns ``seconds`` per call and ``memory``, the peak MiB above
    the memory in use before the timed calls: CUDA max allocated, or on the CPU the heap peak of
    :func:`peak_heap_mib`; ``rss`` is the growth of the resident set's high-water mark.
    """
    import torch

    def sync():
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    call()
    sync()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
        base_memory = torch.cuda.memory_allocated() / 2**20
    else:
        reset_peak_rss()  # the high-water mark of building the models does not count
        base_memory = current_rss_mib()
    if on_start is not None:
        on_start()
    start = time.perf_counter()
    for _ in range(steps):
        call()
    sync()
    seconds = (time.perf_counter() - start) / steps
    if on_stop is not None:
        on_stop()
    if device.startswith('cuda'):
        return dict(seconds=seconds, memory=torch.cuda.max_memory_allocated() / 2**20 - base_memory)
    rss = max(peak_rss_mib() - base_memory, 0.0)
    heap = peak_heap_mib(call)
    return dict(seconds=seconds, memory=rss if heap is None else heap, rss=rss)


def parameter_mib(model) -> float:
    """The bytes of ``model``'s parameters, in MiB. A training step that clears the gradients
    after the optimizer's step (as mmengine does) allocates them again in the next backward,
    so its peak above what was in use before it is at least this."""
    return sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20


def median_result(results: list) -> dict:
    """Per-key median of several measurements (dicts of numbers) of one model."""
    return {
        key: statistics.median(r[key] for r in results)
        for key in results[0]
        if isinstance(results[0][key], (int, float))
    }


def run_worker(script: str, args: list, device: str) -> dict:
    """Run ``script --device DEVICE --worker ARGS`` in a fresh process; its last stdout line
    is the JSON result."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(script), '--device', device, '--worker', *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f'benchmark worker {args} failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def saved_for_backward_mib(forward: Callable[[], object]) -> float:
    """MiB of the tensors autograd keeps for the backward pass while ``forward()`` runs (weights
    saved by their ops included); then backpropagates its scalar result."""
    import torch

    total = 0

    def keep(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        result = forward()
    result.backward()
    return total / 2**20


def network_onnx(model, size: int, path: str) -> str:
    """ONNX of backbone + neck + head convolutions only (no decoding, no NMS)."""
    import torch

    class Network(torch.nn.Module):
        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, inputs):
            cls_scores, box_preds = self.detector.bbox_head(self.detector.extract_feat(inputs))[:2]
            return tuple(cls_scores) + tuple(box_preds)

    torch.onnx.export(
        Network(model).eval(),
        (torch.zeros(1, 3, size, size),),
        path,
        opset_version=11,
        input_names=['input'],
        dynamo=False,
    )
    return path


def ort_session(path: str, threads: Optional[int] = None):
    """ONNX Runtime CPU session of ``path`` (MMDeploy's op library registered when the graph
    needs it), on ``threads`` intra-op threads (default: ONNX Runtime's choice)."""
    import onnxruntime as ort

    from rtmdet_plus.deploy.checks import check_custom_ops

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    library = check_custom_ops(path)
    if library:
        options.register_custom_ops_library(library)
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
