"""Drawing of detections on an image: boxes with class names, masks from RTMDet-Ins, rotated boxes
from RTMDet-R.

A leaf of the package (it needs only :mod:`rtmdet_plus.structures`), so that the inference API
(:mod:`rtmdet_plus.apis`, which re-exports both functions) and deployment
(:mod:`rtmdet_plus.deploy`) draw the same way.
"""

from typing import Optional

import cv2
import mmcv
import numpy as np
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer

from rtmdet_plus.structures.bbox import rbox2corners

__all__ = ['draw_detections', 'draw_rotated_detections']


def draw_detections(
    image: np.ndarray,
    result: DetDataSample,
    dataset_meta: dict,
    score_thr: float = 0.3,
    out_file: Optional[str] = None,
) -> np.ndarray:
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

    Rotated boxes (RTMDet-R, (N, 5) cx, cy, w, h, angle) are drawn as polygons.
    """
    boxes = result.pred_instances.bboxes
    if (boxes.tensor if hasattr(boxes, 'tensor') else boxes).shape[-1] == 5:
        drawing = draw_rotated_detections(image, result.pred_instances, dataset_meta, score_thr)
        if out_file is not None:
            mmcv.imwrite(drawing, out_file)
        return drawing
    visualizer = DetLocalVisualizer.get_instance('rtmdet_plus_draw_detections')
    visualizer.dataset_meta = dataset_meta
    visualizer.add_datasample(
        'detections',
        mmcv.bgr2rgb(image),
        data_sample=result,
        draw_gt=False,
        show=False,
        pred_score_thr=score_thr,
    )
    drawing = mmcv.rgb2bgr(visualizer.get_image())
    if out_file is not None:
        mmcv.imwrite(drawing, out_file)
    return drawing


def draw_rotated_detections(
    image: np.ndarray, instances, dataset_meta: dict, score_thr: float = 0.3
) -> np.ndarray:
    """A copy of the (H, W, 3) BGR ``image`` with the rotated boxes scoring at least
    ``score_thr`` drawn as polygons in their class colour, labelled with class and score."""
    boxes = instances.bboxes
    boxes = (boxes.tensor if hasattr(boxes, 'tensor') else boxes).float().cpu()
    keep = instances.scores.cpu() >= score_thr
    classes = dataset_meta.get('classes') or ()
    palette = dataset_meta.get('palette') or [(220, 20, 60)]
    drawing = image.copy()
    thickness = max(1, round(min(image.shape[:2]) / 400))
    corners = rbox2corners(boxes[keep]).reshape(-1, 4, 2).numpy() if keep.any() else []
    for quad, label, score in zip(
        corners, instances.labels.cpu()[keep].tolist(), instances.scores.cpu()[keep].tolist()
    ):
        red, green, blue = palette[label % len(palette)]
        colour = (int(blue), int(green), int(red))
        cv2.polylines(
            drawing, [np.round(quad).astype(np.int32)], True, colour, thickness, cv2.LINE_AA
        )
        name = classes[label] if label < len(classes) else str(label)
        x, y = np.round(quad.min(axis=0)).astype(int)
        cv2.putText(
            drawing,
            f'{name} {score:.2f}',
            (int(x), max(int(y) - 3, 10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * thickness,
            colour,
            thickness,
            cv2.LINE_AA,
        )
    return drawing
