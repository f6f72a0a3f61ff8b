"""Detect objects in one image and save a picture of the predictions (boxes, and the masks of
an instance-segmentation model such as RTMDet-Ins).

    python tools/infer.py IMAGE CONFIG CHECKPOINT --out-file out.png [--score-thr 0.3]
                          [--device cpu] [--cfg-options key=value ...]
"""
import argparse
import os.path as osp

import mmcv
from mmengine.config import DictAction

try:
    from rtmdet_plus.apis import draw_detections, inference_detector, init_detector
except ImportError as error:
    raise SystemExit(f'Cannot import rtmdet_plus ({error}): install it with `pip install -e .` '
                     'from the repository root, or put the root on PYTHONPATH.')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw the predictions of a detector on an image')
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (path or http(s) URL)')
    parser.add_argument('--out-file', required=True, help='where to save the drawing (.png, .jpg)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw boxes scoring at least this')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda:0'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for name, path in (('image', args.image), ('config', args.config)):
        if not osp.isfile(path):
            raise SystemExit(f'The {name} file {path} does not exist.')
    model = init_detector(args.config, args.checkpoint, device=args.device,
                          cfg_options=args.cfg_options)
    image = mmcv.imread(args.image)
    result = inference_detector(model, image)
    drawing = draw_detections(image, result, model.dataset_meta, args.score_thr, args.out_file)
    kept = int((result.pred_instances.scores >= args.score_thr).sum())
    what = 'detection(s) with masks' if 'masks' in result.pred_instances else 'detection(s)'
    print(f'{kept} {what} with score >= {args.score_thr} drawn; '
          f'{drawing.shape[1]}x{drawing.shape[0]} picture saved to {args.out_file}')


if __name__ == '__main__':
    main()
