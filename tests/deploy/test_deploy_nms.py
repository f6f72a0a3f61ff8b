"""The ONNX Runtime graph's NMS (:func:`rtmdet_plus.deploy.nms.pair_nms`), exported alone with
a batch of two images: each image's rows are the class-aware NMS of that image's own boxes, as
mmcv's ``batched_nms`` (horizontal) and our ``batched_rbox_nms`` (rotated) give them in PyTorch,
best first, and ``pre_top_k`` keeps only the best (prior, class) pairs as candidates."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmcv.ops import batched_nms  # noqa: E402
from mmdeploy.apis.onnx import export  # noqa: E402
from mmengine.config import Config  # noqa: E402

from rtmdet_plus.deploy.checks import check_custom_ops  # noqa: E402
from rtmdet_plus.deploy.nms import pair_nms  # noqa: E402
from rtmdet_plus.structures.bbox import batched_rbox_nms  # noqa: E402

IOU, SCORE_THR, KEEP = 0.3, 0.05, 40
NUM_BOXES, NUM_CLASSES = 60, 4


class PairNMS(torch.nn.Module):
    def __init__(self, rotated: bool, pre_top_k: int):
        super().__init__()
        self.rotated, self.pre_top_k = rotated, pre_top_k

    def forward(self, boxes, scores):
        return pair_nms(
            boxes,
            scores,
            IOU,
            SCORE_THR,
            pre_top_k=self.pre_top_k,
            keep_top_k=KEEP,
            rotated=self.rotated,
        )


def random_boxes(rotated: bool, generator) -> torch.Tensor:
    """(2, N, 4 or 5) clustered boxes (many overlaps); image 1's lie far from image 0's."""
    centers = torch.rand(2, NUM_BOXES, 2, generator=generator) * 120
    centers[1] += 500
    sizes = torch.rand(2, NUM_BOXES, 2, generator=generator) * 40 + 10
    if rotated:
        angles = (torch.rand(2, NUM_BOXES, 1, generator=generator) - 0.5) * 3
        return torch.cat([centers, sizes, angles], -1)
    return torch.cat([centers - sizes / 2, centers + sizes / 2], -1)


def run_exported(tmp_path, rotated: bool, pre_top_k: int, boxes, scores):
    deploy_cfg = Config(
        dict(
            backend_config=dict(type='onnxruntime'),
            codebase_config=dict(type='mmdet', task='ObjectDetection'),
            onnx_config=dict(type='onnx', opset_version=11),
        )
    )
    prefix = str(tmp_path / 'nms')
    dynamic_axes = {'boxes': {0: 'batch'}, 'scores': {0: 'batch'}}
    export(
        PairNMS(rotated, pre_top_k),
        (boxes, scores),
        prefix,
        backend='onnxruntime',
        input_names=['boxes', 'scores'],
        output_names=['dets', 'labels', 'priors'],
        context_info=dict(deploy_cfg=deploy_cfg),
        dynamic_axes=dynamic_axes,
    )
    options = ort.SessionOptions()
    library = check_custom_ops(prefix + '.onnx')
    if library:
        options.register_custom_ops_library(library)
    session = ort.InferenceSession(prefix + '.onnx', options, providers=['CPUExecutionProvider'])
    return session.run(None, {'boxes': boxes.numpy(), 'scores': scores.numpy()})


def reference_nms(boxes, scores, rotated: bool, pre_top_k: int):
    """One image: (M, 5 or 6) dets, (M,) labels, (M,) priors of class-aware NMS in PyTorch."""
    flat = scores.flatten()
    order = flat.argsort(descending=True)
    if pre_top_k > 0:
        order = order[:pre_top_k]
    order = order[flat[order] > SCORE_THR]
    priors, labels = order // NUM_CLASSES, order % NUM_CLASSES
    if rotated:
        dets, keep = batched_rbox_nms(
            boxes[priors], flat[order], labels, dict(type='nms_rotated', iou_threshold=IOU)
        )
    else:
        dets, keep = batched_nms(
            boxes[priors], flat[order], labels, dict(type='nms', iou_threshold=IOU)
        )
    return dets[:KEEP].numpy(), labels[keep][:KEEP].numpy(), priors[keep][:KEEP].numpy()


@pytest.mark.parametrize('rotated', [False, True], ids=['horizontal', 'rotated'])
@pytest.mark.parametrize('pre_top_k', [-1, 50])
def test_pair_nms_matches_pytorch_per_image(tmp_path, rotated, pre_top_k):
    generator = torch.Generator().manual_seed(0)
    boxes = random_boxes(rotated, generator)
    scores = torch.rand(2, NUM_BOXES, NUM_CLASSES, generator=generator) ** 2
    dets, labels, priors = run_exported(tmp_path, rotated, pre_top_k, boxes, scores)
    assert dets.shape == (2, KEEP, boxes.shape[-1] + 1)
    for image in range(2):
        ref_dets, ref_labels, ref_priors = reference_nms(
            boxes[image], scores[image], rotated, pre_top_k
        )
        valid = dets[image][:, -1] > 0
        count = int(valid.sum())
        assert 5 < count == len(ref_dets), (count, len(ref_dets))
        assert not dets[image][count:].any()  # rows past the last detection are all zero
        np.testing.assert_allclose(dets[image][:count], ref_dets, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(labels[image][:count], ref_labels)
        np.testing.assert_array_equal(priors[image][:count], ref_priors)
        if pre_top_k > 0:  # only the best pre_top_k pairs were candidates
            assert (
                dets[image][:count, -1].min()
                >= np.sort(scores[image].flatten().numpy())[-pre_top_k] - 1e-7
            )
