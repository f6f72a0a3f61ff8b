"""The ``RotatedDetection`` task of MMDeploy's mmdet codebase, for RTMDet-R without mmrotate.

MMDeploy's own rotated task lives in its mmrotate codebase, which imports mmrotate 1.x (not
installable beside mmdet 3.3). This task runs under the mmdet codebase
(``codebase_config=dict(type='mmdet', task='RotatedDetection')``) and differs from
``ObjectDetection`` only in what a rotated model needs: a backend model that rescales rotated
boxes, the SDK's ``ResizeRBBox`` post-processing (in the SDK's mmrotate module, see
:mod:`rtmdet_plus.deploy.sdk`) and pictures of rotated boxes.
"""

from copy import deepcopy
from typing import Callable, List, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmdeploy.codebase.mmdet.deploy.object_detection import MMDET_TASK, ObjectDetection
from mmdeploy.codebase.mmdet.deploy.object_detection_model import End2EndModel
from mmdeploy.utils import Task, get_backend

from rtmdet_plus.structures import rbox2corners

from .backend_model import postprocess_options
from .results import instances_from_outputs

SDK_COMPONENT = 'ResizeRBBox'


class RotatedEnd2EndModel(End2EndModel):
    """Backend model whose ``dets`` are (B, N, 6) rotated boxes and scores; predictions are
    ``RotatedBoxes`` on the original image."""

    def forward(self, inputs: torch.Tensor, data_samples: List, mode: str = 'predict', **kwargs):
        if mode != 'predict':
            raise ValueError(f"a deployed model only predicts; got mode={mode!r}")
        batch_dets, batch_labels = self.predict(inputs.contiguous())[:2]
        options = postprocess_options(self.model_cfg)
        for dets, labels, sample in zip(batch_dets, batch_labels, data_samples):
            sample.pred_instances = instances_from_outputs(dets, labels, sample.metainfo, **options)
        return data_samples


@MMDET_TASK.register_module(Task.ROTATED_DETECTION.value, force=True)
class RotatedDetection(ObjectDetection):
    """Rotated object detection (RTMDet-R) in MMDeploy's mmdet codebase."""

    def build_backend_model(
        self,
        model_files: Optional[Sequence[str]] = None,
        data_preprocessor_updater: Optional[Callable] = None,
        **kwargs,
    ) -> torch.nn.Module:
        data_preprocessor = deepcopy(self.model_cfg.model.get('data_preprocessor', {}))
        if data_preprocessor_updater is not None:
            data_preprocessor = data_preprocessor_updater(data_preprocessor)
        data_preprocessor.setdefault('type', 'mmdet.DetDataPreprocessor')
        model = RotatedEnd2EndModel(
            get_backend(self.deploy_cfg),
            model_files,
            self.device,
            self.deploy_cfg,
            self.model_cfg,
            data_preprocessor=data_preprocessor,
        )
        return model.to(self.device).eval()

    def get_postprocess(self, *args, **kwargs) -> dict:
        """SDK post-processing: rescale rotated boxes to the original image."""
        return dict(type=SDK_COMPONENT, params=dict(self.model_cfg.model.test_cfg))

    def visualize(
        self,
        image,
        result,
        output_file: str,
        window_name: str = '',
        show_result: bool = False,
        draw_gt: bool = False,
        score_thr: float = 0.3,
        **kwargs,
    ) -> np.ndarray:
        """Draw the rotated boxes scoring at least ``score_thr`` as polygons; writes
        ``output_file`` and returns the RGB drawing."""
        if isinstance(image, str):
            image = mmcv.imread(image, channel_order='rgb')
        visualizer = self.get_visualizer(window_name or 'rotated', None)
        visualizer.set_image(image)
        instances = result.pred_instances
        boxes = instances.bboxes
        boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
        keep = instances.scores >= score_thr
        if keep.any():
            corners = rbox2corners(boxes[keep].float()).reshape(-1, 4, 2)
            visualizer.draw_polygons(list(corners), edge_colors='lime', line_widths=2)
        drawing = visualizer.get_image()
        mmcv.imwrite(mmcv.rgb2bgr(drawing), output_file)
        if show_result:
            visualizer.show(drawing, win_name=window_name)
        return drawing
