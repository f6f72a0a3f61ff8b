"""The MMDeploy SDK tutorial's Python example, run as written, in a fresh process.

    python tests/deploy/sdk_binding_calls.py MODEL_DIR OUT.npz [--rotated] [--calls 3] IMAGE ...

For every image, ``calls`` calls of one ``mmdeploy_runtime.Detector`` (``RotatedDetector``)
built as the tutorial builds it. Writes ``{image}_{call}_dets`` ((N, 5) x1 y1 x2 y2 score, or
(N, 6) cx cy w h angle score, original image pixels), ``_labels`` (N,) and, for instance
segmentation, ``_masks`` ((N, H * W) bits packed by ``np.packbits``) and ``_mask_shape``.
"""

import argparse

import cv2
import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('model_dir')
    parser.add_argument('out')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--rotated', action='store_true')
    parser.add_argument('--calls', type=int, default=3)
    args = parser.parse_args()

    if args.rotated:
        from mmdeploy_runtime import RotatedDetector

        detector = RotatedDetector(model_path=args.model_dir, device_name='cpu', device_id=0)
    else:
        from mmdeploy_runtime import Detector

        detector = Detector(model_path=args.model_dir, device_name='cpu', device_id=0)

    arrays = {}
    for index, path in enumerate(args.images):
        img = cv2.imread(path)
        for call in range(args.calls):
            key = f'{index}_{call}'
            if args.rotated:
                dets, labels = detector(img)
            else:
                dets, labels, masks = detector(img)
                if len(masks) and masks[0] is not None and np.asarray(masks[0]).size:
                    stacked = np.stack([np.asarray(mask) > 0 for mask in masks])
                    arrays[f'{key}_masks'] = np.packbits(stacked.reshape(len(stacked), -1), axis=1)
                    arrays[f'{key}_mask_shape'] = np.array(stacked.shape[1:])
            arrays[f'{key}_dets'] = np.array(dets, dtype=np.float32)
            arrays[f'{key}_labels'] = np.array(labels, dtype=np.int64)
    np.savez_compressed(args.out, **arrays)


if __name__ == '__main__':
    main()
