"""draw_detections (tools/infer.py's drawing) fills predicted masks: the saved picture is tinted
inside a predicted mask, in the class colour, and untouched away from the predictions; a result
without masks leaves the same pixels as they were."""

import cv2
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from rtmdet_plus.apis import draw_detections

SIZE = 96
META = dict(classes=('disc', 'other'), palette=[(0, 200, 0), (200, 0, 0)])  # RGB


def _result(with_mask: bool) -> DetDataSample:
    """One 'disc' detection, box (20, 20)-(76, 76), its mask a disc of radius 24 at (48, 48)."""
    ys, xs = np.mgrid[:SIZE, :SIZE]
    disc = (xs - 48) ** 2 + (ys - 48) ** 2 <= 24**2
    instances = InstanceData(
        bboxes=torch.tensor([[20.0, 20.0, 76.0, 76.0]]),
        scores=torch.tensor([0.9]),
        labels=torch.tensor([0]),
    )
    if with_mask:
        instances.masks = torch.from_numpy(disc)[None]
    sample = DetDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
    sample.pred_instances = instances
    return sample


def test_saved_picture_has_the_mask_drawn(tmp_path):
    image = np.full((SIZE, SIZE, 3), 128, np.uint8)  # BGR grey
    out_file = tmp_path / 'masks.png'
    draw_detections(image, _result(with_mask=True), META, score_thr=0.3, out_file=str(out_file))
    with_mask = cv2.imread(str(out_file)).astype(int)
    without_mask = draw_detections(image, _result(with_mask=False), META, score_thr=0.3).astype(int)

    inner = (slice(40, 60), slice(40, 60))  # well inside the disc, away from box, text, outline
    outside = (slice(0, 12), slice(84, SIZE))  # away from every prediction
    assert np.array_equal(without_mask[inner], image[inner])
    tint = with_mask[inner] - image[inner].astype(int)
    assert (np.abs(tint).max(axis=-1) > 20).all()
    # The class colour (0, 200, 0) RGB blended in: green up, blue and red down (BGR order).
    assert (tint[..., 1] > 0).all() and (tint[..., 0] < 0).all() and (tint[..., 2] < 0).all()
    assert np.array_equal(with_mask[outside], image[outside])


def test_masks_below_the_score_threshold_are_not_drawn():
    image = np.full((SIZE, SIZE, 3), 128, np.uint8)
    drawing = draw_detections(image, _result(with_mask=True), META, score_thr=0.95)
    assert np.array_equal(drawing, image)
