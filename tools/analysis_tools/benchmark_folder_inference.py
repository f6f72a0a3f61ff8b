"""Images per second over a folder: tools/infer.py's loop (images decoded ahead in a thread,
optionally batched) against a plain loop over mmdet's ``inference_detector``, side by side.

    python tools/analysis_tools/benchmark_folder_inference.py [--images DIR] [--count 48]
        [--config CONFIG] [--checkpoint CKPT] [--batch-sizes 1 4] [--rounds 3] [--threads 2]

Without --images, ``--count`` generated 640x480 JPEG pictures are used; without --checkpoint,
the config's model gets weights that give image-dependent detections (so NMS works as with a
trained model). Rounds alternate between the ways; the table gives the median images per second
of each and its ratio to the plain loop.
"""

import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

DEFAULT_CONFIG = osp.join(REPO, 'configs', 'rtmdet', 'rtmdet_tiny_8xb32-300e_coco.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', default=None, help='folder of images (default: generated)')
    parser.add_argument('--count', type=int, default=48, help='generated images')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2, help='torch threads')
    return parser.parse_args(argv)


def plain_loop(model, paths) -> float:
    from mmdet.apis import inference_detector

    start = time.perf_counter()
    for path in paths:
        inference_detector(model, path)
    return len(paths) / (time.perf_counter() - start)


def our_loop(inferencer, source, batch_size: int) -> float:
    from rtmdet_plus.apis.sources import read_ahead

    start = time.perf_counter()
    count, batch = 0, []
    for frame in read_ahead(source):
        batch.append(frame.image)
        if len(batch) == batch_size:
            count += len(inferencer.predict(batch))
            batch = []
    if batch:
        count += len(inferencer.predict(batch))
    return count / (time.perf_counter() - start)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from mmdet.apis import init_detector

    from rtmdet_plus.apis import Inferencer
    from rtmdet_plus.apis.sources import open_source
    from tools.analysis_tools.toy_models import toy_model_files, write_test_image

    with tempfile.TemporaryDirectory() as work:
        folder = args.images
        if folder is None:
            folder = osp.join(work, 'images')
            for index in range(args.count):
                write_test_image(osp.join(folder, f'{index:04d}.jpg'), size=(480, 640), seed=index)
        config, checkpoint = args.config, args.checkpoint
        if checkpoint is None:
            config, checkpoint = toy_model_files(args.config, work, size=640, keep_ratio=True)
        source = open_source(folder)
        paths = source.paths
        model = init_detector(config, checkpoint, device='cpu')
        inferencer = Inferencer(config, checkpoint)
        plain_loop(model, paths[:2])  # warm up both
        our_loop(inferencer, open_source(paths[0]), 1)
        rates = {'plain loop over inference_detector': []}
        rates.update({f'tools/infer.py loop, batch {b}': [] for b in args.batch_sizes})
        for _ in range(args.rounds):
            rates['plain loop over inference_detector'].append(plain_loop(model, paths))
            for batch_size in args.batch_sizes:
                rates[f'tools/infer.py loop, batch {batch_size}'].append(
                    our_loop(inferencer, source, batch_size)
                )
    base = statistics.median(rates['plain loop over inference_detector'])
    print(
        f'{len(paths)} images ({"generated 640x480" if args.images is None else folder}), '
        f'{osp.basename(args.config)}, {args.threads} torch thread(s), median of {args.rounds} '
        'interleaved rounds'
    )
    print('| way | images/s | ratio to the plain loop |')
    print('|---|---|---|')
    for name, values in rates.items():
        median = statistics.median(values)
        print(f'| {name} | {median:.2f} | {median / base:.2f} |')


if __name__ == '__main__':
    main()
