"""Single-image inference and drawing of detections (boxes, and masks from RTMDet-Ins).

``init_detector`` / ``inference_detector`` are mmdet's (``mmdet.apis`` imports without
torchvision): with ``rtmdet_plus`` imported, a config whose ``default_scope`` is
``rtmdet_plus`` builds our components, and checkpoints load through the safe loader.
"""
from typing import Optional

import mmcv
import numpy as np
from mmdet.apis import inference_detector, init_detector
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer

import rtmdet_plus.utils  # noqa: F401  (safe checkpoint loading for init_detector)

__all__ = ['init_detector', 'inference_detector', 'draw_detections']


def draw_detections(image: np.ndarray,
                    result: DetDataSample,
                    dataset_meta: dict,
                    score_thr: float = 0.3,
                    out_file: Optional[str] = None) -> np.ndarray:
    """Draw the predictions scoring at least ``score_thr``: boxes with their class names and,
    when the model predicts masks, each mask filled in its class colour (half transparent)
    with a white outline (mmdet's ``DetLocalVisualizer``).

    Args:
        image: (H, W, 3) uint8 image in BGR order, as ``mmcv.imread`` gives it.
        result: ``inference_detector``'s output for that image (``pred_instances`` with
            ``bboxes`` (N, 4) xyxy pixels, ``scores`` (N,), ``labels`` (N,) and, from an
            instance-segmentation model, ``masks`` (N, H, W) bool).
        dataset_meta: ``classes`` and ``palette`` (``model.dataset_meta``).
        score_thr: the lowest score drawn.
        out_file: where to write the drawing (format from the extension); optional.

    Returns:
        The drawing, (H, W, 3) uint8 in BGR order.
    """
    visualizer = DetLocalVisualizer.get_instance('rtmdet_plus_draw_detections')
    visualizer.dataset_meta = dataset_meta
    visualizer.add_datasample(
        'detections', mmcv.bgr2rgb(image), data_sample=result, draw_gt=False, show=False,
        pred_score_thr=score_thr)
    drawing = mmcv.rgb2bgr(visualizer.get_image())
    if out_file is not None:
        mmcv.imwrite(drawing, out_file)
    return drawing
