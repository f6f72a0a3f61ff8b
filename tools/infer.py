"""Run a detector (a PyTorch checkpoint or a deployed model) over images, folders or videos and
write the results: one json per image, a COCO results file or DOTA task-1 files, and pictures
on request.

    python tools/infer.py SOURCE CONFIG [CHECKPOINT] [--out-dir outputs] [--save-vis]
        [--backend pytorch|onnxruntime|openvino|sdk] [--model CHECKPOINT_OR_EXPORTED_FOLDER]
        [--deploy-cfg FILE] [--format json|coco|dota] [--ann-file GT.json] [--batch-size 1]
        [--score-thr THR] [--device cpu] [--cfg-options key=value ...]
    python tools/infer.py IMAGE CONFIG CHECKPOINT --out-file out.png [--score-thr 0.3]

SOURCE is an image, a folder (searched recursively), a glob (quoted), a .txt list of image
paths, a video file or a camera index. Written into --out-dir: ``preds/<name>.json`` per image
(mmdet's DetInferencer fields: labels, scores, bboxes on the original image, masks as RLE);
``results.json`` with ``--format coco`` (image and category ids from --ann-file when given);
``dota/Task1_<class>.txt`` with ``--format dota`` (rotated detectors); with ``--save-vis``
``vis/<name>`` pictures, or ``vis/<video>.mp4`` for a video. An unreadable image or frame is
reported by name, skipped and counted. Without --score-thr the results keep every detection
the model gives (its test_cfg threshold: right for COCO evaluation) and pictures show those
scoring 0.3 or more. ``--out-file`` draws the predictions on a single image, as before.
"""

import argparse
import json
import os
import os.path as osp
import sys
import time

from mmengine.config import DictAction

try:
    from rtmdet_plus.apis import Inferencer, draw_detections, prediction_dict
    from rtmdet_plus.apis.result_files import CocoResults, DotaResults
    from rtmdet_plus.apis.sources import open_source, read_ahead
except ImportError as error:
    raise SystemExit(
        f'Cannot import rtmdet_plus ({error}): install it with `pip install -e .` '
        'from the repository root, or put the root on PYTHONPATH.'
    )

DRAW_SCORE_THR = 0.3


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run a detector over images or videos')
    parser.add_argument(
        'source', help='image, folder, glob, .txt list of images, video or camera index'
    )
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='checkpoint (PyTorch) or exported folder (deployed backends); or give --model',
    )
    parser.add_argument('--model', default=None, help='the same as CHECKPOINT')
    parser.add_argument(
        '--backend', default='pytorch', choices=['pytorch', 'onnxruntime', 'openvino', 'sdk']
    )
    parser.add_argument(
        '--deploy-cfg',
        default=None,
        help='deploy config of an exported model (default: the '
        'deploy_config.py tools/deploy.py saved in its folder)',
    )
    parser.add_argument('--out-dir', default='outputs', help='where results are written')
    parser.add_argument(
        '--save-vis', action='store_true', help='also save pictures (a video for a video source)'
    )
    parser.add_argument(
        '--format',
        default='json',
        choices=['json', 'coco', 'dota'],
        help='results file besides preds/*.json: coco (results.json) or dota '
        '(dota/Task1_<class>.txt)',
    )
    parser.add_argument(
        '--ann-file',
        default=None,
        help='--format coco: ground-truth file whose image and category ids to use',
    )
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images per forward (PyTorch; exported models take one at a time)',
    )
    parser.add_argument(
        '--score-thr',
        type=float,
        default=None,
        help='keep detections scoring at least this (default: all in results '
        f'files, {DRAW_SCORE_THR} in pictures)',
    )
    parser.add_argument(
        '--out-file',
        default=None,
        help='single image: save the drawing here (and no results files)',
    )
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda:0'")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config entries',
    )
    args = parser.parse_args(argv)
    if args.checkpoint and args.model and args.checkpoint != args.model:
        parser.error('give the model once: as CHECKPOINT or as --model')
    args.model = args.model or args.checkpoint
    if args.batch_size < 1:
        parser.error(f'--batch-size {args.batch_size}: give 1 or more')
    return args


def draw_one(args, inferencer) -> None:
    """--out-file: the single-image drawing."""
    source = open_source(args.source)
    if source.kind != 'images' or len(source) != 1:
        raise SystemExit(
            f'--out-file draws one image; {args.source} is a {source.kind} source: '
            'use --out-dir with --save-vis'
        )
    frame = next(iter(source))
    if frame.image is None:
        raise SystemExit(f'cannot read {frame.name}: {frame.error}')
    instances = inferencer.predict([frame.image])[0]
    from mmdet.structures import DetDataSample

    thr = DRAW_SCORE_THR if args.score_thr is None else args.score_thr
    drawing = draw_detections(
        frame.image,
        DetDataSample(pred_instances=instances),
        inferencer.dataset_meta,
        thr,
        args.out_file,
    )
    kept = int((instances.scores >= thr).sum())
    what = 'detection(s) with masks' if 'masks' in instances else 'detection(s)'
    print(
        f'{kept} {what} with score >= {thr} drawn; '
        f'{drawing.shape[1]}x{drawing.shape[0]} picture saved to {args.out_file}'
    )


class Outputs:
    """What a run writes for each image, and the files at the end."""

    def __init__(self, args, source, dataset_meta: dict):
        import cv2

        self.args, self.source, self.meta = args, source, dataset_meta
        self.preds_dir = osp.join(args.out_dir, 'preds')
        self.vis_dir = osp.join(args.out_dir, 'vis')
        os.makedirs(self.preds_dir, exist_ok=True)
        if args.save_vis:
            os.makedirs(self.vis_dir, exist_ok=True)
        self.root = None
        if source.kind == 'images':
            self.root = osp.commonpath([osp.dirname(osp.abspath(p)) for p in source.paths])
        classes = dataset_meta.get('classes', ())
        self.results = {
            'coco': lambda: CocoResults(classes, args.ann_file),
            'dota': lambda: DotaResults(classes),
        }.get(args.format, lambda: None)()
        self.video = None
        if source.kind == 'video' and args.save_vis:
            stem = osp.splitext(osp.basename(source.name))[0]
            self.video_file = osp.join(self.vis_dir, f'{stem}.mp4')
            self.video = cv2.VideoWriter(
                self.video_file, cv2.VideoWriter_fourcc(*'mp4v'), source.fps, source.size
            )
            if not self.video.isOpened():
                raise SystemExit(f'OpenCV cannot write the video {self.video_file} (mp4v)')
        self.detections = 0

    def relative_name(self, frame) -> str:
        if self.root is None:  # a video frame
            stem = osp.splitext(osp.basename(self.source.name))[0]
            return f'{stem}_{frame.index:06d}'
        return osp.splitext(osp.relpath(osp.abspath(frame.name), self.root))[0]

    def add(self, frame, instances) -> None:
        from mmdet.structures import DetDataSample

        name = self.relative_name(frame)
        result = prediction_dict(instances, self.args.score_thr)
        self.detections += len(result['labels'])
        result.update(image=frame.name, height=frame.image.shape[0], width=frame.image.shape[1])
        pred_file = osp.join(self.preds_dir, name + '.json')
        os.makedirs(osp.dirname(pred_file), exist_ok=True)
        with open(pred_file, 'w', encoding='utf-8') as file:
            json.dump(result, file)
        if self.results is not None:
            self.results.add(frame.name, instances, self.args.score_thr)
        if self.args.save_vis:
            thr = DRAW_SCORE_THR if self.args.score_thr is None else self.args.score_thr
            out_file = (
                None if self.video else osp.join(self.vis_dir, name + osp.splitext(frame.name)[1])
            )
            drawing = draw_detections(
                frame.image, DetDataSample(pred_instances=instances), self.meta, thr, out_file
            )
            if self.video:
                self.video.write(drawing)

    def close(self) -> list:
        """Finish the files; returns the paths of the results files and the video."""
        written = []
        if self.video is not None:
            self.video.release()
            written.append(self.video_file)
        if self.args.format == 'coco':
            written.append(self.results.write(osp.join(self.args.out_dir, 'results.json')))
            if self.results.unmatched:
                print(
                    f'warning: {len(self.results.unmatched)} image(s) are not in '
                    f'{self.args.ann_file} and are left out of results.json, e.g. '
                    f'{self.results.unmatched[0]}',
                    file=sys.stderr,
                )
        elif self.args.format == 'dota':
            written.extend(self.results.write(osp.join(self.args.out_dir, 'dota')))
        return written


def run(args, inferencer, source) -> int:
    from mmengine.utils import ProgressBar

    outputs = Outputs(args, source, inferencer.dataset_meta)
    bar = ProgressBar(len(source), file=sys.stdout)
    skipped, done, batch = [], 0, []
    start = time.perf_counter()

    def flush():
        for frame, instances in zip(batch, inferencer.predict([f.image for f in batch])):
            outputs.add(frame, instances)
            bar.update()
        batch.clear()

    for frame in read_ahead(source):
        if frame.image is None:
            skipped.append(frame)
            print(f'\nskipped {frame.name}: {frame.error}', file=sys.stderr, flush=True)
            bar.update()
            continue
        batch.append(frame)
        done += 1
        if len(batch) == args.batch_size:
            flush()
    if batch:
        flush()
    seconds = time.perf_counter() - start
    written = outputs.close()
    print(
        f'\n{done} image(s) in {seconds:.1f} s ({done / max(seconds, 1e-9):.1f} images/s, '
        f'{args.backend}), {outputs.detections} detection(s); {len(skipped)} unreadable '
        f'skipped'
        + (
            f' ({", ".join(frame.name for frame in skipped[:5])}'
            f'{", ..." if len(skipped) > 5 else ""})'
            if skipped
            else ''
        )
        + f'; per-image results in {outputs.preds_dir}'
        + (f'; {", ".join(written)}' if written else '')
    )
    return 0 if done else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'The config file {args.config} does not exist.')
    try:
        source = open_source(args.source)
        inferencer = Inferencer(
            args.config,
            args.model,
            backend=args.backend,
            deploy_cfg=args.deploy_cfg,
            device=args.device,
            cfg_options=args.cfg_options,
        )
    except (OSError, ValueError, ImportError) as error:
        raise SystemExit(f'error: {error}')
    if args.out_file:
        draw_one(args, inferencer)
        return 0
    return run(args, inferencer, source)


if __name__ == '__main__':
    sys.exit(main())
