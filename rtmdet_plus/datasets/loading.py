"""``LoadImageFromFile`` and ``LoadAnnotations`` with errors that name the image and say what to do.

Registered in the ``rtmdet_plus`` scope under mmcv's name, so the pipelines of our configs use
it. It behaves as mmcv's transform (same arguments, same result keys); only failures differ:
a missing file raises FileNotFoundError and a file that cannot be decoded as an image raises
ValueError, both naming the file, instead of a bare OSError or ``assert img is not None``.
With ``ignore_empty=True`` either case returns None instead (the dataset then draws another
sample in training).

``LoadAnnotations`` is mmdet's; with ``with_mask=True`` it first checks that the image read has
the size the annotation file gives it (``height``/``width``), since the masks were drawn for
that size, and raises ValueError naming the image otherwise.
"""

from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations as MMDetLoadAnnotations
from mmengine import fileio

from rtmdet_plus.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromFile(MMCVLoadImageFromFile):
    """Read ``results['img_path']`` into ``results['img']`` ((H, W, 3) uint8 BGR by default)
    and set ``img_shape`` and ``ori_shape`` to (H, W)."""

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            img = self._read(path)
        except (FileNotFoundError, ValueError):
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _read(self, path: str) -> np.ndarray:
        try:
            if self.file_client_args is not None:
                client = fileio.FileClient.infer_client(self.file_client_args, path)
                img_bytes = client.get(path)
            else:
                img_bytes = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"Image file '{path}' does not exist. Check the dataset's data_root and "
                'data_prefix.img in the config, or remove the image from the annotation '
                'file.'
            ) from error
        try:
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as error:  # decoders raise assorted types on garbage bytes
            img, cause = None, error
        else:
            cause = None
        if img is None or img.size == 0:
            raise ValueError(
                f"Image file '{path}' ({len(img_bytes)} bytes) could not be decoded as an "
                'image: it is empty, truncated or not an image. Replace the file, or remove it '
                'from the annotation file.'
            ) from cause
        return img


@TRANSFORMS.register_module()
class LoadAnnotations(MMDetLoadAnnotations):
    """mmdet's ``LoadAnnotations``; with masks, the image must have its annotated size."""

    def transform(self, results: dict) -> Optional[dict]:
        if self.with_mask and {'height', 'width', 'ori_shape'} <= results.keys():
            annotated = (results['height'], results['width'])
            read = tuple(results['ori_shape'][:2])
            if read != annotated:
                raise ValueError(
                    f"Image file '{results.get('img_path')}' is {read[1]}x{read[0]} pixels "
                    f'(width x height) but its annotations are for {annotated[1]}x{annotated[0]}: '
                    'the masks do not match the image size. Fix width/height in the annotation '
                    'file, or annotate the image at its own size.'
                )
        return super().transform(results)
