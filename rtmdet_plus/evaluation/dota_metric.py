"""``DOTAMetric``: rotated-box VOC mAP (DOTA Task 1), patch merging and submission files, with
mmrotate 1.x's name and arguments."""

import copy
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump
from mmengine.logging import MMLogger

from ..registry import METRICS
from .functional.dota_submission import write_task1_files, zip_files
from .functional.patch_merge import merge_patch_detections
from .functional.rotated_map import eval_rbbox_map

EVAL_MODES = ('11points', 'area')


def _numpy(value) -> np.ndarray:
    value = getattr(value, 'tensor', value)  # box types
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else np.asarray(value)


@METRICS.register_module()
class DOTAMetric(BaseMetric):
    """DOTA mAP over rotated boxes.

    Args:
        iou_thrs: IoU threshold(s); the reported ``mAP`` is the mean over them, and each gets
            ``AP<percent>`` (e.g. ``AP50``).
        scale_ranges: (min, max) box sides to evaluate separately; None for all boxes.
        metric: 'mAP' (the only one).
        predict_box_type: 'rbox' (cx, cy, w, h, angle) or 'qbox' (8 corners) predictions.
        format_only: only write results (needs ``outfile_prefix``), no evaluation.
        outfile_prefix: where results go: ``<prefix>.bbox.json`` per patch, or with
            ``merge_patches`` the folder ``<prefix>/`` with ``Task1_<class>.txt`` files and
            ``<prefix>/<name>.zip``. None: a temporary folder.
        merge_patches: merge the predictions of split patches (names ``<image>__<size>__<x>___<y>``)
            into full images with rotated NMS and write the submission files (no mAP: the
            full-image labels are not in the patch dataset).
        iou_thr: NMS IoU threshold of the merge.
        eval_mode: '11points' (VOC 2007, mmrotate's default) or 'area'.
        use_07_metric: mmrotate 0.x's switch; when given it overrides ``eval_mode``.
        collect_device, prefix: as in :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = 'dota'

    def __init__(
        self,
        iou_thrs: Union[float, List[float]] = 0.5,
        scale_ranges: Optional[List[tuple]] = None,
        metric: Union[str, List[str]] = 'mAP',
        predict_box_type: str = 'rbox',
        format_only: bool = False,
        outfile_prefix: Optional[str] = None,
        merge_patches: bool = False,
        iou_thr: float = 0.1,
        eval_mode: str = '11points',
        use_07_metric: Optional[bool] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_thrs = [iou_thrs] if isinstance(iou_thrs, (int, float)) else list(iou_thrs)
        self.scale_ranges = scale_ranges
        metric = metric if isinstance(metric, str) else (metric[0] if len(metric) == 1 else metric)
        if metric != 'mAP':
            raise KeyError(f"DOTAMetric supports metric='mAP' only, got {metric!r}")
        self.metric = metric
        if predict_box_type not in ('rbox', 'qbox'):
            raise ValueError(f"predict_box_type must be 'rbox' or 'qbox', got {predict_box_type!r}")
        self.predict_box_type = predict_box_type
        if format_only and outfile_prefix is None:
            raise ValueError(
                'DOTAMetric(format_only=True) needs outfile_prefix, or the results '
                'would be written to a temporary folder and deleted'
            )
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.merge_patches = merge_patches
        self.iou_thr = iou_thr
        if eval_mode not in EVAL_MODES:
            raise ValueError(f'eval_mode must be one of {EVAL_MODES}, got {eval_mode!r}')
        self.use_07_metric = eval_mode == '11points' if use_07_metric is None else use_07_metric

    @property
    def box_dim(self) -> int:
        return 5 if self.predict_box_type == 'rbox' else 8

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each sample's ground truth (ignored boxes apart) and predictions as numpy."""
        for sample in data_samples:
            gt = sample.get('gt_instances', {})
            ignored = sample.get('ignored_instances', {})
            ann = dict(
                bboxes=self._boxes(gt),
                labels=self._labels(gt),
                bboxes_ignore=self._boxes(ignored),
                labels_ignore=self._labels(ignored),
            )
            pred = sample['pred_instances']
            result = dict(
                img_id=sample.get('img_id'),
                bboxes=self._boxes(pred),
                scores=_numpy(pred['scores']).reshape(-1),
                labels=self._labels(pred),
            )
            self.results.append((copy.deepcopy(ann), result))

    def _boxes(self, instances) -> np.ndarray:
        if 'bboxes' not in instances:
            return np.zeros((0, self.box_dim), np.float32)
        return _numpy(instances['bboxes']).reshape(-1, self.box_dim)

    @staticmethod
    def _labels(instances) -> np.ndarray:
        if 'labels' not in instances:
            return np.zeros(0, np.int64)
        return _numpy(instances['labels']).reshape(-1)

    def _per_class(self, result: dict) -> List[np.ndarray]:
        """(K, D + 1) boxes and scores per class of one result."""
        boxes = result['bboxes'].reshape(-1, self.box_dim)
        scores = result['scores'].reshape(-1, 1)
        return [
            np.hstack([boxes[result['labels'] == label], scores[result['labels'] == label]])
            for label in range(len(self.dataset_meta['classes']))
        ]

    def results2json(self, results: Sequence[dict], outfile_prefix: str) -> str:
        """Dump per-image predictions to ``<outfile_prefix>.bbox.json``; returns the path."""
        records = [
            dict(
                image_id=result['img_id'],
                bbox=box.tolist(),
                score=float(score),
                category_id=int(label),
            )
            for result in results
            for box, score, label in zip(result['bboxes'], result['scores'], result['labels'])
        ]
        path = f'{outfile_prefix}.bbox.json'
        dump(records, path)
        return path

    def merge_results(self, results: Sequence[dict], outfile_prefix: str) -> str:
        """Merge patch predictions, write ``Task1_<class>.txt`` under ``outfile_prefix`` and zip
        them to ``<outfile_prefix>/<basename>.zip``; returns the zip path."""
        classes = self.dataset_meta['classes']
        merged = merge_patch_detections(results, len(classes), self.iou_thr, self.predict_box_type)
        if osp.exists(outfile_prefix) and not osp.isdir(outfile_prefix):
            raise FileExistsError(
                f'outfile_prefix {outfile_prefix!r} is a file; DOTAMetric '
                'writes a folder of Task1_<class>.txt files there'
            )
        paths = write_task1_files(merged, classes, outfile_prefix, self.predict_box_type)
        name = osp.basename(osp.normpath(outfile_prefix))
        return zip_files(paths, osp.join(outfile_prefix, f'{name}.zip'))

    def compute_metrics(self, results: list) -> dict:
        logger = MMLogger.get_current_instance()
        annotations, predictions = zip(*results)
        tmp_dir = None
        outfile_prefix = self.outfile_prefix
        if outfile_prefix is None and (self.merge_patches or self.format_only):
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, 'results')
        eval_results = OrderedDict()
        try:
            if self.merge_patches:
                zip_path = self.merge_results(predictions, outfile_prefix)
                logger.info(f'DOTA submission files written to {zip_path}')
                return eval_results
            if outfile_prefix is not None:
                json_path = self.results2json(predictions, outfile_prefix)
                logger.info(f'predictions written to {json_path}')
            if self.format_only:
                return eval_results
            dets = [self._per_class(prediction) for prediction in predictions]
            mean_aps = []
            for iou_thr in self.iou_thrs:
                logger.info(f'\n{"-" * 15}iou_thr: {iou_thr}{"-" * 15}')
                mean_ap, _ = eval_rbbox_map(
                    dets,
                    annotations,
                    scale_ranges=self.scale_ranges,
                    iou_thr=iou_thr,
                    use_07_metric=self.use_07_metric,
                    box_type=self.predict_box_type,
                    dataset=self.dataset_meta['classes'],
                    logger=logger,
                )
                mean_ap = float(np.mean(mean_ap))
                mean_aps.append(mean_ap)
                eval_results[f'AP{int(round(iou_thr * 100)):02d}'] = round(mean_ap, 3)
            eval_results['mAP'] = sum(mean_aps) / len(mean_aps)
            eval_results.move_to_end('mAP', last=False)
            return eval_results
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()
